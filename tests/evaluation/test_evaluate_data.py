"""`tweetsent evaluate`: on any labelled file (--data) into RUN_DIR/eval/NAME, and on the run's own splits
with the neutral band reported beside the plain metrics."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.core.labels import LabelSet
from tweetsent.core.metrics import split_metrics

Cli = Callable[..., tuple[int, str, str]]
THREE = LabelSet(("negative", "neutral", "positive"))


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_generic_file_with_a_label_map(run_cli: Cli, run_dir: Path, tmp_path: Path) -> None:
    texts = [t for t in TEXTS if t] * 3
    polarity = (["4", "0", "2", "0"] * 10)[: len(texts)]
    data = tmp_path / "mine.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["polarity", "id", "tweet"])
        writer.writerows([p, i, t] for i, (p, t) in enumerate(zip(polarity, texts, strict=True)))
        writer.writerow(["9", "99", "an unknown label"])
    code, out, err = run_cli(
        "evaluate",
        str(run_dir),
        "--data",
        str(data),
        "--label-map",
        "negative=0,neutral=2,positive=4",
        "--neutral-margin",
        "0.2",
    )
    assert code == 0, err
    folder = run_dir / "eval" / f"{tmp_path.name}-mine"
    assert str(folder) in out.replace("\n", "")
    assert "1 label '9' not in the label map" in out.replace("\n", " ")
    result = json.loads((folder / "metrics.json").read_text())
    assert result["n"] == len(texts) and result["rows_read"] == len(texts) + 1
    assert result["dropped"] == {"label '9' not in the label map": 1}
    assert (result["text_column"], result["label_column"]) == ("tweet", "polarity")

    gold = np.array([{"0": 0, "2": 1, "4": 2}[p] for p in polarity])
    probs = tweetsent.load(run_dir).predict_proba(texts)
    expected = split_metrics(probs, gold, THREE)
    for key in ("accuracy", "accuracy_binary", "macro_f1", "loss"):
        assert result["metrics"][key] == pytest.approx(expected[key], abs=1e-6)
    assert result["metrics"]["confusion"] == expected["confusion"]
    assert result["neutral_band"] is None  # a model with a neutral label has no band
    assert (folder / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_a_negative_positive_model_gets_the_band_on_three_class_data(run_cli: Cli, tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "two", labels=("negative", "positive"))
    data = tmp_path / "three.csv"
    with open(data, "w", newline="") as f:
        csv.writer(f).writerows(
            [["text", "label"], *zip(TEXTS[:6], ["positive", "negative", "neutral"] * 2, strict=True)]
        )
    code, _, err = run_cli("evaluate", str(run_dir), "--data", str(data), "--neutral-margin", "0.2", "--name", "x")
    assert code == 0, err
    result = json.loads((run_dir / "eval" / "x" / "metrics.json").read_text())
    assert result["metrics"]["labels"] == ["negative", "neutral", "positive"]
    assert result["neutral_band"]["margin"] == 0.2
    for plot in ("confusion.png", "confusion_neutral_band.png", "neutral_margin.png"):
        assert (run_dir / "eval" / "x" / plot).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("path", "n"),
    [("semeval2016_task4a/test.tsv", 1797), ("sanders_twitter_corpus/full-corpus.csv", 3429)],
)
def test_real_labelled_sets(run_cli: Cli, run_dir: Path, shared_data_dir: Path, path: str, n: int) -> None:
    data = shared_data_dir / path
    code, _, err = run_cli("evaluate", str(run_dir), "--data", str(data), "--name", "real")
    assert code == 0, err
    result = json.loads((run_dir / "eval" / "real" / "metrics.json").read_text())
    assert result["n"] == n and sum(map(sum, result["metrics"]["confusion"])) == n
    assert result["neutral_band"] is None  # this model has no calibrated margin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv"], "file not found"),
        (["--label-map", "x=1"], "apply to --data"),
        (["--data", "t.csv", "--label-map", "happy=positive"], "label 'happy' never seen in training"),
        (["--data", "t.csv", "--name", "///"], "--name"),
    ],
)
def test_errors_are_one_line(run_cli: Cli, run_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "t.csv").write_text("text,label\nhi,positive\n")
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    code, _, err = run_cli("evaluate", str(run_dir), *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_evaluate_run_reports_the_band(run_cli: Cli, tmp_path: Path, small_data_dir: Path) -> None:
    """A tiny trained run: `evaluate RUN_DIR` adds the band's test metrics and the margin plot."""
    from tweetsent.data.dataset import DataConfig, load_dataset
    from tweetsent.training.config import make_config
    from tweetsent.training.run import train

    config = make_config("lstm", "fast", max_steps=8, batch_size=32, eval_every=8, log_every=4, precision="32-true")
    run_dir = tmp_path / "tiny"
    train(config, load_dataset(DataConfig(data_dir=str(small_data_dir))), run_dir, progress=False)
    assert run_cli("calibrate", str(run_dir), "--margin", "0.3")[0] == 0
    code, out, err = run_cli("evaluate", str(run_dir))
    assert code == 0, err
    summary = json.loads((run_dir / "summary.json").read_text())
    band = summary["neutral_band"]
    assert band["margin"] == 0.3 and set(band) == {"margin", "test", "test_seed"}
    assert sum(map(sum, band["test"]["confusion"])) == sum(map(sum, summary["test"]["confusion"]))
    assert band["test"]["loss"] == pytest.approx(summary["test"]["loss"])  # the band changes labels only
    assert (run_dir / "plots" / "neutral_margin.png").is_file()
    assert "neutral band" in out
    code, _, _ = run_cli("evaluate", str(run_dir), "--neutral-margin", "0")
    assert code == 0 and "neutral_band" not in json.loads((run_dir / "summary.json").read_text())
