"""The neutral band: a model trained on Sentiment140 has never seen a neutral tweet, so it never says
neutral. Predicting neutral whenever its positive and negative probabilities are within `margin` of each
other turns it into a three-class classifier. The margin is chosen on a separate labelled set that has
neutral tweets (maximum macro-F1 there) and stored beside the weights as `model/calibration.json`, which
`predict`, `serve`, `evaluate` and the Python API read.

Cheap to import (numpy only): the predict path reads the margin from here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.atomic import write_json
from tweetsent.errors import UserError
from tweetsent.evaluation.metrics import NEGATIVE, NEUTRAL, POSITIVE

CALIBRATION_FILE = "calibration.json"
# The best three-class accuracy on the 498 official test tweets of a model that never says neutral.
NEVER_NEUTRAL_CEILING = 359 / 498
CURVE_MARGINS = np.round(np.linspace(0.0, 1.0, 101), 4)


def decide(probs: np.ndarray, margin: float) -> np.ndarray:
    """Labels (N,) from probabilities (N, 3): the most probable class, except neutral where
    |p(positive) - p(negative)| < margin. A margin of 0 is plain argmax."""
    # float64 as in `margin_sweep`, so a margin chosen there splits the tweets exactly the same way here.
    probs = np.asarray(probs, dtype=np.float64)
    predicted = probs.argmax(axis=1)
    if margin > 0 and len(probs):
        gap = np.abs(probs[:, POSITIVE] - probs[:, NEGATIVE])
        predicted = np.where(gap < margin, NEUTRAL, predicted)
    return predicted


def _macro_f1(confusion: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices (..., 3, 3) over the classes present in gold or predictions, the same
    definition as `split_metrics`."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1).astype(np.float64)
    gold = confusion.sum(axis=-1)
    pred = confusion.sum(axis=-2)
    denominator = gold + pred
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = denominator > 0
    return np.asarray((f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1))


def margin_sweep(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct outcome of the band, exactly: (margins, macro-F1, accuracy). Tweets sorted by their
    positive-negative gap become neutral one by one; each margin is the midpoint between two consecutive
    distinct gaps (0 first: no band)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    gap = np.abs(probs[:, POSITIVE] - probs[:, NEGATIVE])
    order = np.argsort(gap, kind="stable")
    gap, gold, base = gap[order], labels[order], probs[order].argmax(axis=1)
    # cells[i] = one-hot of (gold, base prediction) of the i-th tweet by gap.
    cells = np.zeros((n, 9), dtype=np.int64)
    cells[np.arange(n), gold * 3 + base] = 1
    suffix = np.concatenate([np.cumsum(cells[::-1], axis=0)[::-1], np.zeros((1, 9), dtype=np.int64)])
    gold_onehot = np.zeros((n, 3), dtype=np.int64)
    gold_onehot[np.arange(n), gold] = 1
    prefix = np.concatenate([np.zeros((1, 3), dtype=np.int64), np.cumsum(gold_onehot, axis=0)])
    # k tweets in the band (k = 0 .. n-1), only where the k-th and (k+1)-th gaps differ.
    ks = np.concatenate([[0], np.flatnonzero(gap[1:] > gap[:-1]) + 1])
    confusion = suffix[ks].reshape(-1, 3, 3)
    confusion[:, :, NEUTRAL] += prefix[ks]
    margins = np.where(ks == 0, 0.0, (gap[np.maximum(ks - 1, 0)] + gap[np.minimum(ks, n - 1)]) / 2)
    accuracy = np.trace(confusion, axis1=1, axis2=2) / max(n, 1)
    return margins, _macro_f1(confusion), accuracy


def choose_margin(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The margin with the highest macro-F1 (the smallest such margin on ties) and that macro-F1."""
    if len(labels) == 0:
        raise UserError("no labelled tweets to calibrate on")
    margins, f1, _ = margin_sweep(probs, labels)
    best = int(np.argmax(f1))
    return float(margins[best]), float(f1[best])


def margin_curves(
    probs: np.ndarray, labels: np.ndarray, margins: Sequence[float] | np.ndarray = CURVE_MARGINS
) -> tuple[np.ndarray, np.ndarray]:
    """Three-class accuracy and macro-F1 at each margin (for plots)."""
    labels = np.asarray(labels, dtype=np.int64)
    confusion = np.zeros((len(margins), 3, 3), dtype=np.int64)
    for i, m in enumerate(margins):
        confusion[i] = np.bincount(labels * 3 + decide(probs, m), minlength=9).reshape(3, 3)
    accuracy = np.trace(confusion, axis1=1, axis2=2) / max(len(labels), 1)
    return accuracy, _macro_f1(confusion)


# ---------------------------------------------------------------------------------------------- storage


def read_calibration(model_dir: Path) -> dict[str, Any] | None:
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
        margin = float(info["neutral_margin"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: corrupt calibration file ({type(e).__name__}: {e}); run calibrate again") from None
    if not 0 <= margin <= 1:
        raise UserError(f"{path}: neutral_margin {margin} is outside 0..1; run calibrate again")
    return dict(info)


def check_margin(margin: float) -> float:
    if not 0 <= margin <= 1:
        raise UserError(f"--neutral-margin must be between 0 and 1 (0 disables the band), not {margin}")
    return float(margin)


def resolve_margin(model_dir: Path, override: float | None) -> float:
    """The margin to use: the override if given (0 disables), else the stored one, else 0."""
    if override is not None:
        return check_margin(override)
    info = read_calibration(model_dir)
    return float(info["neutral_margin"]) if info else 0.0


def write_calibration(model_dir: Path, info: dict[str, Any]) -> Path:
    path = Path(model_dir) / CALIBRATION_FILE
    write_json(path, {**info, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return path


# ---------------------------------------------------------------------------------------------- reports


def band_metrics(probs: np.ndarray, labels: np.ndarray, margin: float) -> dict[str, Any]:
    """split_metrics with the band's decisions (loss and binary accuracy do not depend on the band)."""
    from tweetsent.evaluation.metrics import split_metrics

    metrics = split_metrics(probs, labels, predicted=decide(probs, margin))
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

    from tweetsent.evaluation.plots import _save

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
    _save(fig, path)
    return path


def band_summary(
    probs: dict[str, np.ndarray], labels: dict[str, np.ndarray], margin: float, plot: Path, title: str
) -> dict[str, Any] | None:
    """For `evaluate RUN_DIR`, from each split's probabilities and gold labels: metrics with the band (None
    without a band) and the plot of accuracy and macro-F1 against the margin for every split."""
    curves = {name: margin_curves(p, labels[name]) for name, p in probs.items()}
    plot_margin_curves(
        curves, plot, title=title, chosen=margin, ceiling=NEVER_NEUTRAL_CEILING if "test" in probs else None
    )
    if margin <= 0:
        return None
    return {"margin": margin, **{name: band_metrics(p, labels[name], margin) for name, p in probs.items()}}
