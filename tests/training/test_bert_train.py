"""bert on the shared training engine: a short real fine-tune of the packaged MiniLM, its artifacts and their
reload, gradient accumulation, and two-process DDP (the last two on a tiny local BERT, for speed)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.bert_support import make_tiny_bert
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.evaluation.evaluate import evaluate_run
from tweetsent.models.artifact import load_single, predict_split
from tweetsent.training.config import make_config
from tweetsent.training.run import train


def s140(data: Path) -> Dataset:
    return load_dataset(DataConfig(data_dir=str(data)))


def read_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import TEST_ROWS, tweet_rows, write_csv

    folder = tmp_path_factory.mktemp("data")
    write_csv(folder / "training.1600000.polarity_text.csv.gz", tweet_rows(2000))
    write_csv(folder / "testdata.manual.2009.06.14.csv", TEST_ROWS, encoding="latin-1")
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def minilm_run(data: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The seed preset's optimiser (AdamW 1e-5 / 1e-2) on 480 fixture tweets: 30 steps of 16, 32 tokens."""
    os.environ["TWEETSENT_CACHE_DIR"] = str(cache)
    config = make_config(
        "bert", "seed", max_steps=30, batch_size=16, eval_every=10, train_size=480, val_size=60, max_length=32,
        log_every=5,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("minilm") / "run"
    summary = train(config, s140(data), out, progress=False)
    assert summary is not None
    return out, summary


def test_fine_tuning_lowers_the_loss(minilm_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = minilm_run
    train_rows = [r for r in read_rows(run_dir) if r["split"] == "train"]
    assert [int(r["step"]) for r in train_rows] == list(range(5, 31, 5))
    first, last = float(train_rows[0]["loss"]), float(train_rows[-1]["loss"])
    assert last < first / 2
    val = [r for r in read_rows(run_dir) if r["split"] == "val"]
    assert float(val[-1]["loss"]) < float(val[0]["loss"])
    assert summary["val"]["accuracy"] > 0.9 and summary["steps"] == 30


def test_same_artifacts_as_the_recurrent_models(minilm_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = minilm_run
    for name in ("config.json", "metrics.csv", "summary.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt"):
        assert (run_dir / name).is_file(), name
    for name in ("train_curves", "eval_curves", "confusion_val", "confusion_test", "confusion_test_seed"):
        assert (run_dir / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    ours = json.loads((run_dir / "model/config.json").read_text())
    assert ours["family"] == "pretrained" and ours["max_length"] == 32 and ours["labels"] == ["negative", "positive"]
    assert ours["train_config"]["lr"] == 1e-5 and ours["train_config"]["head_lr"] == 1e-2
    encoder = run_dir / "model" / ours["encoder"]
    hf_config = json.loads((encoder / "config.json").read_text())
    assert hf_config["id2label"] == {"0": "negative", "1": "positive"}
    assert (encoder / "model.safetensors").is_file() and (encoder / "tokenizer.json").is_file()
    for split in ("test", "test_seed"):
        assert {"loss", "accuracy", "accuracy_binary", "macro_f1", "confusion"} <= set(summary[split])


def test_reload_gives_identical_probabilities(minilm_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, summary = minilm_run
    artifact = load_single(run_dir)
    assert artifact.family == "pretrained"
    texts = ["I love this, best day ever", "so sad and tired", "@bob #fun http://x.co great"]
    split = artifact.encode(texts)
    probs = predict_split(artifact.model, split, artifact.max_length)
    again = load_single(run_dir / "model")
    np.testing.assert_array_equal(probs, predict_split(again.model, again.encode(texts), again.max_length))
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert probs[0].argmax() == 1 and probs[1].argmax() == 0
    # `evaluate` recomputes every split from model/ alone and gets the training run's numbers.
    recomputed = evaluate_run(run_dir)
    for name in ("val", "test", "test_seed"):
        assert recomputed[name]["confusion"] == summary[name]["confusion"]
        assert recomputed[name]["loss"] == pytest.approx(summary[name]["loss"], rel=1e-5)


def test_loading_an_artifact_does_not_import_lightning(minilm_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, _ = minilm_run
    code = (
        "import sys; from tweetsent.models.artifact import load_artifact; "
        f"a = load_artifact({str(run_dir)!r}); a.encode(['hi']); "
        "assert not [m for m in sys.modules if m.startswith('lightning')], 'lightning imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]


def test_gradient_accumulation(data: Path, cache: Path, tiny_bert: Path, tmp_path: Path) -> None:
    os.environ["TWEETSENT_CACHE_DIR"] = str(cache)
    config = make_config(
        "bert", "fast", pretrained=str(tiny_bert), max_steps=6, batch_size=8, grad_accum=2, eval_every=3,
        train_size=200, val_size=40, max_length=16, precision="32-true", log_every=3,
    )  # fmt: skip
    summary = train(config, s140(data), tmp_path / "run", progress=False)
    assert summary is not None and summary["steps"] == 6
    rows = read_rows(tmp_path / "run")
    assert [int(r["step"]) for r in rows if r["split"] == "train"] == [3, 6]
    assert [int(r["step"]) for r in rows if r["split"] == "test"] == [3, 6]
    # Each step took two batches of 8: 12 batches, 96 tweets, half an epoch of 200.
    assert summary["epochs"] == pytest.approx(96 / 200, abs=0.05)


def test_two_process_ddp_on_cpu(data: Path, cache: Path, tiny_bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable, "-m", "tweetsent.cli.main", "train", "bert", "--pretrained", str(tiny_bert),
            "--out", str(out), "--data-dir", str(data), "--max-steps", "4", "--batch-size", "8",
            "--train-size", "200", "--val-size", "40", "--max-length", "16", "--eval-every", "2",
            "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", "--precision", "32-true", "--no-progress",
        ],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "TWEETSENT_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4
    assert (out / "model/encoder/model.safetensors").is_file()
    assert {r["split"] for r in read_rows(out)} == {"train", "val", "test", "test_seed"}
    assert load_single(out).family == "pretrained"
