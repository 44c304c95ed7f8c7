from __future__ import annotations

import numpy as np
import pytest

from tweetsent.core.labels import LabelSet
from tweetsent.core.metrics import split_metrics

THREE = LabelSet(("negative", "neutral", "positive"))
TWO = LabelSet(("negative", "positive"))


def test_binary_accuracy_ignores_neutral_gold_and_neutral_scores() -> None:
    labels = np.array([0, 1, 2, 2])
    probs = np.array(
        [
            [0.2, 0.5, 0.3],  # gold neg: argmax neutral, binary says positive (0.3 > 0.2): wrong both ways
            [0.1, 0.1, 0.8],  # gold neutral: counts only for 3-class
            [0.1, 0.6, 0.3],  # gold pos: 3-class wrong, binary right
            [0.05, 0.05, 0.9],
        ]
    )
    m = split_metrics(probs, labels, THREE)
    assert m["accuracy"] == pytest.approx(1 / 4)
    assert m["accuracy_binary"] == pytest.approx(2 / 3)
    assert m["confusion"] == [[0, 1, 0], [0, 0, 1], [0, 1, 1]]
    assert m["loss"] == pytest.approx(-np.mean(np.log([0.2, 0.1, 0.3, 0.9])))
    assert m["labels"] == ["negative", "neutral", "positive"]


def test_macro_f1_over_present_classes_and_macro_recall_over_gold_ones() -> None:
    labels = np.array([0, 0, 2, 2])
    probs = np.array([[0.9, 0, 0.1], [0.2, 0, 0.8], [0.1, 0, 0.9], [0.3, 0, 0.7]])
    m = split_metrics(probs, labels, THREE)
    # negative: P=1, R=.5 -> F1 2/3; positive: P=2/3, R=1 -> F1 .8
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["macro_recall"] == pytest.approx((0.5 + 1.0) / 2)


def test_a_two_label_model_on_three_label_gold_loses_only_the_neutral_tweets() -> None:
    space = TWO.with_neutral()
    gold = np.array([0, 1, 2])  # negative, neutral, positive in `space`
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    m = split_metrics(probs, gold, TWO, space)
    assert m["confusion"] == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["accuracy_binary"] == pytest.approx(1.0)
    # The loss counts the tweets whose gold label the model has: not the neutral one.
    assert m["loss"] == pytest.approx(-np.mean(np.log([0.9, 0.8])))


def test_labels_without_negative_and_positive_have_no_binary_accuracy() -> None:
    labels = LabelSet(("angry", "happy", "sad"))
    m = split_metrics(np.eye(3), np.array([0, 1, 2]), labels)
    assert m["accuracy"] == 1.0 and m["accuracy_binary"] is None
