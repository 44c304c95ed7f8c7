"""The numbers every run reports (SPEC 6), for any label set: loss, accuracy, binary accuracy, macro-F1,
macro-averaged recall (SemEval's measure) and the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tweetsent.core.labels import NEGATIVE, POSITIVE, LabelSet, decide


def split_metrics(
    probs: np.ndarray,
    gold: np.ndarray,
    labels: LabelSet,
    space: LabelSet | None = None,
    predicted: np.ndarray | None = None,
) -> dict[str, Any]:
    """`probs` (N, len(labels)) over the model's labels; `gold` (N,) indices into `space` (default: `labels`),
    the labels decisions are scored in; `predicted` the decided indices into `space` when they are not the
    argmax of `probs` (a neutral band).

    loss: cross-entropy over the tweets whose gold label the model has (None if there are none).
    accuracy: over every tweet. accuracy_binary: where the model and the data have negative and positive, over
    the gold-negative and gold-positive tweets, taking the larger of the two probabilities (else None).
    macro_f1: over the labels present in gold or predictions; macro_recall: over the gold labels present.
    confusion: rows gold, columns predicted, in the order of `space`."""
    # sklearn costs ~1 s to import: only code that computes metrics pays it, never `predict`.
    from sklearn.metrics import confusion_matrix, f1_score, recall_score

    space = space or labels
    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.int64)
    predicted = decide(probs, labels, 0.0, space) if predicted is None else np.asarray(predicted, dtype=np.int64)
    model_column = space.mapping_to(labels)[gold] if len(gold) else np.zeros(0, dtype=np.int64)
    known = model_column >= 0
    picked = probs[np.flatnonzero(known), model_column[known]]
    loss = float(-np.log(np.clip(picked, 1e-12, None)).mean()) if known.any() else None
    present = sorted(set(gold.tolist()) | set(predicted.tolist()))
    gold_present = sorted(set(gold.tolist()))
    return {
        "loss": loss,
        "accuracy": float((predicted == gold).mean()) if len(gold) else 0.0,
        "accuracy_binary": _binary(probs, gold, labels, space),
        "macro_f1": float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0)),
        "macro_recall": float(recall_score(gold, predicted, labels=gold_present, average="macro", zero_division=0)),
        "confusion": confusion_matrix(gold, predicted, labels=list(range(len(space)))).tolist(),
        "labels": space.to_list(),
        "n": len(gold),
    }


def _binary(probs: np.ndarray, gold: np.ndarray, labels: LabelSet, space: LabelSet) -> float | None:
    if not (labels.polar and space.polar):
        return None
    neg, pos = space.index(NEGATIVE), space.index(POSITIVE)
    polar = (gold == neg) | (gold == pos)
    if not polar.any():
        return None
    says_positive = probs[polar, labels.index(POSITIVE)] > probs[polar, labels.index(NEGATIVE)]
    return float((says_positive == (gold[polar] == pos)).mean())


def confusion_macro_f1(confusion: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices (..., K, K) over the classes present in gold or predictions, the same
    definition as `split_metrics`."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1).astype(np.float64)
    gold = confusion.sum(axis=-1)
    pred = confusion.sum(axis=-2)
    denominator = gold + pred
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = denominator > 0
    return np.asarray((f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1))


# The figures averaged over seeds; the rest of a metrics dict (the confusion matrix, label lists) is the first seed's.
SPREAD_KEYS = ("loss", "accuracy", "accuracy_binary", "macro_f1", "macro_recall")


def mean_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1) of one figure over seeds; no deviation from a single seed."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else None


def mean_fields(records: Sequence[Mapping[str, object]], keys: tuple[str, ...]) -> dict[str, float]:
    """The mean over `records` (one per seed) of each of `keys` that every record has as a number."""
    out = {}
    for key in keys:
        values = [r.get(key) for r in records]
        if all(isinstance(v, int | float) for v in values):
            out[key] = mean_sd([float(v) for v in values])[0]  # type: ignore[arg-type]
    return out


def seed_spread(per_seed: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One set's metrics over several seeds: the first seed's dict with each figure of SPREAD_KEYS replaced by its
    mean over the seeds and `sd` holding their standard deviations (None where a seed has no such figure)."""
    present = [m for m in per_seed if m is not None]
    if not present:
        return None
    out = dict(present[0])
    sd: dict[str, float | None] = {}
    for key in SPREAD_KEYS:
        values = [m.get(key) for m in present]
        if key in out and all(isinstance(v, int | float) for v in values):
            out[key], sd[key] = mean_sd([float(v) for v in values])  # type: ignore[arg-type]
    out["sd"] = sd
    out["seed_count"] = len(present)
    return out
