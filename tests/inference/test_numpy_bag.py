"""The NumPy runtime of the `bag` student: the same probabilities as PyTorch, and no PyTorch imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run

# Empty after cleaning, one word, and longer than the model's 64 tokens.
EDGES = ["", "@someone", "good", " ".join(["good bad day"] * 40)]


@pytest.fixture
def bag_run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "bag", model="bag")


def test_numpy_and_torch_agree(bag_run: Path) -> None:
    texts = [*TEXTS, *EDGES]
    numpy_clf = tweetsent.load(bag_run, runtime="numpy")
    torch_clf = tweetsent.load(bag_run, runtime="torch")
    assert numpy_clf.runtime == "numpy" and torch_clf.runtime == "torch"
    a, b = numpy_clf.predict_proba(texts), torch_clf.predict_proba(texts)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a.std(axis=0).max() > 0.05  # the fixture's probabilities differ from tweet to tweet
    assert [p.label for p in numpy_clf.predict(texts)] == [p.label for p in torch_clf.predict(texts)]


def test_a_calibrated_prior_applies_in_both(bag_run: Path) -> None:
    bias = {"negative": 0.0, "neutral": 1.5, "positive": -0.5}
    (bag_run / "model" / "calibration.json").write_text(json.dumps({"class_bias": bias}))
    a = tweetsent.load(bag_run, runtime="numpy").predict_proba(TEXTS)
    np.testing.assert_allclose(a, tweetsent.load(bag_run, runtime="torch").predict_proba(TEXTS), atol=1e-5)


def test_auto_takes_numpy_for_a_bag_on_the_cpu_only(bag_run: Path, tmp_path: Path) -> None:
    assert tweetsent.load(bag_run).runtime == "numpy"
    assert tweetsent.load(bag_run, precision="fp32").runtime == "numpy"
    assert tweetsent.load(make_run(tmp_path / "lstm", model="lstm")).runtime == "torch"
    with pytest.raises(tweetsent.UserError, match="runs `bag` models"):
        tweetsent.load(tmp_path / "lstm", runtime="numpy")
    with pytest.raises(tweetsent.UserError, match="runtime must be one of"):
        tweetsent.load(bag_run, runtime="tensorflow")
    with pytest.raises(tweetsent.UserError, match="no ONNX export"):
        tweetsent.load(bag_run, runtime="onnx")


def test_the_packaged_model_answers_without_pytorch() -> None:
    code = (
        "import sys, tweetsent; p = tweetsent.load().predict(['what a great day'])[0]; "
        "print(p.label, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["positive", "False"]
