"""Ensembles of finished runs (`tweetsent ensemble`): averaged probabilities matched by label name, a stacker
fitted on labelled tweets (with or without VADER's scores), the folder loaded like one run by `tweetsent.load`,
`predict`, `evaluate`, `calibrate` and the HTTP app, and every bad input refused with one line and no folder."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import tweetsent
from tests.conftest import (
    NEG_WORDS,
    POS_WORDS,
    invoke_cli,
    module_caches,
    write_csv,
    write_small_data_dir,
)
from tests.inference.fixtures import TEXTS, THREE, make_run
from tweetsent.core.errors import UserError
from tweetsent.evaluation.evaluate import run_dataset
from tweetsent.inference.classifier import Classifier
from tweetsent.inference.server import ServeSettings, create_app
from tweetsent.models.artifact import Artifact, load_artifact, load_single
from tweetsent.models.ensemble import Ensemble, Stacker, load_ensemble, save_ensemble, union_labels

Cli = Callable[..., tuple[int, str, str]]
POLAR = ("negative", "positive")
FIT_NEUTRAL = ["going to work", "reading the news", "on the bus", "at the office", "lunch now", "the weather"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module folder whose caches every test of the module shares (the Sentiment140 fixture is prepared once)."""
    with module_caches(tmp_path_factory.mktemp("ensemble")) as folder:
        yield folder


@pytest.fixture(autouse=True)
def _shared_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(root / "glove"))


@pytest.fixture(scope="module")
def trained(root: Path) -> Path:
    """A real negative/positive run (config.json with "train" and "data"), trained a few steps on the fixture."""
    data = root / "s140"
    data.mkdir()
    write_small_data_dir(data)
    out = root / "trained"
    code, _, err = invoke_cli(
        "train", "lstm", "--data-dir", str(data), "--max-steps", "10", "--batch-size", "32", "--eval-every", "5",
        "--log-every", "5", "--precision", "32-true", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def three(root: Path) -> Path:
    """A negative/neutral/positive model folder (no run config: it is never the first member)."""
    return make_run(root / "three", seed=1, labels=THREE)


@pytest.fixture(scope="module")
def polar(root: Path) -> Path:
    return make_run(root / "polar", seed=2, labels=POLAR)


@pytest.fixture(scope="module")
def averaged(root: Path, trained: Path, three: Path) -> Path:
    """`tweetsent ensemble` of the trained negative/positive run and the three-label model, averaged."""
    out = root / "averaged"
    code, _, err = invoke_cli("ensemble", str(trained), str(three), "--out", str(out), "--name", "avg")
    assert code == 0, err
    return out


def fit_file(folder: Path, rows: Sequence[tuple[str, str]] | None = None) -> Path:
    """A small CSV (text,label) of negative, neutral and positive tweets."""
    if rows is None:
        rows = [
            *((f"{a} {b}", "negative") for a, b in zip(NEG_WORDS, NEG_WORDS[3:] + NEG_WORDS[:3], strict=True)),
            *((t, "neutral") for t in FIT_NEUTRAL),
            *((f"{a} {b}", "positive") for a, b in zip(POS_WORDS, POS_WORDS[3:] + POS_WORDS[:3], strict=True)),
        ]
    path = folder / "fit.csv"
    write_csv(path, [list(r) for r in rows], header=["text", "label"])
    return path


def by_hand(members: Sequence[Artifact], names: Sequence[str], texts: list[str]) -> np.ndarray:
    """Each label's mean probability over the members having it (looked up by name), rows renormalised."""
    probs = [m.predict_proba(texts) for m in members]
    mean = np.zeros((len(texts), len(names)))
    for j, name in enumerate(names):
        having = [p[:, m.labels.names.index(name)] for p, m in zip(probs, members, strict=True) if name in m.labels]
        mean[:, j] = np.mean(having, axis=0)
    return mean / mean.sum(axis=1, keepdims=True)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def vader_by_hand(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([[s["neg"], s["neu"], s["pos"], s["compound"]] for s in map(analyzer.polarity_scores, texts)])


def load(folder: Path) -> Classifier:
    return tweetsent.load(folder, device="cpu", precision="fp32", workers=1)


def assert_refused(code: int, err: str, out: Path) -> None:
    """Exit 2, one line on stderr, and neither OUT nor a temporary folder beside it left behind."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert not out.exists()
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


# ---------------------------------------------------------------------------------------------- averaging


def test_average_matches_label_means_and_survives_save_and_load(tmp_path: Path) -> None:
    """Members with different label sets are averaged by label name (a label's mean over the members having it,
    renormalised); the union keeps the standard labels first; saving and loading changes no probability."""
    names = [("negative", "positive"), THREE, ("negative", "positive", "irrelevant")]
    members = [load_single(make_run(tmp_path / f"m{i}", seed=3 + i, labels=n)) for i, n in enumerate(names)]
    labels = union_labels(members)
    assert labels.names == ("negative", "neutral", "positive", "irrelevant")
    ensemble = Ensemble(members, labels, config={"model": "trio"})
    probs = ensemble.predict_proba(TEXTS)
    np.testing.assert_allclose(probs, by_hand(members, labels.names, TEXTS), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    save_ensemble(tmp_path / "ens" / "model", ensemble, {})
    config = json.loads((tmp_path / "ens" / "model" / "config.json").read_text())
    assert config["family"] == "ensemble" and config["combiner"] == "average" and config["stacker"] is None
    assert config["labels"] == list(labels.names) and len(config["members"]) == 3
    loaded = load_artifact(tmp_path / "ens")
    assert isinstance(loaded, Ensemble) and loaded.labels == labels and loaded.name == "trio"
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), probs)
    # The members are copied in: the ensemble does not need the folders it was made from.
    for i in range(3):
        shutil.rmtree(tmp_path / f"m{i}")
    np.testing.assert_array_equal(load_artifact(tmp_path / "ens" / "model").predict_proba(TEXTS), probs)


def test_cli_ensemble_predicts_the_average_everywhere(run_cli: Cli, averaged: Path, trained: Path, three: Path) -> None:
    """`tweetsent ensemble` writes model/, config.json and summary.json; tweetsent.load and `tweetsent predict`
    give the hand-computed average of the two members; loading again gives the same probabilities."""
    assert {p.name for p in averaged.iterdir()} >= {"model", "config.json", "summary.json"}
    record = json.loads((averaged / "config.json").read_text())
    assert record["ensemble"]["combiner"] == "average" and record["ensemble"]["fit_data"] is None
    assert record["ensemble"]["members"] == [str(trained.resolve()), str(three.resolve())]
    assert record["train"] == json.loads((trained / "config.json").read_text())["train"]
    assert {"val", "test", "test_seed"} <= set(json.loads((averaged / "summary.json").read_text()))

    classifier = load(averaged)
    assert classifier.labels.names == THREE and classifier.family == "ensemble" and classifier.name == "avg"
    expected = by_hand([load_single(trained), load_single(three)], THREE, TEXTS)
    probs = classifier.predict_proba(TEXTS)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(load(averaged).predict_proba(TEXTS), probs)
    assert [p.label for p in classifier.predict(TEXTS)] == [THREE[i] for i in probs.argmax(axis=1)]

    texts = [t for t in TEXTS if t]
    code, out, err = run_cli("predict", str(averaged), *texts, "-f", "csv", "--device", "cpu", "--precision", "fp32")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["text", "label", *THREE] and [r[0] for r in rows[1:]] == texts
    printed = np.array([[float(x) for x in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(printed, by_hand([load_single(trained), load_single(three)], THREE, texts), atol=2e-6)


def test_evaluate_scores_the_ensemble_on_the_first_members_splits(run_cli: Cli, averaged: Path) -> None:
    """`tweetsent evaluate OUT` rebuilds the first member's validation and test tweets and scores the ensemble's
    own decisions on them (recomputed here from its probabilities)."""
    (averaged / "summary.json").unlink()
    code, _, err = run_cli("evaluate", str(averaged))
    assert code == 0, err
    summary = json.loads((averaged / "summary.json").read_text())
    assert summary["model"] == "avg" and summary["tests"] == ["test", "test_seed"]
    dataset, _ = run_dataset(averaged)
    predictor = load_artifact(averaged)
    for split in ("val", "test", "test_seed"):
        probs = predictor.predict_proba(dataset[split].texts, html_decoded=True)
        said = [THREE[i] for i in probs.argmax(axis=1)]
        gold = [dataset.labels[i] for i in dataset[split].labels.astype(np.int64)]
        assert summary[split]["labels"] == list(THREE)
        assert sum(map(sum, summary[split]["confusion"])) == len(gold)
        assert summary[split]["accuracy"] == pytest.approx(np.mean([s == g for s, g in zip(said, gold, strict=True)]))


def test_calibrate_sets_the_band_of_a_negative_positive_ensemble(
    run_cli: Cli, trained: Path, polar: Path, three: Path, tmp_path: Path
) -> None:
    """A negative/positive ensemble takes a neutral band from `calibrate` (stored in its model folder and applied
    on loading); an ensemble that predicts neutral itself is refused."""
    out = tmp_path / "polar-ens"
    code, _, err = run_cli("ensemble", str(trained), str(polar), "--out", str(out))
    assert code == 0, err
    assert load(out).labels.names == POLAR
    data = fit_file(tmp_path)
    code, _, err = run_cli("calibrate", str(out), "--data", str(data), "--device", "cpu", "--precision", "fp32")
    assert code == 0, err
    stored = json.loads((out / "model" / "calibration.json").read_text())
    classifier = load(out)
    assert classifier.neutral_margin == stored["neutral_margin"] and 0 <= stored["neutral_margin"] <= 1
    margin = classifier.neutral_margin
    probs = classifier.predict_proba(TEXTS)
    expected = ["neutral" if abs(p[1] - p[0]) < margin else POLAR[int(p.argmax())] for p in probs.astype(np.float64)]
    assert [p.label for p in classifier.predict(TEXTS)] == expected

    mixed = tmp_path / "mixed"
    assert run_cli("ensemble", str(trained), str(three), "--out", str(mixed))[0] == 0
    code, _, err = run_cli("calibrate", str(mixed), "--data", str(data), "--device", "cpu")
    # A three-class ensemble has no band: its class priors are calibrated instead, and it applies them.
    assert code == 0, err
    bias = json.loads((mixed / "model" / "calibration.json").read_text())["class_bias"]
    assert list(load(mixed).predictor.class_bias) == [bias[n] for n in load(mixed).labels]


@pytest.fixture(scope="module", params=[True, False], ids=["micro-batching", "one-at-a-time"])
def client(request: pytest.FixtureRequest, averaged: Path) -> Iterator[tuple[TestClient, Classifier]]:
    classifier = load(averaged)
    settings = ServeSettings(max_batch=32, micro_batching=request.param)
    with TestClient(create_app(classifier, settings)) as test_client:
        yield test_client, classifier


def test_http_app_serves_the_ensemble(client: tuple[TestClient, Classifier]) -> None:
    """The HTTP app answers with the ensemble's labels and probabilities, and /model describes an ensemble."""
    test_client, classifier = client
    r = test_client.post("/predict", json={"texts": TEXTS})
    assert r.status_code == 200
    predictions = r.json()["predictions"]
    got = np.array([[p["probabilities"][n] for n in THREE] for p in predictions])
    np.testing.assert_allclose(got, classifier.predict_proba(TEXTS), rtol=1e-5, atol=1e-6)
    assert [p["label"] for p in predictions] == [THREE[i] for i in got.argmax(axis=1)]
    info = test_client.get("/model").json()
    assert info["family"] == "ensemble" and info["name"] == "avg"
    assert info["labels"] == info["decisions"] == list(THREE)


# ---------------------------------------------------------------------------------------------- stacker


@pytest.mark.parametrize("vader", [False, True], ids=["members", "members+vader"])
def test_stacker_is_a_softmax_of_its_weights(
    run_cli: Cli, trained: Path, three: Path, tmp_path: Path, vader: bool
) -> None:
    """--fit-data fits a stacker: one weight row per label and one column per member probability (then VADER's
    four scores with --vader); predictions are softmax(features @ coef.T + intercept) of features computed here
    from the original runs; on the fit data it does no worse than the class priors (it was fitted there)."""
    data = fit_file(tmp_path)
    out = tmp_path / "stacked"
    code, _, err = run_cli(
        "ensemble",
        str(trained),
        str(three),
        "--out",
        str(out),
        "--fit-data",
        str(data),
        *(["--vader"] if vader else []),
    )
    assert code == 0, err
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["combiner"] == "stacker" and config["labels"] == list(THREE)
    stacker = Stacker.from_dict(config["stacker"])
    assert stacker.vader is vader
    assert stacker.coef.shape == (3, 2 + 3 + (4 if vader else 0)) and stacker.intercept.shape == (3,)
    record = json.loads((out / "config.json").read_text())["ensemble"]
    with open(data, newline="") as f:
        fit_rows = list(csv.DictReader(f))
    assert record["combiner"] == "stacker" and record["vader"] is vader
    assert record["fit_data"]["tweets"] == len(fit_rows)

    members = [load_single(trained), load_single(three)]
    for texts in (TEXTS, [r["text"] for r in fit_rows]):
        features = np.concatenate([m.predict_proba(texts) for m in members], axis=1)
        if vader:
            features = np.concatenate([features, vader_by_hand(texts)], axis=1)
        expected = softmax(features @ stacker.coef.T + stacker.intercept)
        np.testing.assert_allclose(load(out).predict_proba(texts), expected, rtol=1e-5, atol=1e-6)

    gold = np.array([THREE.index(r["label"]) for r in fit_rows])
    prior = np.bincount(gold, minlength=3) / len(gold)
    fitted = expected[np.arange(len(gold)), gold]
    assert -np.log(fitted).mean() <= -np.log(prior[gold]).mean() + 1e-3


def test_stacker_weights_must_fit_the_members(tmp_path: Path, averaged: Path) -> None:
    """A stored stacker whose width does not match the members is refused on loading, not applied."""
    folder = averaged / "model"
    config = json.loads((folder / "config.json").read_text())
    config["stacker"] = {"coef": [[0.0] * 4] * 3, "intercept": [0.0] * 3, "vader": False}
    with pytest.raises(UserError, match="do not fit the members"):
        load_ensemble(folder, config)


def test_vader_features_see_the_text_the_members_see(tmp_path: Path) -> None:
    """A tweet gets the same probabilities whether its HTML entities come raw (predict) or decoded once by the
    dataset loader (evaluate, html_decoded=True): the word members decode them, so must the VADER features."""
    members = [load_single(make_run(tmp_path / f"m{i}", seed=i)) for i in range(2)]
    rng = np.random.default_rng(0)
    ensemble = Ensemble(members, union_labels(members), Stacker(rng.normal(size=(3, 10)), np.zeros(3), vader=True))
    raw, decoded = ["i &lt;3 you &amp; it"], ["i <3 you & it"]
    for m in members:
        np.testing.assert_array_equal(m.predict_proba(raw), m.predict_proba(decoded, html_decoded=True))
    np.testing.assert_allclose(ensemble.predict_proba(raw), ensemble.predict_proba(decoded, html_decoded=True))


# ---------------------------------------------------------------------------------------------- refused


def test_members_without_a_shared_label_are_refused(run_cli: Cli, trained: Path, tmp_path: Path) -> None:
    """Label sets with no name in common cannot be averaged: one line, exit 2, no folder."""
    mood = make_run(tmp_path / "mood", labels=("angry", "happy"))
    out = tmp_path / "out"
    code, _, err = run_cli("ensemble", str(trained), str(mood), "--out", str(out))
    assert_refused(code, err, out)
    assert "no label in common" in err


@pytest.mark.parametrize("damage", ["config deleted", "weights truncated"])
def test_a_damaged_member_is_refused(run_cli: Cli, trained: Path, three: Path, tmp_path: Path, damage: str) -> None:
    """A member whose model folder is incomplete fails before anything is written."""
    member = tmp_path / "member"
    shutil.copytree(three, member)
    if damage == "config deleted":
        (member / "model" / "config.json").unlink()
    else:
        weights = member / "model" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    out = tmp_path / "out"
    code, _, err = run_cli("ensemble", str(trained), str(member), "--out", str(out))
    assert_refused(code, err, out)
    assert str(member) in err


def test_an_ensemble_of_one_run_is_refused(run_cli: Cli, trained: Path, tmp_path: Path) -> None:
    """One run is not an ensemble."""
    out = tmp_path / "out"
    code, _, err = run_cli("ensemble", str(trained), "--out", str(out))
    assert_refused(code, err, out)
    assert "two or more" in err


def test_fit_data_without_usable_labels_is_refused(run_cli: Cli, trained: Path, three: Path, tmp_path: Path) -> None:
    """--fit-data whose labels the label map leaves out entirely, or with one label only, fits no stacker."""
    data = fit_file(tmp_path)
    out = tmp_path / "out"
    code, _, err = run_cli(
        "ensemble", str(trained), str(three), "--out", str(out), "--fit-data", str(data),
        "--label-map", "negative=0,positive=4",
    )  # fmt: skip
    assert_refused(code, err, out)
    single = tmp_path / "single"
    single.mkdir()
    one = fit_file(single, [(f"{w} day", "positive") for w in POS_WORDS])
    code, _, err = run_cli("ensemble", str(trained), str(three), "--out", str(out), "--fit-data", str(one))
    assert_refused(code, err, out)
    assert "positive" in err


def test_vader_needs_fit_data(run_cli: Cli, trained: Path, three: Path, tmp_path: Path) -> None:
    """--vader adds a member whose weight must be learnt: without --fit-data it is refused."""
    out = tmp_path / "out"
    code, _, err = run_cli("ensemble", str(trained), str(three), "--out", str(out), "--vader")
    assert_refused(code, err, out)
    assert "--fit-data" in err


def test_an_existing_non_empty_out_is_refused_and_left_alone(
    run_cli: Cli, trained: Path, three: Path, tmp_path: Path
) -> None:
    """--out that already holds something is refused, and what it holds is not touched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    code, _, err = run_cli("ensemble", str(trained), str(three), "--out", str(out))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "not empty" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine\n"


def test_an_out_that_is_a_file_is_refused_and_kept(run_cli: Cli, trained: Path, three: Path, tmp_path: Path) -> None:
    """--out naming an existing file fails with one line, not a traceback, and the file is not replaced."""
    out = tmp_path / "taken.txt"
    out.write_text("mine\n")
    code, _, err = run_cli("ensemble", str(trained), str(three), "--out", str(out))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(out) in err
    assert out.read_text() == "mine\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")]
