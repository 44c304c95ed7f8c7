"""Batches for training and evaluation, built whole with vectorised numpy from a prepared split.

Each dataset item is one complete batch (use `DataLoader(dataset, batch_size=None)`): per-tweet
`__getitem__` + collate costs more Python time than a small LSTM step on a GPU. Two layouts:
- fixed length (the study's preset): every tweet cut or padded to `fixed_length` (40);
- bucketed (the fast preset): rows are shuffled, sorted by length inside pools of `pool_batches` batches,
  cut into batches, and the batches shuffled, so padding is small and `pack_padded_sequence` cheap.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from tweetsent.data.prepare import Split
from tweetsent.data.vocab import pad_rows

Batch = dict[str, torch.Tensor]


class TweetBatches(Dataset[Batch]):
    def __init__(
        self,
        split: Split,
        batch_size: int,
        *,
        fixed_length: int | None = None,
        max_length: int = 64,
        shuffle: bool = False,
        bucket: bool = False,
        pool_batches: int = 64,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.split = split
        self.batch_size = batch_size
        self.fixed_length = fixed_length
        self.max_length = max_length if fixed_length is None else fixed_length
        self.shuffle = shuffle
        self.bucket = bucket
        self.pool = pool_batches * batch_size
        self.seed = seed
        self.drop_last = drop_last
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Re-draw the batch plan; the same (seed, epoch) always gives the same batches."""
        self.epoch = epoch
        n = len(self.split)
        rng = np.random.default_rng((self.seed, epoch))
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            lengths = np.minimum(self.split.lengths, self.max_length)
            pools = [order[i : i + self.pool] for i in range(0, n, self.pool)]
            order = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in pools]) if pools else order
        cuts = list(range(0, n, self.batch_size))
        batches = [order[i : i + self.batch_size] for i in cuts]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.bucket and self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self.batches = batches

    def skip(self, n: int) -> None:
        """Drop the first `n` batches of the current plan (resuming in the middle of an epoch)."""
        self.batches = self.batches[n:]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> Batch:
        rows = self.batches[i]
        ids, lengths = pad_rows(self.split, rows, self.fixed_length, self.max_length)
        batch = {
            "ids": torch.from_numpy(ids.astype(np.int64)),
            "lengths": torch.from_numpy(lengths.astype(np.int64)),
            "labels": torch.from_numpy(self.split.labels[rows].astype(np.int64)),
        }
        if self.split.targets is not None:
            batch["targets"] = torch.from_numpy(self.split.targets[rows].astype(np.float32))
        return batch

    @property
    def tweets(self) -> int:
        return sum(len(b) for b in self.batches)
