from __future__ import annotations

import numpy as np
import pytest

from tweetsent.evaluation.metrics import split_metrics


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
    m = split_metrics(probs, labels)
    assert m["accuracy"] == pytest.approx(1 / 4)
    assert m["accuracy_binary"] == pytest.approx(2 / 3)
    assert m["confusion"] == [[0, 1, 0], [0, 0, 1], [0, 1, 1]]
    assert m["loss"] == pytest.approx(-np.mean(np.log([0.2, 0.1, 0.3, 0.9])))


def test_macro_f1_over_present_classes() -> None:
    labels = np.array([0, 0, 2, 2])
    probs = np.array([[0.9, 0, 0.1], [0.2, 0, 0.8], [0.1, 0, 0.9], [0.3, 0, 0.7]])
    m = split_metrics(probs, labels)
    # negative: P=1, R=.5 -> F1 2/3; positive: P=2/3, R=1 -> F1 .8
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
