"""The neutral band: a model trained on negative and positive tweets only (Sentiment140's emoticon labels) never
says neutral. Predicting neutral whenever its positive and negative probabilities are within `margin` of each
other turns it into a three-class classifier. The margin is chosen on a separate labelled set that has
neutral tweets (maximum macro-F1 there) and stored beside the weights as `model/calibration.json`, which
`predict`, `serve`, `evaluate` and the Python API read (models/artifact.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEGATIVE, NEUTRAL, POSITIVE, LabelSet, decide
from tweetsent.core.metrics import confusion_macro_f1, split_metrics

CURVE_MARGINS = np.round(np.linspace(0.0, 1.0, 101), 4)


def margin_sweep(probs: np.ndarray, gold: np.ndarray, labels: LabelSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct outcome of the band, exactly: (margins, macro-F1, accuracy), `gold` indexing
    `labels.with_neutral()`. Tweets sorted by their positive-negative gap become neutral one by one; each margin
    is the midpoint between two consecutive distinct gaps (0 first: no band)."""
    space = labels.with_neutral()
    k, neutral = len(space), space.index(NEUTRAL)
    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.int64)
    n = len(gold)
    gap = np.abs(probs[:, labels.index(POSITIVE)] - probs[:, labels.index(NEGATIVE)])
    order = np.argsort(gap, kind="stable")
    gap, gold = gap[order], gold[order]
    base = decide(probs[order], labels, 0.0, space)
    # cells[i] = one-hot of (gold, base prediction) of the i-th tweet by gap.
    cells = np.zeros((n, k * k), dtype=np.int64)
    cells[np.arange(n), gold * k + base] = 1
    suffix = np.concatenate([np.cumsum(cells[::-1], axis=0)[::-1], np.zeros((1, k * k), dtype=np.int64)])
    gold_onehot = np.zeros((n, k), dtype=np.int64)
    gold_onehot[np.arange(n), gold] = 1
    prefix = np.concatenate([np.zeros((1, k), dtype=np.int64), np.cumsum(gold_onehot, axis=0)])
    # j tweets in the band (j = 0 .. n-1), only where the j-th and (j+1)-th gaps differ.
    js = np.concatenate([[0], np.flatnonzero(gap[1:] > gap[:-1]) + 1])
    confusion = suffix[js].reshape(-1, k, k)
    confusion[:, :, neutral] += prefix[js]
    margins = np.where(js == 0, 0.0, (gap[np.maximum(js - 1, 0)] + gap[np.minimum(js, n - 1)]) / 2)
    accuracy = np.trace(confusion, axis1=1, axis2=2) / max(n, 1)
    return margins, confusion_macro_f1(confusion), accuracy


def choose_margin(probs: np.ndarray, gold: np.ndarray, labels: LabelSet) -> tuple[float, float]:
    """The margin with the highest macro-F1 (the smallest such margin on ties) and that macro-F1."""
    if len(gold) == 0:
        raise UserError("no labelled tweets to calibrate on")
    margins, f1, _ = margin_sweep(probs, gold, labels)
    best = int(np.argmax(f1))
    return float(margins[best]), float(f1[best])


def margin_curves(
    probs: np.ndarray, gold: np.ndarray, labels: LabelSet, margins: Sequence[float] | np.ndarray = CURVE_MARGINS
) -> tuple[np.ndarray, np.ndarray]:
    """Three-class accuracy and macro-F1 at each margin (for plots)."""
    space = labels.with_neutral()
    k = len(space)
    gold = np.asarray(gold, dtype=np.int64)
    confusion = np.zeros((len(margins), k, k), dtype=np.int64)
    for i, m in enumerate(margins):
        confusion[i] = np.bincount(gold * k + decide(probs, labels, m, space), minlength=k * k).reshape(k, k)
    accuracy = np.trace(confusion, axis1=1, axis2=2) / max(len(gold), 1)
    return accuracy, confusion_macro_f1(confusion)


def band_metrics(
    probs: np.ndarray, gold: np.ndarray, labels: LabelSet, space: LabelSet, margin: float
) -> dict[str, Any]:
    """split_metrics with the band's decisions (loss and binary accuracy do not depend on the band)."""
    metrics = split_metrics(probs, gold, labels, space, predicted=decide(probs, labels, margin, space))
    metrics.pop("n", None)
    return metrics


def plot_margin_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    *,
    title: str,
    chosen: float | None = None,
    ceiling: float | None = None,
) -> Path:
    """Three-class accuracy (%) and macro-F1 against the margin, one line per data set ({name: (accuracy,
    macro-F1)} on CURVE_MARGINS); the chosen margin and the never-neutral ceiling marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tweetsent.training.plots import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, (accuracy, f1) in curves.items():
        left.plot(CURVE_MARGINS, np.asarray(accuracy) * 100, label=name)
        right.plot(CURVE_MARGINS, f1, label=name)
    if ceiling is not None:
        left.axhline(ceiling * 100, color="grey", linestyle=":", label=f"never-neutral ceiling {ceiling:.1%}")
    for ax, ylabel in ((left, "three-class accuracy (%)"), (right, "macro-F1")):
        if chosen:
            ax.axvline(chosen, color="black", linestyle="--", linewidth=1, label=f"calibrated margin {chosen:.3f}")
        ax.set_xlabel("neutral margin (neutral when |p(pos) - p(neg)| < margin)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)
    return path
