"""Perturbed copies of the hand-labelled training tweets, for a teacher to label during distillation.

An unlabelled pool from another time and topic (Sentiment140's 2009 tweets) teaches a student little about the
words of the hand-labelled domain; copies of its own training tweets with words dropped, swapped or cut away put the
teacher's judgement on many near neighbours of that domain (the masking and n-gram sampling of Tang et al. 2019,
"Distilling Task-Specific Knowledge from BERT into Simple Neural Networks", with a swap for a word drawn from the
corpus in place of their part-of-speech guided one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DROP = 0.1  # each word is left out with this probability
SWAP = 0.1  # ... or replaced by a word drawn from the whole corpus (by frequency)
SPAN = 0.25  # a copy keeps only a random span of at least half its words with this probability


def augmented(texts: Sequence[str], copies: int, seed: int = 0) -> list[str]:
    """Up to `copies` distinct perturbed versions of each text (words split on white space), in order; a copy equal
    to its text or to an earlier copy is left out."""
    words = [t.split() for t in texts]
    corpus = [w for ws in words for w in ws]
    if copies < 1 or not corpus:
        return []
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    for ws in words:
        seen.add(" ".join(ws))
        for _ in range(copies):
            text = " ".join(_perturbed(ws, corpus, rng))
            if text and text not in seen:
                seen.add(text)
                out.append(text)
    return out


def _perturbed(words: list[str], corpus: list[str], rng: np.random.Generator) -> list[str]:
    n = len(words)
    if n > 2 and rng.random() < SPAN:
        length = int(rng.integers((n + 1) // 2, n + 1))
        start = int(rng.integers(0, n - length + 1))
        words = words[start : start + length]
    draw = rng.random(len(words))
    swaps = rng.integers(0, len(corpus), len(words))
    return [
        corpus[s] if d < SWAP else w for w, d, s in zip(words, draw, swaps, strict=True) if not SWAP <= d < SWAP + DROP
    ]
