"""The VADER lexicon (Hutto & Gilbert 2014): rule-based sentiment scores with no training, used as a baseline
(comparison/baselines.py) and as an ensemble member (models/ensemble.py)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.core.labels import STANDARD, LabelSet
from tweetsent.data.cleaning import unescape_html

LABELS = LabelSet(STANDARD)
# VADER's documented decision rule: compound >= 0.05 positive, <= -0.05 negative, else neutral.
THRESHOLD = 0.05
SCORES = ("neg", "neu", "pos", "compound")


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_scores(texts: Sequence[str] | pa.Array, html_decoded: bool = False) -> np.ndarray:
    """(N, 4): VADER's negative, neutral and positive shares and its compound score, per text. Raw texts get their
    HTML entities decoded first, as every model's cleaning does (a dataset's texts are decoded already)."""
    column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
    items = (column if html_decoded else unescape_html(column)).to_pylist()
    analyzer = _analyzer()
    return np.array([[s[k] for k in SCORES] for s in map(analyzer.polarity_scores, items)], dtype=np.float64).reshape(
        -1, len(SCORES)
    )


def vader_probs(scores: np.ndarray) -> np.ndarray:
    """Pseudo-probabilities over LABELS whose argmax is VADER's 3-way decision and whose positive-vs-negative
    order is the sign of its compound score (what binary accuracy compares)."""
    compound = scores[:, SCORES.index("compound")]
    probs = np.zeros((len(compound), 3))
    probs[:, 0], probs[:, 2] = (1 - compound) / 2, (1 + compound) / 2
    neutral = np.abs(compound) < THRESHOLD
    probs[neutral] *= 0.5  # both sides drop below 0.5 ...
    probs[neutral, 1] = 0.5  # ... and neutral wins, keeping their order
    return probs
