"""Training on any labelled file, end to end through `tweetsent train`: 3- and 4-class runs of a word model and of
BERT (a tiny random one), what their run directories hold, class weights, warm starts from a 2-class run into a
3-class file, and repeating a run from its config.json."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tweetsent
from tests.bert_support import make_tiny_bert
from tests.conftest import NEG_WORDS, POS_WORDS, write_csv
from tests.inference.fixtures import TEXTS
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.models.artifact import load_single
from tweetsent.models.families import family_of
from tweetsent.models.families.base import warm_start
from tweetsent.models.registry import build_model
from tweetsent.training.config import make_config

Cli = Callable[..., tuple[int, str, str]]

POOLS = {
    "negative": NEG_WORDS,
    "positive": POS_WORDS,
    "neutral": ["work", "bus", "news", "meeting", "reading", "lunch", "monday", "weather"],
    "irrelevant": ["buy", "now", "free", "click", "deal", "offer", "spam", "win"],
    "angry": ["furious", "rage", "mad", "livid", "annoyed", "hate"],
    "happy": ["happy", "yay", "smile", "glad", "joy", "fun"],
    "sad": ["sad", "cry", "tears", "lonely", "miss", "down"],
    "other": ["table", "chair", "window", "door", "floor", "wall"],
}
STEPS = ["--max-steps", "20", "--batch-size", "16", "--eval-every", "10", "--log-every", "5"]
COMMON = [*STEPS, "--precision", "32-true", "--min-count", "1", "--no-progress"]


def labelled_rows(counts: dict[str, int], seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    queue = [name for name, n in counts.items() for _ in range(n)]
    rows = []
    for i, k in enumerate(rng.permutation(len(queue))):
        name = queue[k]
        words = [str(w) for w in rng.choice(POOLS[name], size=int(rng.integers(2, 6)))]
        rows.append([name, " ".join([*words, f"row{i}"])])
    return rows


def write_labelled(path: Path, counts: dict[str, int], seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(path, labelled_rows(counts, seed), header=["label", "text"])


def invoke(*args: str) -> int:
    """The real console entry point, in-process (module-scoped runs cannot use the run_cli fixture)."""
    from tweetsent.cli.main import run

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["tweetsent", *args])
        mp.setenv("COLUMNS", "200")
        try:
            run()
        except SystemExit as e:
            return int(e.code or 0)
    return 0


@dataclass(frozen=True)
class Spec:
    """One training run: its model, its training file's classes (the order the model must use) and test files."""

    model: str
    labels: tuple[str, ...]
    tests: dict[str, dict[str, int]]  # test split name (folder-stem) -> class counts
    train_counts: dict[str, int]
    extra: tuple[str, ...] = ()


UNBALANCED = {"negative": 60, "neutral": 40, "positive": 20}
FOUR_WORD = {"sad": 30, "angry": 30, "other": 30, "happy": 30}
FOUR_STANDARD = {"irrelevant": 30, "positive": 30, "neutral": 30, "negative": 30}
SPECS = {
    "bilstm-3": Spec(
        "bilstm",
        ("negative", "neutral", "positive"),
        {"semeval-test": {"negative": 5, "neutral": 5, "positive": 5}, "sanders-test": {"negative": 4, "positive": 3}},
        UNBALANCED,
        ("--class-weights", "balanced"),
    ),
    "bilstm-4": Spec(
        "bilstm", ("angry", "happy", "other", "sad"), {"moods-test": {n: 4 for n in FOUR_WORD}}, FOUR_WORD
    ),
    "bert-3": Spec(
        "bert",
        ("negative", "neutral", "positive"),
        {"semeval-test": {"negative": 5, "neutral": 5, "positive": 5}},
        UNBALANCED,
        ("--class-weights", "negative=2"),
    ),
    "bert-4": Spec(
        "bert",
        ("negative", "neutral", "positive", "irrelevant"),
        {"sanders-test": {n: 4 for n in FOUR_STANDARD}, "other-test": {"negative": 3, "irrelevant": 3}},
        FOUR_STANDARD,
    ),
    "bilstm-2": Spec("bilstm", ("negative", "positive"), {}, {"negative": 30, "positive": 30}),
    "bert-2": Spec("bert", ("negative", "positive"), {}, {"negative": 30, "positive": 30}),
}


class Runs:
    """Trains each spec once per module, on files it writes, and hands back the run directory."""

    def __init__(self, root: Path, tiny_bert: Path) -> None:
        self.root = root
        self.tiny_bert = tiny_bert
        self.done: dict[str, Path] = {}

    def data(self, key: str) -> Path:
        return self.root / "files" / key / "train.csv"

    def model_flags(self, model: str) -> list[str]:
        return ["--pretrained", str(self.tiny_bert), "--max-length", "16"] if model == "bert" else []

    def test_file(self, key: str, name: str) -> Path:
        folder, stem = name.rsplit("-", 1)
        return self.root / "files" / key / folder / f"{stem}.csv"

    def __call__(self, key: str) -> Path:
        if key in self.done:
            return self.done[key]
        spec = SPECS[key]
        data = write_labelled(self.data(key), spec.train_counts, seed=len(self.done))
        args = ["train", spec.model, "--data", str(data), "--out", str(self.root / "runs" / key)]
        for i, (name, counts) in enumerate(spec.tests.items()):
            args += ["--test-data", str(write_labelled(self.test_file(key, name), counts, seed=100 + i))]
        code = invoke(*args, *self.model_flags(spec.model), *spec.extra, *COMMON)
        assert code == 0, f"training {key} failed"
        self.done[key] = self.root / "runs" / key
        return self.done[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("any-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWEETSENT_CACHE_DIR", str(root / "cache"))
        mp.setenv("TWEETSENT_GLOVE_DIR", str(root / "glove"))
        yield Runs(root, make_tiny_bert(root / "tiny-bert"))


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


TRAINED = ["bilstm-3", "bilstm-4", "bert-3", "bert-4"]


# ---------------------------------------------------------------------------------------------- run directories


@pytest.mark.parametrize("key", TRAINED)
def test_summary_has_a_block_per_test_set_in_the_files_labels(runs: Runs, key: str) -> None:
    """Every test file is scored under its own name, over the training file's labels, with a full confusion."""
    spec, run_dir = SPECS[key], runs(key)
    summary = read_json(run_dir / "summary.json")
    n = len(spec.labels)
    assert summary["labels"] == summary["classes"] == list(spec.labels)
    assert summary["tests"] == list(spec.tests)
    assert summary["data"] == f"{key}-train"
    for name, counts in spec.tests.items():
        block = summary[name]
        assert block["labels"] == list(spec.labels)
        assert len(block["confusion"]) == n and all(len(row) == n for row in block["confusion"])
        # Rows are gold labels: each row holds exactly that label's tweets of the file.
        assert [sum(row) for row in block["confusion"]] == [counts.get(label, 0) for label in spec.labels]
        assert 0 <= block["accuracy"] <= 1 and 0 <= block["macro_f1"] <= 1
        assert (run_dir / "plots" / f"confusion_{name}.png").read_bytes()[:4] == b"\x89PNG"
    val = summary["val"]
    assert len(val["confusion"]) == n and sum(map(sum, val["confusion"])) > 0
    if set(spec.labels) >= {"negative", "positive"}:
        assert summary["val"]["accuracy_binary"] is not None
    else:
        assert summary["val"]["accuracy_binary"] is None  # no binary accuracy without negative and positive


@pytest.mark.parametrize("key", TRAINED)
def test_metrics_have_rows_for_every_test_set_at_the_eval_cadence(runs: Runs, key: str) -> None:
    spec, run_dir = SPECS[key], runs(key)
    rows = metric_rows(run_dir)
    splits = {r["split"] for r in rows}
    assert splits == {"train", "val", *spec.tests}
    for name in spec.tests:
        assert [int(r["step"]) for r in rows if r["split"] == name] == [10, 20]
        assert all(0 <= float(r["accuracy"]) <= 1 and float(r["loss"]) > 0 for r in rows if r["split"] == name)
    assert {10, 20} <= {int(r["step"]) for r in rows if r["split"] == "val"}
    assert [int(r["step"]) for r in rows if r["split"] == "train"] == [5, 10, 15, 20]


@pytest.mark.parametrize("key", TRAINED)
def test_run_config_and_model_config_record_the_labels(runs: Runs, key: str) -> None:
    spec, run_dir = SPECS[key], runs(key)
    config = read_json(run_dir / "config.json")
    recorded = {k: config["dataset"][k] for k in ("name", "labels", "classes")}
    assert recorded == {"name": f"{key}-train", "labels": list(spec.labels), "classes": list(spec.labels)}
    assert sum(config["dataset"]["class_counts"]["train"].values()) > 0  # what was read is recorded too
    assert config["data"]["data"] == [str(runs.data(key))]
    assert config["data"]["test_data"] == [str(runs.test_file(key, name)) for name in spec.tests]
    assert config["data"]["val_fraction"] is None  # left to the loader, which records what it used
    assert config["dataset"]["val_fraction"] == 0.1
    model_config = read_json(run_dir / "model" / "config.json")
    assert model_config["labels"] == list(spec.labels)
    assert model_config["family"] == ("pretrained" if spec.model == "bert" else "word")
    assert model_config["model"] == spec.model


@pytest.mark.parametrize("key", TRAINED)
def test_loaded_model_predicts_one_column_per_label(runs: Runs, key: str) -> None:
    spec, run_dir = SPECS[key], runs(key)
    classifier = tweetsent.load(run_dir)
    assert classifier.labels == LabelSet(spec.labels)
    probs = classifier.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), len(spec.labels))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    predictions = classifier.predict(TEXTS)
    assert all(list(p.probabilities) == list(spec.labels) and p.label in spec.labels for p in predictions)
    assert [p.label for p in predictions] == [spec.labels[i] for i in probs.argmax(axis=1)]


def test_balanced_class_weights_are_recorded(runs: Runs) -> None:
    """`balanced`: n / (classes x count) over the training split, recorded per class name."""
    run_dir = runs("bilstm-3")
    config = read_json(run_dir / "config.json")
    assert config["train"]["class_weights"] == "balanced"
    dataset = load_dataset(DataConfig(data=str(runs.data("bilstm-3")), min_count=1))
    counts = dataset.stats["class_counts"]["train"]
    total = sum(counts.values())
    expected = {name: total / (len(counts) * c) for name, c in counts.items()}
    assert config["class_weights"] == pytest.approx(expected)
    assert list(config["class_weights"]) == ["negative", "neutral", "positive"]
    assert config["class_weights"]["positive"] > config["class_weights"]["negative"]  # the rarer class weighs more


def test_named_class_weights_are_recorded(runs: Runs) -> None:
    config = read_json(runs("bert-3") / "config.json")
    assert config["train"]["class_weights"] == "negative=2"
    assert config["class_weights"] == {"negative": 2.0, "neutral": 1.0, "positive": 1.0}


def test_class_weights_naming_an_unknown_label_are_refused(run_cli: Cli, runs: Runs, tmp_path: Path) -> None:
    runs("bilstm-4")  # writes the 4-class file
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train",
        "bilstm",
        "--data",
        str(runs.data("bilstm-4")),
        "--class-weights",
        "negative=2",
        "--out",
        str(out),
        *COMMON,
    )
    assert code == 2 and "--class-weights" in err and "angry, happy, other, sad" in err
    assert err.strip().count("\n") == 0
    assert not (out / "config.json").exists() and not (out / "model").exists()


# ---------------------------------------------------------------------------------------------- warm starts


def test_warm_start_copies_rows_by_label_name_and_leaves_new_rows_fresh() -> None:
    """The head rows of labels both runs have are copied by name (whatever their positions), a new label keeps
    its fresh row, shared words keep their vectors, new words keep fresh ones, and every other tensor is copied."""
    torch.manual_seed(0)
    init = build_model("lstm", 2, vocab_size=10, embed_dim=8, hidden=6)
    model = build_model("lstm", 3, vocab_size=14, embed_dim=8, hidden=6)
    fresh = {k: v.detach().clone() for k, v in model.state_dict().items()}
    old, new = LabelSet(("negative", "positive")), LabelSet(("positive", "neutral", "negative"))
    kept = warm_start(model, init, old, new)
    assert kept == ["positive", "negative"]
    torch.testing.assert_close(model.head.weight[0], init.head.weight[1])
    torch.testing.assert_close(model.head.weight[2], init.head.weight[0])
    torch.testing.assert_close(model.head.bias[[0, 2]], init.head.bias[[1, 0]])
    torch.testing.assert_close(model.head.weight[1], fresh["head.weight"][1])
    torch.testing.assert_close(model.head.bias[1], fresh["head.bias"][1])
    torch.testing.assert_close(model.embedding.weight[:10], init.embedding.weight)
    torch.testing.assert_close(model.embedding.weight[10:], fresh["embedding.weight"][10:])
    for name, param in init.state_dict().items():
        if not name.startswith(("head.", "embedding.")):
            torch.testing.assert_close(model.state_dict()[name], param)
    assert not torch.equal(model.head.weight[1], init.head.weight[0])


def test_warm_start_refuses_another_architecture() -> None:
    init = build_model("lstm", 2, vocab_size=10, embed_dim=8, hidden=6)
    model = build_model("lstm", 3, vocab_size=10, embed_dim=8, hidden=7)
    with pytest.raises(UserError, match="another architecture"):
        warm_start(model, init, LabelSet(("negative", "positive")), LabelSet(("negative", "neutral", "positive")))


def three_class_dataset(runs: Runs) -> Dataset:
    runs("bilstm-3")  # writes the 3-class file
    return load_dataset(DataConfig(data=str(runs.data("bilstm-3")), min_count=1))


@pytest.mark.parametrize("grow", [True, False])
def test_word_family_build_from_a_two_class_run(runs: Runs, grow: bool) -> None:
    """What `train --init-from` builds before its first step: the run's negative and positive head rows and word
    vectors, a vocabulary that keeps every word's id and (by default) grows with the new file's words."""
    init_dir = runs("bilstm-2")
    dataset = three_class_dataset(runs)
    init = load_single(init_dir)
    config = make_config(
        "bilstm", "fast", init_from=str(init_dir), grow_vocab=grow, precision="32-true", batch_size=16, max_steps=2
    )
    family = family_of("bilstm")
    encoder = family.encoder(config, dataset, init)
    old_words = init.encoder.vocab.words  # type: ignore[attr-defined]
    new_words = encoder.vocab.words  # type: ignore[attr-defined]
    assert new_words[: len(old_words)] == old_words
    neutral_only = set(POOLS["neutral"]) - set(old_words)
    assert neutral_only  # the 2-class run never saw the neutral tweets' words
    if grow:
        assert neutral_only <= set(new_words) and len(new_words) > len(old_words)
    else:
        assert new_words == old_words
    model, _ = family.build(config, encoder, dataset.classes, init, False)
    classes, old = dataset.classes, init.labels
    assert classes.names == ("negative", "neutral", "positive") and old.names == ("negative", "positive")
    for name in ("negative", "positive"):
        torch.testing.assert_close(model.head.weight[classes.index(name)], init.model.head.weight[old.index(name)])
        torch.testing.assert_close(model.head.bias[classes.index(name)], init.model.head.bias[old.index(name)])
    neutral = model.head.weight[classes.index("neutral")]
    assert not any(torch.equal(neutral, row) for row in init.model.head.weight)
    torch.testing.assert_close(model.embedding.weight[: len(old_words)], init.model.embedding.weight)
    for name, param in init.model.state_dict().items():
        if "lstm" in name:
            torch.testing.assert_close(model.state_dict()[name], param)


def test_bert_family_build_from_a_two_class_run(runs: Runs) -> None:
    """A BERT warm start: the encoder's weights and the named head rows come from the run, neutral's row is new."""
    init_dir = runs("bert-2")
    dataset = three_class_dataset(runs)
    init = load_single(init_dir)
    config = make_config("bert", "fast", init_from=str(init_dir), precision="32-true", max_length=16, max_steps=2)
    family = family_of("bert")
    encoder = family.encoder(config, dataset, init)
    model, _ = family.build(config, encoder, dataset.classes, init, False)
    classes, old = dataset.classes, init.labels
    head, old_head = model.head, init.model.head  # type: ignore[attr-defined]
    assert head.out_features == 3 and old_head.out_features == 2
    for name in ("negative", "positive"):
        torch.testing.assert_close(head.weight[classes.index(name)], old_head.weight[old.index(name)])
        torch.testing.assert_close(head.bias[classes.index(name)], old_head.bias[old.index(name)])
    assert not any(torch.equal(head.weight[classes.index("neutral")], row) for row in old_head.weight)
    ours = dict(model.named_parameters())
    for name, param in init.model.named_parameters():
        if "classifier" not in name:
            torch.testing.assert_close(ours[name], param)


def test_train_init_from_a_two_class_run_into_a_three_class_file(runs: Runs) -> None:
    """Through the CLI, with a learning rate so tiny that training cannot move the weights: the finished model
    still holds the init run's negative/positive rows and word vectors, and predicts three labels."""
    init_dir = runs("bilstm-2")
    runs("bilstm-3")
    out = runs.root / "runs" / "warm"
    code = invoke(
        "train",
        "bilstm",
        "--data",
        str(runs.data("bilstm-3")),
        "--init-from",
        str(init_dir),
        "--out",
        str(out),
        "--lr",
        "1e-12",
        *COMMON,
    )
    assert code == 0
    config = read_json(out / "config.json")
    assert config["train"]["init_from"] == str(init_dir)
    init, warm = load_single(init_dir), load_single(out)
    assert warm.labels.names == ("negative", "neutral", "positive")
    for name in ("negative", "positive"):
        row, old_row = warm.model.head.weight[warm.labels.index(name)], init.model.head.weight[init.labels.index(name)]
        torch.testing.assert_close(row, old_row, atol=1e-6, rtol=0)
    old_words, new_words = init.encoder.vocab.words, warm.encoder.vocab.words  # type: ignore[attr-defined]
    assert new_words[: len(old_words)] == old_words and len(new_words) > len(old_words)
    torch.testing.assert_close(
        warm.model.embedding.weight[: len(old_words)], init.model.embedding.weight, atol=1e-6, rtol=0
    )
    model_config = read_json(out / "model" / "config.json")
    assert model_config["vocab_size"] == len(new_words) > read_json(init_dir / "model" / "config.json")["vocab_size"]
    assert tweetsent.load(out).predict_proba(TEXTS).shape == (len(TEXTS), 3)


# ---------------------------------------------------------------------------------------------- repeating a run


def test_train_config_repeats_a_runs_settings(runs: Runs) -> None:
    """`train --config RUN_DIR/config.json --out OTHER`: the same training and data settings, the same dataset."""
    first = runs("bilstm-3")
    again = runs.root / "runs" / "again"
    assert invoke("train", "bilstm", "--config", str(first / "config.json"), "--out", str(again), "--no-progress") == 0
    a, b = read_json(first / "config.json"), read_json(again / "config.json")
    for section in ("train", "data", "dataset", "class_weights", "steps_per_epoch", "max_steps"):
        assert b[section] == a[section], section
    assert read_json(again / "summary.json")["tests"] == list(SPECS["bilstm-3"].tests)


def test_train_config_of_another_model_is_refused(run_cli: Cli, runs: Runs, tmp_path: Path) -> None:
    first = runs("bilstm-3")
    code, _, err = run_cli("train", "lstm", "--config", str(first / "config.json"), "--out", str(tmp_path / "x"))
    assert code == 2 and "a bilstm run, not lstm" in err
    assert not (tmp_path / "x").exists()
