"""The class prior correction: offsets chosen for macro-F1, stored by `calibrate`, applied by every loader."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.core.labels import with_prior
from tweetsent.evaluation.priors import choose_class_bias

Cli = Callable[..., tuple[int, str, str]]


def _skewed(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that separate three balanced classes well once class 0's extra log-odds (1.5) are removed."""
    rng = np.random.default_rng(seed)
    gold = np.repeat(np.arange(3), n // 3)
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), gold] += 2.0
    logits[:, 0] += 1.5
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True), gold


def test_offsets_undo_a_skewed_prior() -> None:
    probs, gold = _skewed()
    bias, before, after = choose_class_bias(probs, gold)
    assert bias[0] == 0.0 and after > before + 0.05
    # The other classes are raised against class 0 by about the skew.
    assert 1.0 <= bias[1] <= 2.0 and 1.0 <= bias[2] <= 2.0
    predicted = (np.log(probs) + bias).argmax(1)
    assert (predicted == 0).mean() == pytest.approx(1 / 3, abs=0.06)


def test_a_model_without_skew_keeps_offsets_near_zero() -> None:
    gold = np.repeat(np.arange(3), 50)
    probs = np.full((150, 3), 0.1)
    probs[np.arange(150), gold] = 0.8
    bias, before, after = choose_class_bias(probs, gold)
    assert before == after == 1.0 and np.all(bias == 0)


def test_with_prior() -> None:
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], dtype=np.float32)
    assert with_prior(p, None) is p
    q = with_prior(p, np.array([0.0, np.log(2.0), 0.0]))
    expected = p * np.array([1, 2, 1])
    assert np.allclose(q, expected / expected.sum(axis=1, keepdims=True), atol=1e-6) and q.dtype == p.dtype
    assert np.allclose(with_prior(p, None, temperature=0.5), p**2 / (p**2).sum(axis=1, keepdims=True), atol=1e-6)


def _labelled(path: Path) -> Path:
    texts = [t for t in TEXTS if t] * 4
    labels = (["negative", "neutral", "positive"] * 30)[: len(texts)]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


def test_calibrate_stores_offsets_that_every_loader_applies(run_cli: Cli, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    data = _labelled(tmp_path / "dev.csv")
    texts = [t for t in TEXTS if t]
    raw = tweetsent.load(run).predict_proba(texts)
    code, out, err = run_cli("calibrate", str(run), "--data", str(data))
    assert code == 0, err
    info = json.loads((run / "model" / "calibration.json").read_text())
    bias = np.array([info["class_bias"][n] for n in ("negative", "neutral", "positive")])
    assert info["macro_f1_after"] >= info["macro_f1_before"] and "class log-offsets" in out
    assert np.allclose(tweetsent.load(run).predict_proba(texts), with_prior(raw, bias), atol=1e-6)
    # Calibrating again starts from the model's own probabilities: the same offsets.
    assert run_cli("calibrate", str(run), "--data", str(data))[0] == 0
    assert json.loads((run / "model" / "calibration.json").read_text())["class_bias"] == info["class_bias"]


def test_a_model_folder_outside_a_run_needs_data(run_cli: Cli, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    code, _, err = run_cli("calibrate", str(run))
    assert code == 2 and "no validation split; use --data FILE" in err and len(err.strip().splitlines()) == 1


def test_a_damaged_calibration_is_one_line(run_cli: Cli, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (run / "model" / "calibration.json").write_text(json.dumps({"class_bias": {"happy": 0.5}}))
    code, _, err = run_cli("predict", str(run), "good day")
    assert code == 2 and "class_bias names happy" in err and len(err.strip().splitlines()) == 1
