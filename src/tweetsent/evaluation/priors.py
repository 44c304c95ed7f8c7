"""The class prior correction: a model trained with balanced class weights (or on data whose classes are mixed
otherwise than the tweets it will see) over-predicts the rare classes. Adding a log-offset to each label's
log-probability moves the decision boundaries without retraining; the offsets are chosen for the highest macro-F1
on labelled tweets the model did not train on (by default its own validation split) and stored in
`model/calibration.json`, which every loader of the model folder applies (models/artifact.py).
"""

from __future__ import annotations

import numpy as np

from tweetsent.core.errors import UserError
from tweetsent.core.metrics import confusion_macro_f1

GRID = np.round(np.arange(-2.0, 2.0001, 0.05), 4)  # log-offsets tried for each label
ROUNDS = 3  # coordinate ascent: one label at a time, this many passes over the labels


def _macro_f1(logp: np.ndarray, gold: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 of argmax(logp) for a stack of offset log-probabilities (M, N, K) against gold (N,)."""
    predicted = logp.argmax(axis=-1)
    confusion = np.zeros((len(logp), k, k), dtype=np.int64)
    for g in range(k):
        rows = predicted[:, gold == g]
        for p in range(k):
            confusion[:, g, p] = (rows == p).sum(axis=1)
    return confusion_macro_f1(confusion)


def choose_class_bias(probs: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Log-offsets (K,) with the highest macro-F1 of argmax(log p + offsets) on `gold` (indices into the K
    columns of `probs`), by coordinate ascent over GRID with the first label fixed at 0 (only differences
    matter); ties keep the offset nearest 0. Returns the offsets, macro-F1 without and with them."""
    if len(gold) == 0:
        raise UserError("no labelled tweets to calibrate on")
    k = probs.shape[1]
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0))
    bias = np.zeros(k)
    before = float(_macro_f1(logp[None], gold, k)[0])
    order = np.argsort(np.abs(GRID), kind="stable")  # argmax picks the first best: the smallest offset
    for _ in range(ROUNDS):
        for c in range(1, k):
            trial = np.repeat(bias[None], len(GRID), axis=0)
            trial[:, c] = GRID
            f1 = _macro_f1(logp[None] + trial[order, None, :], gold, k)
            bias[c] = GRID[order][int(f1.argmax())]
    after = float(_macro_f1(logp[None] + bias, gold, k)[0])
    return bias, before, after
