"""Training runs end to end: on the fixture data (fast) and on a small real subset (the loss must fall)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.evaluation.evaluate import evaluate_run
from tweetsent.models.artifact import load_single, predict_split
from tweetsent.training.config import make_config
from tweetsent.training.run import train

Cli = Callable[..., tuple[int, str, str]]


def tiny(model: str = "lstm", **overrides: Any) -> Any:
    settings = {"max_steps": 40, "batch_size": 32, "eval_every": 10, "log_every": 5, "precision": "32-true"}
    return make_config(model, "fast", **{**settings, **overrides})


def s140(data: Path) -> Dataset:
    return load_dataset(DataConfig(data_dir=str(data)))


def read_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    from tests.conftest import TEST_ROWS, tweet_rows, write_csv

    root = tmp_path_factory.mktemp("run")
    data = root / "data"
    data.mkdir()
    write_csv(data / "training.1600000.polarity_text.csv.gz", tweet_rows(2000))
    write_csv(data / "testdata.manual.2009.06.14.csv", TEST_ROWS, encoding="latin-1")
    os.environ["TWEETSENT_CACHE_DIR"] = str(root / "cache")
    summary = train(tiny("bilstm"), s140(data), root / "out", progress=False)
    assert summary is not None
    return root / "out", summary, data


def test_metrics_rows_at_the_right_steps(fixture_run: tuple[Path, dict[str, Any], Path]) -> None:
    run_dir, _, _ = fixture_run
    rows = read_rows(run_dir)
    assert list(rows[0])[:5] == ["step", "epoch", "split", "loss", "accuracy"]  # SPEC's five, then extras
    seconds = [float(r["seconds"]) for r in rows if r["split"] == "train"]
    assert seconds == sorted(seconds) and seconds[-1] > 0
    splits = ("train", "val", "test", "test_seed")
    steps = {split: [int(r["step"]) for r in rows if r["split"] == split] for split in splits}
    assert steps["train"] == list(range(5, 41, 5))
    assert steps["test"] == steps["test_seed"] == [10, 20, 30, 40]  # every test set at the same cadence
    assert set(steps["val"]) == {10, 20, 30, 40} | {s for s in steps["val"] if s % 10}  # plus epoch ends
    assert all(0 <= float(r["accuracy"]) <= 1 and float(r["loss"]) > 0 for r in rows)
    assert {r["split"] for r in rows} == set(splits)


def test_summary_keys_and_ranges(fixture_run: tuple[Path, dict[str, Any], Path]) -> None:
    run_dir, summary, _ = fixture_run
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("model", "epochs", "steps", "best_step", "train_seconds", "train_tweets_per_second"):
        assert key in on_disk
    assert on_disk["steps"] == 40 and 0 < on_disk["best_step"] <= 40
    assert on_disk["train_tweets_per_second"] > 0
    for split, n in (("test", 6), ("test_seed", 4)):
        m = on_disk[split]
        assert set(m) == {"loss", "accuracy", "accuracy_binary", "macro_f1", "macro_recall", "confusion", "labels"}
        assert m["labels"] == ["negative", "neutral", "positive"]  # the model's two labels, and neutral from the data
        assert sum(map(sum, m["confusion"])) == n
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["accuracy_binary"] <= 1
    assert {"loss", "accuracy"} <= set(on_disk["val"])
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train"]["model"] == "bilstm" and config["data"]["min_count"] == 2
    assert on_disk["classes"] == ["negative", "positive"] and on_disk["tests"] == ["test", "test_seed"]


def test_plots_and_checkpoints_written(fixture_run: tuple[Path, dict[str, Any], Path]) -> None:
    run_dir, _, _ = fixture_run
    for name in ("train_curves", "eval_curves", "confusion_val", "confusion_test", "confusion_test_seed"):
        assert (run_dir / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()


def test_model_reloads_with_identical_predictions(fixture_run: tuple[Path, dict[str, Any], Path]) -> None:
    run_dir, summary, data = fixture_run
    artifact = load_single(run_dir)
    assert not any("lightning" in m for m in sys.modules if m.startswith("tweetsent.inference"))
    test = s140(data)["test"]
    probs = predict_split(artifact.model, test, artifact.max_length)
    again = predict_split(load_single(run_dir / "model").model, test, artifact.max_length)
    np.testing.assert_array_equal(probs, again)
    # `evaluate` recomputes the summary from model/ and gets the training run's numbers.
    recomputed = evaluate_run(run_dir)
    for split in ("val", "test", "test_seed"):
        assert recomputed[split]["confusion"] == summary[split]["confusion"]
        assert recomputed[split]["loss"] == pytest.approx(summary[split]["loss"], rel=1e-6)


def test_resume_after_interruption_matches_an_uninterrupted_run(
    fixture_run: tuple[Path, dict[str, Any], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, data = fixture_run
    config = tiny("lstm", max_steps=60)
    straight = train(config, s140(data), tmp_path / "straight", progress=False)

    class Killed(Exception):
        pass

    class Kill(L.Callback):  # dies like a killed process: no checkpoint beyond the periodic one at step 30
        def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
            if trainer.global_step == 35:
                raise Killed

    original = L.Trainer.__init__

    def with_interrupt(self: L.Trainer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "callbacks": [*kwargs["callbacks"], Kill()]})

    monkeypatch.setattr(L.Trainer, "__init__", with_interrupt)
    with pytest.raises(Killed):
        train(config, s140(data), tmp_path / "resumed", progress=False)
    monkeypatch.setattr(L.Trainer, "__init__", original)
    assert torch.load(tmp_path / "resumed/checkpoints/last.ckpt", weights_only=False)["global_step"] == 30
    resumed = train(config, s140(data), tmp_path / "resumed", resume=True, progress=False)
    assert straight is not None and resumed is not None
    assert resumed["steps"] == straight["steps"] == 60
    a = load_single(tmp_path / "straight").model.state_dict()
    b = load_single(tmp_path / "resumed").model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)

    # Wall time differs between runs; every other column must match, and time keeps rising across the resume.
    def timeless(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    resumed_rows = read_rows(tmp_path / "resumed")
    assert timeless(read_rows(tmp_path / "straight")) == timeless(resumed_rows)
    train_seconds = [float(r["seconds"]) for r in resumed_rows if r["split"] == "train"]
    assert train_seconds == sorted(train_seconds)
    # Lightning's own log of the first part survives; the resumed part logs beside it.
    assert (tmp_path / "resumed/logs/metrics.csv").is_file()
    assert (tmp_path / "resumed/logs/resume-1/metrics.csv").is_file()


def test_two_process_ddp_on_cpu(fixture_run: tuple[Path, dict[str, Any], Path], tmp_path: Path) -> None:
    _, _, data = fixture_run
    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tweetsent.cli.main",
            "train",
            "lstm",
            "--out",
            str(out),
            "--data-dir",
            str(data),
            "--max-steps",
            "20",
            "--batch-size",
            "32",
            "--eval-every",
            "10",
            "--accelerator",
            "cpu",
            "--devices",
            "2",
            "--strategy",
            "ddp",
            "--precision",
            "32-true",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 20
    for name in ("config.json", "metrics.csv", "model/model.safetensors", "plots/confusion_test.png"):
        assert (out / name).is_file()
    assert {r["split"] for r in read_rows(out)} == {"train", "val", "test", "test_seed"}


def test_seed_preset_is_the_study() -> None:
    for model, epochs in (("lstm", 30), ("bilstm", 18), ("pyramid", 8)):
        c = make_config(model, "seed")
        assert (c.batch_size, c.lr, c.max_length, c.eval_every, c.epochs) == (16, 1e-3, 40, 200, epochs)
        assert not c.train_embeddings and c.schedule == "constant"
    fast = make_config("bilstm", "fast")
    assert fast.bucket and fast.batch_size > 16
    with pytest.raises(UserError, match="multiple of 8"):
        make_config("pyramid", "seed", fixed_length=36)


@pytest.mark.data
def test_a_few_hundred_real_steps_lower_the_loss(
    real_prepared: Any, real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(real_prepared.path.parent))
    config = make_config(
        "bilstm", "fast", train_size=30_000, val_size=2_000, max_steps=300, batch_size=64, eval_every=100
    )
    dataset = load_dataset(DataConfig(data_dir=str(real_data_dir), download=False))
    summary = train(config, dataset, tmp_path / "real", progress=False)
    assert summary is not None
    train_rows = [r for r in read_rows(tmp_path / "real") if r["split"] == "train"]
    first, last = float(train_rows[0]["loss"]), float(train_rows[-1]["loss"])
    assert last < first - 0.1
    assert summary["val"]["accuracy"] > 0.65
    assert summary["test"]["accuracy_binary"] > 0.65
