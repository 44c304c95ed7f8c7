"""Datasets from any labelled file (`train --data`): the loaders, the label names and their order, the validation
and test splits, and every bad input refused with exit code 2 and one line before a run directory is written."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tests.bert_support  # noqa: F401  (offline mode: nothing here may reach the Hugging Face hub)
from tests.conftest import NEG_WORDS, POS_WORDS, write_csv
from tests.inference.fixtures import make_run
from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.data.labelled import ReadOptions

Cli = Callable[..., tuple[int, str, str]]

POOLS = {
    "negative": NEG_WORDS,
    "positive": POS_WORDS,
    "neutral": ["work", "bus", "news", "meeting", "reading", "lunch", "train", "monday"],
    "irrelevant": ["buy", "now", "free", "click", "deal", "offer", "spam", "win"],
}
TINY_TRAIN = ["--max-steps", "2", "--batch-size", "8", "--precision", "32-true", "--min-count", "1", "--no-progress"]


def labelled_rows(counts: dict[str, int], seed: int = 0) -> list[list[str]]:
    """[label, text] rows, `counts[label]` of each, interleaved; every text is unique (it ends in its row number)."""
    rng = np.random.default_rng(seed)
    queue = [name for name, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(queue))
    rows = []
    for i, k in enumerate(order):
        name = queue[k]
        pool = POOLS.get(name, [f"{name}{j}" for j in range(6)])
        words = [str(w) for w in rng.choice(pool, size=int(rng.integers(2, 6)))]
        rows.append([name, " ".join([*words, f"row{i}"])])
    return rows


def write_labelled(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(path, rows, header=["label", "text"])


def load(tmp_path: Path, data: Path, **fields: object) -> Dataset:
    return load_dataset(DataConfig(data=str(data), min_count=1, **fields), tmp_path / "cache")  # type: ignore[arg-type]


def texts_of(dataset: Dataset, split: str) -> list[str]:
    return dataset[split].texts.to_pylist()


def written_labels(dataset: Dataset, split: str) -> list[str]:
    return [dataset.labels[i] for i in dataset[split].labels.tolist()]


THREE = {"negative": 30, "neutral": 30, "positive": 30}


@pytest.fixture
def train3(tmp_path: Path) -> Path:
    return write_labelled(tmp_path / "data" / "train.csv", labelled_rows(THREE))


# ---------------------------------------------------------------------------------------------- bad inputs


def assert_refused(result: tuple[int, str, str], out: Path, *fragments: str) -> None:
    """Exit code 2, one line naming the problem, no traceback, and nothing of a run left in `out`."""
    code, stdout, err = result
    assert code == 2, (stdout, err)
    assert err.strip().count("\n") == 0 and "Traceback" not in stdout + err
    for fragment in fragments:
        assert fragment in err, err
    for name in ("config.json", "model", "metrics.csv", "summary.json"):
        assert not (out / name).exists(), name


@pytest.mark.parametrize("flag", ["--test-data", "--val-data"])
def test_a_label_training_never_saw_is_refused(run_cli: Cli, tmp_path: Path, train3: Path, flag: str) -> None:
    """A val or test tweet labelled with a class the model cannot predict stops the run before it starts."""
    other = write_labelled(tmp_path / "data" / "other.csv", labelled_rows({**THREE, "irrelevant": 5}, seed=1))
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(train3), flag, str(other), "--out", str(out), *TINY_TRAIN)
    role = "test" if flag == "--test-data" else "validation"
    assert_refused(result, out, str(other), f"{role} label 'irrelevant' never seen in training")


def test_a_class_with_fewer_than_two_training_tweets_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    """A class with one training tweet cannot be learnt: refused, naming the class and its count."""
    data = write_labelled(tmp_path / "data" / "few.csv", labelled_rows({"negative": 20, "positive": 20, "neutral": 1}))
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(data), "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, "fewer than 2 training tweets for 'neutral' (1)")


def test_a_file_with_one_class_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "data" / "one.csv", labelled_rows({"negative": 30}))
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(data), "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, "every tweet has the label 'negative'", "two or more")


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("negative,neutral,positive,angry", "--labels names 'angry', which the file lacks"),
        ("negative,positive", "labels 'neutral' are not in --labels"),
        ("negative", "--labels: expected two or more distinct names"),
    ],
)
def test_labels_that_do_not_match_the_file_are_refused(
    run_cli: Cli, tmp_path: Path, train3: Path, labels: str, message: str
) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(train3), "--labels", labels, "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, message)


def test_val_data_and_val_fraction_together_are_refused(run_cli: Cli, tmp_path: Path, train3: Path) -> None:
    val = write_labelled(tmp_path / "data" / "val.csv", labelled_rows(THREE, seed=2))
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "lstm",
        "--data",
        str(train3),
        "--val-data",
        str(val),
        "--val-fraction",
        "0.2",
        "--out",
        str(out),
        *TINY_TRAIN,
    )
    assert_refused(result, out, "give --val-data or --val-fraction, not both")


@pytest.mark.parametrize("fraction", ["0", "1", "1.5"])
def test_a_val_fraction_outside_zero_to_one_is_refused(
    run_cli: Cli, tmp_path: Path, train3: Path, fraction: str
) -> None:
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(train3), "--val-fraction", fraction, "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, "--val-fraction must be between 0 and 1")


def test_a_test_file_the_label_map_leaves_empty_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    """The label map applies to every file; a test file with none of its values names the file and what it saw."""
    coded = [[{"negative": "0", "neutral": "1", "positive": "2"}[label], text] for label, text in labelled_rows(THREE)]
    data = write_labelled(tmp_path / "data" / "coded.csv", coded)
    test = write_labelled(tmp_path / "data" / "named.csv", labelled_rows(THREE, seed=3))
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "lstm",
        "--data",
        str(data),
        "--label-map",
        "negative=0,neutral=1,positive=2",
        "--test-data",
        str(test),
        "--out",
        str(out),
        *TINY_TRAIN,
    )
    assert_refused(result, out, str(test), "no row has a label in the label map", "'negative'")


def test_a_file_empty_after_cleaning_is_refused(tmp_path: Path) -> None:
    rows = [[label, f"http://t.co/x{i}"] for i, label in enumerate(("negative", "positive") * 10)]
    data = write_labelled(tmp_path / "data" / "links.csv", rows)
    with pytest.raises(UserError, match="no train tweets left after cleaning") as info:
        load(tmp_path, data)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("init_model", "model"), [("lstm", "bert"), ("bilstm", "lstm"), ("lstm", "pyramid")])
def test_init_from_a_run_of_another_model_is_refused(
    run_cli: Cli, tmp_path: Path, train3: Path, init_model: str, model: str
) -> None:
    """Warm starts copy weights tensor by tensor: a run of another family or architecture is refused by name."""
    init = make_run(tmp_path / "init", model=init_model, labels=("negative", "positive"))
    out = tmp_path / "run"
    result = run_cli("train", model, "--data", str(train3), "--init-from", str(init), "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, f"a {init_model} run", f"start {model} from a {model} run")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("delete-config", "no model/config.json"),
        ("corrupt-config", "corrupt or incomplete model artifact"),
        ("delete-weights", "corrupt or incomplete model artifact"),
        ("truncate-weights", "corrupt or incomplete model artifact"),
        ("delete-vocab", "corrupt or incomplete model artifact"),
    ],
)
def test_init_from_a_damaged_run_is_refused(
    run_cli: Cli, tmp_path: Path, train3: Path, damage: str, message: str
) -> None:
    init = make_run(tmp_path / "init", model="lstm", labels=("negative", "positive"))
    model_dir = init / "model"
    if damage == "delete-config":
        (model_dir / "config.json").unlink()
    elif damage == "corrupt-config":
        (model_dir / "config.json").write_text("{broken")
    elif damage == "delete-weights":
        (model_dir / "model.safetensors").unlink()
    elif damage == "truncate-weights":
        weights = model_dir / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (model_dir / "vocab.txt").unlink()
    out = tmp_path / "run"
    result = run_cli("train", "lstm", "--data", str(train3), "--init-from", str(init), "--out", str(out), *TINY_TRAIN)
    assert_refused(result, out, str(init), message)


# ---------------------------------------------------------------------------------------------- cleaning


def test_rows_empty_after_cleaning_are_dropped_from_training_and_counted(tmp_path: Path) -> None:
    """A tweet with nothing left after cleaning teaches nothing: dropped from train (and counted in the stats),
    while a test set keeps every tweet, since a test must answer them all."""
    empties = ["http://t.co/abc", "www.example.com", "   ", "\u2764\u2764"]
    rows = labelled_rows({"negative": 20, "positive": 20})
    rows[3:3] = [["negative", t] for t in empties]
    data = write_labelled(tmp_path / "data" / "train.csv", rows)
    val = write_labelled(tmp_path / "data" / "val.csv", labelled_rows({"negative": 5, "positive": 5}, seed=1))
    test = write_labelled(tmp_path / "data" / "test.csv", [["positive", "http://t.co/other"], ["negative", "sad bad"]])
    dataset = load(tmp_path, data, val_data=str(val), test_data=(str(test),))
    assert dataset.stats["dropped"]["train"] == {"empty after cleaning": len(empties)}
    assert len(dataset["train"]) == 40
    assert not set(empties) & set(texts_of(dataset, "train"))
    assert dataset.stats["class_counts"]["train"] == {"negative": 20, "positive": 20}
    assert len(dataset["data-test"]) == 2 and dataset.stats["dropped"]["data-test"] == {}


# ---------------------------------------------------------------------------------------------- loaders


@pytest.mark.parametrize("name", ["train.csv", "train.tsv", "train.jsonl", "train.csv.gz", "train.noext"])
def test_every_file_format_gives_the_same_dataset(tmp_path: Path, name: str) -> None:
    """CSV, TSV, JSON lines, gzip and a sniffed unknown suffix all read to the same tweets and labels."""
    rows = labelled_rows(THREE)
    path = tmp_path / "data" / name
    path.parent.mkdir()
    if ".tsv" in name:
        path.write_text("label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows))
    elif ".jsonl" in name:
        path.write_text("".join(json.dumps({"sentiment": label, "tweet": text}) + "\n" for label, text in rows))
    elif name.endswith(".gz"):
        lines = "".join(f"{label},{text}\n" for label, text in rows)
        path.write_bytes(gzip.compress(f"label,text\n{lines}".encode()))
    else:
        write_csv(path, rows, header=["label", "text"])
    dataset = load(tmp_path, path, val_data=str(write_labelled(tmp_path / "val" / "v.csv", rows[:9])))
    assert dataset.classes.names == ("negative", "neutral", "positive")
    assert texts_of(dataset, "train") == [text for _, text in rows]
    assert written_labels(dataset, "train") == [label for label, _ in rows]


def test_columns_by_number_and_a_label_map(tmp_path: Path) -> None:
    """A header-less file read by column number, its coded labels mapped to names; unmapped rows dropped, counted."""
    codes = {"negative": "0", "neutral": "2", "positive": "4"}
    rows = [[str(i), codes[label], text] for i, (label, text) in enumerate(labelled_rows(THREE))]
    (tmp_path / "data").mkdir()
    data = write_csv(tmp_path / "data" / "coded.csv", [*rows, ["90", "9", "what is this"]])
    read = ReadOptions(text_column="2", label_column="1", label_map="negative=0,neutral=2,positive=4")
    dataset = load(tmp_path, data, read=read, val_fraction=0.1)
    assert dataset.classes.names == ("negative", "neutral", "positive")
    assert dataset.stats["text_column"] == "2" and dataset.stats["label_column"] == "1"
    assert dataset.stats["dropped"]["train"] == {"label '9' not in the label map": 1}
    assert len(dataset["train"]) + len(dataset["val"]) == 90


# ---------------------------------------------------------------------------------------------- label names


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"1": 20, "0": 20}, ("0", "1")),
        ({"10": 10, "2": 10, "1": 10}, ("1", "2", "10")),
        ({"sad": 10, "angry": 10, "other": 10, "happy": 10}, ("angry", "happy", "other", "sad")),
        (
            {"irrelevant": 10, "positive": 10, "neutral": 10, "negative": 10},
            ("negative", "neutral", "positive", "irrelevant"),
        ),
        ({"Negative": 10, "Positive": 10}, ("Negative", "Positive")),
    ],
)
def test_label_names_are_kept_as_written_in_a_fixed_order(
    tmp_path: Path, counts: dict[str, int], expected: tuple[str, ...]
) -> None:
    """Names stay as the file writes them; the standard names come first in their usual order, the rest sorted
    (numerically when they are numbers), and every tweet keeps its own label."""
    rows = labelled_rows(counts)
    data = write_labelled(tmp_path / "data" / "train.csv", rows)
    dataset = load(tmp_path, data, val_fraction=0.2)
    assert dataset.classes.names == expected and dataset.labels.names == expected
    by_text = {text: label for label, text in rows}
    for split in ("train", "val"):
        assert written_labels(dataset, split) == [by_text[t] for t in texts_of(dataset, split)]
    assert Counter(written_labels(dataset, "train")) + Counter(written_labels(dataset, "val")) == Counter(counts)


def test_labels_flag_sets_the_order(tmp_path: Path) -> None:
    rows = labelled_rows(THREE)
    data = write_labelled(tmp_path / "data" / "train.csv", rows)
    dataset = load(tmp_path, data, labels="positive,negative,neutral", val_fraction=0.2)
    assert dataset.classes.names == ("positive", "negative", "neutral")
    by_text = {text: label for label, text in rows}
    assert written_labels(dataset, "train") == [by_text[t] for t in texts_of(dataset, "train")]
    # Training labels index the classes in that order too.
    train = dataset.for_training("train")
    assert [dataset.classes[i] for i in train.labels.tolist()] == written_labels(dataset, "train")


def test_test_labels_match_in_any_case_and_abbreviated(tmp_path: Path, train3: Path) -> None:
    test = write_labelled(tmp_path / "data" / "test.csv", [["NEG", "sad"], ["Positive", "good"], ["neu", "bus"]])
    dataset = load(tmp_path, train3, test_data=(str(test),))
    assert written_labels(dataset, "data-test") == ["negative", "positive", "neutral"]


def test_neutral_tests_of_a_negative_positive_model_add_neutral_to_the_labels_only(tmp_path: Path) -> None:
    """A negative/positive model is measured on neutral tweets through the neutral band: the dataset's labels gain
    neutral, the classes a model learns do not."""
    data = write_labelled(tmp_path / "data" / "train.csv", labelled_rows({"negative": 20, "positive": 20}))
    test = write_labelled(tmp_path / "data" / "test.csv", labelled_rows(THREE, seed=4))
    dataset = load(tmp_path, data, test_data=(str(test),))
    assert dataset.classes.names == ("negative", "positive")
    assert dataset.labels.names == ("negative", "neutral", "positive")
    assert dataset.present("data-test").names == ("negative", "neutral", "positive")
    assert dataset.present("train").names == ("negative", "positive")


# ---------------------------------------------------------------------------------------------- splits


def test_val_fraction_is_stratified_and_seeded(tmp_path: Path) -> None:
    """The same seed holds out the same tweets; each class gives the same share; nothing is lost or duplicated."""
    counts = {"negative": 200, "positive": 100, "neutral": 50}
    rows = labelled_rows(counts)
    data = write_labelled(tmp_path / "data" / "train.csv", rows)
    first = load(tmp_path, data, val_fraction=0.2, split_seed=7)
    again = load(tmp_path, data, val_fraction=0.2, split_seed=7)
    other = load(tmp_path, data, val_fraction=0.2, split_seed=8)
    assert texts_of(first, "val") == texts_of(again, "val")
    assert texts_of(first, "train") == texts_of(again, "train")
    assert set(texts_of(first, "val")) != set(texts_of(other, "val"))
    for dataset in (first, other):
        assert dataset.stats["class_counts"]["val"] == {"negative": 40, "neutral": 10, "positive": 20}
        assert dataset.stats["class_counts"]["train"] == {"negative": 160, "neutral": 40, "positive": 80}
        everything = texts_of(dataset, "train") + texts_of(dataset, "val")
        assert sorted(everything) == sorted(text for _, text in rows)
    assert first.config.val_fraction == 0.2 and first.stats["val_fraction"] == 0.2


def test_default_val_fraction_is_used_and_the_config_keeps_what_was_asked(tmp_path: Path, train3: Path) -> None:
    dataset = load(tmp_path, train3)
    assert dataset.stats["val_fraction"] == 0.1
    assert dataset.config.val_fraction is None  # a saved run given --val-data later is not refused over it
    assert len(dataset["val"]) == 9 and len(dataset["train"]) == 81


def test_rows_the_reader_drops_are_counted_once(tmp_path: Path) -> None:
    rows = labelled_rows({"negative": 20, "positive": 20}) + [["", "no label here"]] * 3
    dataset = load(tmp_path, write_labelled(tmp_path / "data" / "gaps.csv", rows))
    assert dataset.stats["dropped"]["train"] == {"label missing": 3}
    assert dataset.stats["dropped"]["val"] == {}


def test_a_saved_run_repeated_with_a_validation_file(run_cli: Cli, tmp_path: Path, train3: Path) -> None:
    first = tmp_path / "first"
    code, _, err = run_cli("train", "lstm", "--data", str(train3), "--out", str(first), *TINY_TRAIN)
    assert code == 0, err
    val = write_labelled(tmp_path / "val.csv", labelled_rows({"negative": 4, "positive": 3, "neutral": 2}, seed=5))
    again = tmp_path / "again"
    code, _, err = run_cli(
        "train", "lstm", "--config", str(first / "config.json"), "--val-data", str(val), "--out", str(again)
    )
    assert code == 0, err
    import json

    data = json.loads((again / "config.json").read_text())["data"]
    assert data["val_data"] == str(val.resolve()) and data["val_fraction"] is None
    assert Path(data["data"][0]).is_absolute()  # paths are recorded whole: the config repeats from any folder


def test_val_data_is_used_as_is(tmp_path: Path, train3: Path) -> None:
    val_rows = labelled_rows({"negative": 4, "positive": 3, "neutral": 2}, seed=5)
    val = write_labelled(tmp_path / "data" / "val.csv", val_rows)
    dataset = load(tmp_path, train3, val_data=str(val))
    assert texts_of(dataset, "val") == [text for _, text in val_rows]
    assert written_labels(dataset, "val") == [label for label, _ in val_rows]
    assert len(dataset["train"]) == sum(THREE.values())
    assert dataset.config.val_fraction is None and dataset.tests == []
    assert dataset.stats["files"]["val"] == str(val)


def test_several_test_files_each_become_a_split_named_after_the_file(tmp_path: Path, train3: Path) -> None:
    """Test sets are named folder-stem, in the order given; a repeated name gets a number."""
    a = write_labelled(tmp_path / "semeval" / "test.csv", labelled_rows({"negative": 3, "positive": 4}, seed=6))
    b = write_labelled(tmp_path / "sanders" / "test.csv", labelled_rows(THREE, seed=7)[:5])
    dataset = load(tmp_path, train3, test_data=(str(a), str(b), str(a)))
    assert dataset.tests == ["semeval-test", "sanders-test", "semeval-test-2"]
    assert list(dataset.splits) == ["train", "val", *dataset.tests]
    assert len(dataset["semeval-test"]) == 7 and len(dataset["sanders-test"]) == 5
    assert texts_of(dataset, "semeval-test") == texts_of(dataset, "semeval-test-2")
    assert dataset.stats["files"]["tests"] == {"semeval-test": str(a), "sanders-test": str(b), "semeval-test-2": str(a)}


def test_sentiment140_test_alias_gives_both_official_protocols(tmp_path: Path, small_data_dir: Path) -> None:
    """`--test-data sentiment140`: all official test tweets as `test`, those without links as `test_seed`."""
    data = write_labelled(tmp_path / "data" / "train.csv", labelled_rows({"negative": 20, "positive": 20}))
    other = write_labelled(tmp_path / "data" / "extra.csv", labelled_rows({"negative": 2, "positive": 2}, seed=8))
    dataset = load(tmp_path, data, test_data=("sentiment140", str(other)), data_dir=str(small_data_dir))
    assert dataset.tests == ["test", "test_seed", "data-extra"]
    assert len(dataset["test"]) == 6 and len(dataset["test_seed"]) == 4
    assert written_labels(dataset, "test") == ["positive", "negative", "neutral", "negative", "positive", "neutral"]
    assert not any("http" in t or "www." in t for t in texts_of(dataset, "test_seed"))
    assert texts_of(dataset, "test")[0].startswith("I loooove my Kindle2. it's fantastic & fun")  # HTML decoded
    assert dataset.labels.names == ("negative", "neutral", "positive")
    assert dataset.classes.names == ("negative", "positive")


# ---------------------------------------------------------------------------------------------- the shared data


@pytest.mark.data
def test_real_files_load_with_their_published_label_counts(tmp_path: Path, shared_data_dir: Path) -> None:
    """Sanders (CSV with a header, four labels) to train, SemEval's TSV (no header, unbalanced quotes) to test:
    every tweet is read, with the counts SOURCES.md gives, the label order standard names first."""
    sanders = shared_data_dir / "sanders_twitter_corpus" / "full-corpus.csv"
    semeval = shared_data_dir / "semeval2016_task4a" / "test.tsv"
    dataset = load_dataset(DataConfig(data=str(sanders), test_data=(str(semeval),)), tmp_path / "cache")
    assert dataset.classes.names == ("negative", "neutral", "positive", "irrelevant")
    assert dataset.stats["text_column"] == "TweetText" and dataset.stats["label_column"] == "Sentiment"
    counts = Counter(dataset.stats["class_counts"]["train"]) + Counter(dataset.stats["class_counts"]["val"])
    assert counts == {"negative": 572, "neutral": 2336, "positive": 521, "irrelevant": 1693}
    assert dataset.tests == ["semeval2016_task4a-test"]
    test_counts = dataset.stats["class_counts"]["semeval2016_task4a-test"]
    assert test_counts == {"negative": 286, "neutral": 625, "positive": 886, "irrelevant": 0}


@pytest.mark.data
def test_real_test_file_with_a_label_training_lacks_is_refused(
    run_cli: Cli, tmp_path: Path, shared_data_dir: Path
) -> None:
    semeval = shared_data_dir / "semeval2016_task4a" / "train.tsv"
    sanders = shared_data_dir / "sanders_twitter_corpus" / "full-corpus.csv"
    out = tmp_path / "run"
    result = run_cli(
        "train", "lstm", "--data", str(semeval), "--test-data", str(sanders), "--out", str(out), *TINY_TRAIN
    )
    # The message names the file as read (a data folder reached through a link is named by its target).
    assert_refused(result, out, str(sanders.resolve()), "test label 'irrelevant' never seen in training")
