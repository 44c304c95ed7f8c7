"""One split of tweets as models read it: ragged token ids (flat + offsets), labels and the raw texts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass
class Split:
    """Token ids of every tweet back to back (`ids`, int32) with `offsets` (len + 1); `labels` are indices into
    the label set of whoever made the split (a dataset, or a model's classes); `texts` the tweets as read."""

    name: str
    ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    texts: pa.Array | None = None
    # Soft targets (N, classes), float32: a teacher's probabilities (distillation), one-hot rows for hand labels.
    targets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_lists(
        cls, name: str, ids: list[list[int]], texts: pa.Array | None = None, labels: np.ndarray | None = None
    ) -> Split:
        """A split of one list of token ids per tweet (labels: zeros when not given)."""
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(offsets[-1]))
        return cls(
            name, flat, offsets, np.zeros(len(ids), dtype=np.int8) if labels is None else np.asarray(labels), texts
        )

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, rows: np.ndarray) -> Split:
        """A new split of the given rows (ids copied, in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        starts = self.offsets[rows].astype(np.int64)
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        texts = self.texts.take(pa.array(rows)) if self.texts is not None else None
        targets = self.targets[rows] if self.targets is not None else None
        return Split(self.name, self.ids[gather], offsets, self.labels[rows], texts, targets)

    def relabelled(self, mapping: np.ndarray, name: str | None = None) -> Split:
        """The same tweets with labels looked up in `mapping` (old index -> new index)."""
        labels = mapping[self.labels.astype(np.int64)]
        return Split(name or self.name, self.ids, self.offsets, labels, self.texts, self.targets)


def seeded_rows(n: int, size: int | None, seed: int) -> np.ndarray | None:
    """The sorted rows of a seeded random subset of `size` out of `n` (None: all of them)."""
    if size is None or size >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def seeded_subset(split: Split, size: int | None, seed: int) -> Split:
    rows = seeded_rows(len(split), size, seed)
    return split if rows is None else split.subset(rows)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val): `fraction` of each class to validation, chosen by a seeded shuffle."""
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        val.append(rng.permutation(rows)[: round(fraction * len(rows))])
    val_rows = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    keep = np.ones(len(labels), dtype=bool)
    keep[val_rows] = False
    return np.flatnonzero(keep), val_rows
