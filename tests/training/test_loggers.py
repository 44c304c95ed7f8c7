"""`--logger`: Lightning's own loggers, each writing to the run folder (or $MLFLOW_TRACKING_URI), beside
metrics.csv, whose columns stay as they are."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import tweetsent
from tests.training.test_any_data import write_labelled
from tweetsent.core.runs import RunFolder


def test_every_logger_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = write_labelled(tmp_path / "hand.csv", {"negative": 40, "neutral": 40, "positive": 40}, seed=0)
    run = tmp_path / "run"
    tweetsent.train(
        "lstm", data, out=run, max_steps=8, eval_every=4, log_every=2, min_count=1, logger="csv,tensorboard,mlflow"
    )
    logged = (run / "logs" / "metrics.csv").read_text()
    assert "train_loss" in logged and "val_loss" in logged  # the CSV logger, under logs/
    assert list((run / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    metrics = {p.name for p in (run / "mlruns").rglob("metrics/*")}
    assert {"train_loss", "val_loss", "val_sample_accuracy"} <= metrics
    with open(RunFolder(run).metrics, newline="") as f:
        assert tuple(next(csv.reader(f))) == RunFolder.METRICS_COLUMNS


def test_an_unknown_logger_is_one_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = write_labelled(tmp_path / "hand.csv", {"negative": 10, "positive": 10}, seed=0)
    code, _, err = run_cli("train", "lstm", "--data", str(data), "--logger", "csv,wandb", "--out", str(tmp_path / "r"))
    assert code == 2 and "--logger must be one or more of csv, tensorboard, mlflow" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
