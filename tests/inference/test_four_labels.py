"""A model with four labels (negative, neutral, positive, irrelevant) through `tweetsent predict` and the HTTP
service: every output names all four labels, and every decision is one of them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.inference.classifier import Classifier
from tweetsent.inference.server import ServeSettings, create_app

Cli = Callable[..., tuple[int, str, str]]
FOUR = ("negative", "neutral", "positive", "irrelevant")
CLI_TEXTS = [t for t in TEXTS if t]  # an empty argument is still a text, but keep the CSV easy to read


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("four") / "run", labels=FOUR)


@pytest.fixture(scope="module")
def classifier(run_dir: Path) -> Classifier:
    return tweetsent.load(run_dir, device="cpu", precision="fp32")


def test_loaded_model_has_four_labels(classifier: Classifier) -> None:
    assert classifier.labels.names == FOUR and classifier.decisions.names == FOUR
    probs = classifier.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 4)
    assert len(set(probs.argmax(axis=1).tolist())) > 1  # the fixture model is decisive and varied


def test_predict_csv_has_a_column_per_label(run_cli: Cli, run_dir: Path, classifier: Classifier) -> None:
    code, out, err = run_cli("predict", str(run_dir), *CLI_TEXTS, "-f", "csv", "--device", "cpu", "--precision", "fp32")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["text", "label", *FOUR]
    body = rows[1:]
    assert [r[0] for r in body] == CLI_TEXTS
    assert all(r[1] in FOUR for r in body)
    probs = np.array([[float(x) for x in r[2:]] for r in body])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [r[1] for r in body] == [FOUR[i] for i in probs.argmax(axis=1)]
    np.testing.assert_allclose(probs, classifier.predict_proba(CLI_TEXTS), atol=2e-6)


def test_predict_jsonl_has_four_probabilities(run_cli: Cli, run_dir: Path) -> None:
    code, out, err = run_cli("predict", str(run_dir), *CLI_TEXTS, "-f", "jsonl", "--device", "cpu")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["text"] for r in records] == CLI_TEXTS
    for r in records:
        assert list(r["probabilities"]) == list(FOUR)
        assert r["label"] in FOUR and r["label"] == max(r["probabilities"], key=r["probabilities"].get)
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_the_neutral_band_leaves_a_model_with_its_own_neutral_alone(run_cli: Cli, run_dir: Path) -> None:
    """The band is for negative/positive models; a model that predicts neutral itself keeps its argmax."""
    classifier = tweetsent.load(run_dir, device="cpu", neutral_margin=0.9)
    assert classifier.decisions.names == FOUR
    probs = classifier.predict_proba(TEXTS)
    assert [p.label for p in classifier.predict(TEXTS)] == [FOUR[i] for i in probs.argmax(axis=1)]


def test_predict_from_a_file(run_cli: Cli, run_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "tweets.txt"
    source.write_text("\n".join(CLI_TEXTS) + "\n")
    out_file = tmp_path / "out.csv"
    code, _, err = run_cli("predict", str(run_dir), "--input", str(source), "-f", "csv", "-o", str(out_file))
    assert code == 0, err
    with open(out_file, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(CLI_TEXTS) and all(set(FOUR) <= set(r) and r["label"] in FOUR for r in rows)


@pytest.fixture(scope="module", params=[True, False], ids=["micro-batching", "one-at-a-time"])
def client(request: pytest.FixtureRequest, classifier: Classifier) -> Iterator[TestClient]:
    settings = ServeSettings(max_batch=32, micro_batching=request.param)
    with TestClient(create_app(classifier, settings)) as test_client:  # runs the app's lifespan (its batcher)
        yield test_client


def test_server_predict_returns_all_four_labels(client: TestClient, classifier: Classifier) -> None:
    r = client.post("/predict", json={"texts": TEXTS})
    assert r.status_code == 200
    predictions = r.json()["predictions"]
    assert len(predictions) == len(TEXTS)
    for p in predictions:
        assert list(p["probabilities"]) == list(FOUR) and p["label"] in FOUR
    got = np.array([[p["probabilities"][n] for n in FOUR] for p in predictions])
    np.testing.assert_allclose(got, classifier.predict_proba(TEXTS), rtol=1e-5, atol=1e-6)
    assert [p["label"] for p in predictions] == [FOUR[i] for i in got.argmax(axis=1)]
    assert "irrelevant" in {p["label"] for p in predictions}  # the fourth label is answered, not just listed


def test_server_model_lists_the_four_labels(client: TestClient) -> None:
    info = client.get("/model").json()
    assert info["labels"] == list(FOUR) and info["decisions"] == list(FOUR)
    assert client.get("/health").json()["status"] == "ok"
