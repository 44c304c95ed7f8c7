"""The Python API: `tweetsent.load` -> Classifier, equal to the artifact's own predictions, cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tweetsent
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.core.errors import UserError
from tweetsent.inference import classifier as classifier_module
from tweetsent.models.artifact import load_artifact, predict_split


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def test_load_run_dir_or_model_folder_and_predict(run_dir: Path) -> None:
    a, b = tweetsent.load(run_dir, precision="fp32"), tweetsent.load(run_dir / "model", precision="fp32")
    probs = a.predict_proba(TEXTS)
    assert probs.shape == (len(TEXTS), 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs, b.predict_proba(TEXTS))
    # The same numbers as the artifact's own encode + predict_split (the path training's evaluation uses).
    artifact = load_artifact(run_dir)
    expected = predict_split(artifact.model, artifact.encode(TEXTS), artifact.max_length)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)

    predictions = a.predict(TEXTS)
    assert [p.label for p in predictions] == [a.labels[k] for k in probs.argmax(axis=1)]
    for p, row in zip(predictions, probs, strict=True):
        assert list(p.probabilities) == ["negative", "neutral", "positive"]
        np.testing.assert_allclose(list(p.probabilities.values()), row, rtol=1e-6)
        assert json.loads(json.dumps(p.to_dict()))["label"] == p.label
    assert len({p.label for p in predictions}) > 1, "the fixture model should not give one answer to everything"
    # bf16 (the default where the CPU has it) stays close to fp32; a CPU without bf16 instructions refuses it.
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        np.testing.assert_allclose(tweetsent.load(run_dir, precision="bf16").predict_proba(TEXTS), probs, atol=0.05)
    else:
        with pytest.raises(UserError, match="no bf16 instructions"):
            tweetsent.load(run_dir, precision="bf16")


def test_order_and_chunking_do_not_change_answers(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clf = tweetsent.load(run_dir)
    whole = clf.predict_proba(TEXTS * 2)
    monkeypatch.setattr(classifier_module, "CHUNK", 3)
    seen: list[int] = []
    chunked = clf.predict_proba(TEXTS * 2, progress=seen.append)
    assert sorted(seen) == [1] + [3] * 5  # chunks finish in any order on the workers
    np.testing.assert_allclose(whole, chunked, rtol=1e-5, atol=1e-6)
    reversed_probs = clf.predict_proba(list(reversed(TEXTS)))
    np.testing.assert_allclose(reversed_probs[::-1], whole[: len(TEXTS)], rtol=1e-5, atol=1e-6)
    # One text on its own gets the same answer as inside a batch (padding never reaches it).
    np.testing.assert_allclose(clf.predict_proba(TEXTS[1])[0], whole[1], rtol=1e-5, atol=1e-6)


def test_parallel_workers_give_the_same_answers(run_dir: Path) -> None:
    import torch

    texts = [f"{t} {i}" for i in range(20) for t in TEXTS]
    one = tweetsent.load(run_dir, workers=1, batch_size=16).predict_proba(texts)
    threads = torch.get_num_threads()
    two = tweetsent.load(run_dir, workers=2, batch_size=16)
    seen: list[int] = []
    np.testing.assert_allclose(two.predict_proba(texts, progress=seen.append), one, rtol=1e-5, atol=1e-6)
    assert sum(seen) == len(texts) and len(seen) > 1
    assert torch.get_num_threads() == threads, "the caller's thread setting is left as it was"


def test_inputs(run_dir: Path) -> None:
    clf = tweetsent.load(run_dir)
    assert len(clf.predict("one tweet, not its characters")) == 1
    assert clf.predict_proba([]).shape == (0, 3) and clf.predict([]) == []
    assert len(clf.predict(t for t in TEXTS)) == len(TEXTS)
    with pytest.raises(TypeError, match="item 1 is int"):
        clf.predict(["fine", 3])  # type: ignore[list-item]


def test_neutral_margin_changes_labels_not_probabilities(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "two", labels=("negative", "positive"))
    plain = tweetsent.load(run_dir)
    banded = tweetsent.load(run_dir, neutral_margin=0.5)
    np.testing.assert_array_equal(plain.predict_proba(TEXTS), banded.predict_proba(TEXTS))
    probs = plain.predict_proba(TEXTS)
    gap = np.abs(probs[:, 1] - probs[:, 0])
    expected = [
        "neutral" if g < 0.5 else ("positive" if p[1] > p[0] else "negative") for g, p in zip(gap, probs, strict=True)
    ]
    assert [p.label for p in banded.predict(TEXTS)] == expected
    assert "neutral" in expected and set(expected) != {"neutral"}
    assert banded.decisions.names == ("negative", "neutral", "positive") and plain.decisions == plain.labels
    assert all(list(p.probabilities) == ["negative", "positive"] for p in banded.predict(TEXTS))
    with pytest.raises(UserError, match="between 0 and 1"):
        tweetsent.load(run_dir, neutral_margin=1.5)


def test_the_band_leaves_a_model_with_a_neutral_label_alone(run_dir: Path) -> None:
    plain, banded = tweetsent.load(run_dir), tweetsent.load(run_dir, neutral_margin=0.99)
    assert [p.label for p in banded.predict(TEXTS)] == [p.label for p in plain.predict(TEXTS)]


@pytest.mark.parametrize("damage", ["missing", "no-config", "weights", "calibration"])
def test_missing_or_corrupt_artifact_is_one_line(run_dir: Path, damage: str) -> None:
    path = run_dir
    if damage == "missing":
        path = run_dir.parent / "nope"
    elif damage == "no-config":
        (run_dir / "model" / "config.json").unlink()
    elif damage == "weights":
        (run_dir / "model" / "model.safetensors").write_bytes(b"\x00" * 10)
    else:
        (run_dir / "model" / "calibration.json").write_text("{not json")
    with pytest.raises(UserError) as info:
        tweetsent.load(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_predicting_imports_no_training_stack(run_dir: Path) -> None:
    code = (
        "import sys, tweetsent\n"
        f"clf = tweetsent.load({str(run_dir)!r})\n"
        "clf.predict(['good day'])\n"
        "heavy = ('lightning', 'sklearn', 'matplotlib', 'transformers', 'tweetsent.training')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(heavy)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, tweetsent; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "False", "`import tweetsent` should stay cheap"
