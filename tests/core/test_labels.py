from __future__ import annotations

import numpy as np
import pytest

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, decide, evaluation_space


def test_label_order_standard_names_first_then_sorted() -> None:
    assert LabelSet.of(["positive", "negative", "neutral"]).names == ("negative", "neutral", "positive")
    assert LabelSet.of(["irrelevant", "positive", "negative", "neutral"]).names[-1] == "irrelevant"
    assert LabelSet.of(["10", "9", "1"]).names == ("1", "9", "10")  # numerically
    assert LabelSet.of(["b", "a"], order=["b", "a"]).names == ("b", "a")


def test_bandable_only_for_negative_positive_without_neutral() -> None:
    assert LabelSet(("negative", "positive")).bandable
    assert not LabelSet(("negative", "neutral", "positive")).bandable
    assert not LabelSet(("happy", "sad")).bandable
    # Any other label is no place for the band: it would override `irrelevant` whenever pos and neg are close.
    assert not LabelSet(("negative", "positive", "irrelevant")).bandable
    assert LabelSet(("negative", "positive")).with_neutral().names == ("negative", "neutral", "positive")


def test_decide_applies_the_band_only_to_bandable_models() -> None:
    two = LabelSet(("negative", "positive"))
    probs = np.array([[0.55, 0.45], [0.9, 0.1], [0.2, 0.8]])
    assert decide(probs, two, 0.0).tolist() == [0, 0, 1]
    assert decide(probs, two, 0.2).tolist() == [1, 0, 2]  # indices into negative, neutral, positive
    three = LabelSet(("negative", "neutral", "positive"))
    assert decide(np.array([[0.4, 0.2, 0.4001]]), three, 0.5).tolist() == [2]  # no band on a 3-label model


def test_evaluation_space_refuses_labels_the_model_never_predicts() -> None:
    two = LabelSet(("negative", "positive"))
    assert evaluation_space(two, LabelSet(("negative", "neutral", "positive"))).names == (
        "negative",
        "neutral",
        "positive",
    )
    with pytest.raises(UserError, match="'irrelevant' never seen in training"):
        evaluation_space(two.with_neutral(), LabelSet(("neutral", "irrelevant")))
