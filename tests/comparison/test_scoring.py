"""Timing and scoring share one pass of a slow model: probabilities kept by text (Remembered) from the timed pass;
later timing passes, and only those, go to the model itself."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.comparison.compare import _store_key
from tweetsent.comparison.scoring import Remembered, Store, predict_speed


class Counting:
    """A model that counts the texts it is asked to predict; its probabilities depend on the text only."""

    labels = ("negative", "positive")

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def predict_proba(self, texts: Sequence[str], batch_size: int = 512, html_decoded: bool = False) -> np.ndarray:
        self.seen += [(t, html_decoded) for t in texts]
        p = np.array([len(t) % 7 / 7 for t in texts])
        return np.stack([1 - p, p], axis=1)


class Wrapper:
    """Classifier's shape: a `predictor` it hands every call to."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    def predict_proba(self, texts: Sequence[str], html_decoded: bool = False) -> np.ndarray:
        return self.predictor.predict_proba(list(texts), 512, html_decoded)


def test_remembered_predicts_each_text_once_and_keeps_the_order() -> None:
    inner, store = Counting(), Store()
    model = Remembered(inner, store)
    first = model.predict_proba(["a", "bb", "a"], 512, True)
    assert inner.seen == [("a", True), ("bb", True)]
    again = model.predict_proba(["bb", "a", "ccc"], 512, True)
    assert inner.seen[2:] == [("ccc", True)]
    np.testing.assert_array_equal(again[:2], first[[1, 0]])
    model.predict_proba(["a"], 512, False)  # read otherwise: another prediction
    assert inner.seen[-1] == ("a", False) and model.labels == Counting.labels


def test_a_timed_pass_fills_the_store_and_later_passes_reach_the_model() -> None:
    """A fast model: the store's pass as scoring reads the groups, then the timed passes on the model itself, all
    the texts in one call as `predict` gives them."""
    inner, store = Counting(), Store()
    classifier = Wrapper(inner)
    texts = [(["one", "two", "three"], True), (["four"], False)]
    speed, timed = predict_speed(classifier, texts, repeats=3, max_seconds=60.0, store=store)
    assert timed == 4 and speed > 0
    assert set(store) == {(True, "one"), (True, "two"), (True, "three"), (False, "four")}
    assert len(inner.seen) == 4 + 4 + 3 * 4 and classifier.predictor is inner  # warm-up, store, three passes
    assert inner.seen[-4:] == [("one", False), ("two", False), ("three", False), ("four", False)]
    scored = Remembered(inner, store).predict_proba(["two", "one"], 512, True)
    assert len(inner.seen) == 20 and scored.shape == (2, 2)


def test_a_slow_model_is_timed_on_the_pass_that_fills_the_store() -> None:
    inner, store = Counting(), Store()
    speed, timed = predict_speed(Wrapper(inner), [(["a", "b"], True)], max_seconds=0.0, store=store)
    assert speed > 0
    assert timed == 2 and len(inner.seen) == 2 + 2 and set(store) == {(True, "a"), (True, "b")}


def test_a_copied_model_folder_reuses_the_runs_probabilities(tmp_path: Path) -> None:
    """An ensemble's members are copies of the runs' folders: the same weights and priors share one store; other
    priors or another runtime do not."""
    run = tmp_path / "runs" / "bert-hand" / "model"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"weights")
    (run / "config.json").write_text("{}")
    member = tmp_path / "ensemble" / "model" / "members" / "0"
    shutil.copytree(run, member)
    assert _store_key(member, "torch") == _store_key(run, "torch")
    assert _store_key(member, "onnx") != _store_key(run, "torch")
    (member / "calibration.json").write_text('{"class_bias": [0.1, 0, 0]}')
    assert _store_key(member, "torch") != _store_key(run, "torch")
