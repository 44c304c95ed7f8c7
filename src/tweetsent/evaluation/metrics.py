"""The numbers every run reports (SPEC 6): loss, 3-class accuracy, binary accuracy, macro-F1, confusion."""

from __future__ import annotations

from typing import Any

import numpy as np

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
LABELS = ("negative", "neutral", "positive")


def split_metrics(probs: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None = None) -> dict[str, Any]:
    """`probs` (N, 3) class probabilities, `labels` (N,) gold labels in 0..2, `predicted` the decided labels
    when they are not the argmax of `probs` (a neutral band).

    accuracy: 3-class over every tweet. accuracy_binary: only gold negative/positive tweets, predicting the
    larger of the negative and positive probabilities. macro_f1: over the classes present in gold or
    predictions. confusion: rows gold, columns predicted, order negative, neutral, positive."""
    # sklearn costs ~1 s to import: only code that computes metrics pays it, never `predict`.
    from sklearn.metrics import confusion_matrix, f1_score

    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probs.argmax(axis=1) if predicted is None else np.asarray(predicted, dtype=np.int64)
    eps = 1e-12
    loss = float(-np.log(np.clip(probs[np.arange(len(labels)), labels], eps, None)).mean()) if len(labels) else 0.0
    polar = labels != NEUTRAL
    binary = np.where(probs[:, POSITIVE] > probs[:, NEGATIVE], POSITIVE, NEGATIVE)
    present = sorted(set(labels.tolist()) | set(predicted.tolist()))
    return {
        "loss": loss,
        "accuracy": float((predicted == labels).mean()) if len(labels) else 0.0,
        "accuracy_binary": float((binary[polar] == labels[polar]).mean()) if polar.any() else 0.0,
        "macro_f1": float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        "confusion": confusion_matrix(labels, predicted, labels=[0, 1, 2]).tolist(),
        "n": len(labels),
    }


def summary_metrics(name: str, probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """A split's entry in summary.json: `split_metrics` without the count; validation (no neutral tweets, so
    binary and 3-class are the same there) keeps loss, accuracy, macro-F1 and confusion."""
    metrics = split_metrics(probs, labels)
    metrics.pop("n")
    if name == "val":
        metrics = {k: metrics[k] for k in ("loss", "accuracy", "macro_f1", "confusion")}
    return metrics
