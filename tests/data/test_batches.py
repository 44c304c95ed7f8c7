from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tweetsent.data.batches import TweetBatches
from tweetsent.data.prepare import Split


def ragged(lengths: list[int]) -> Split:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.concatenate([np.full(n, i + 2, dtype=np.int32) for i, n in enumerate(lengths)]) if lengths else np.zeros(0)
    return Split("x", ids.astype(np.int32), offsets, (np.arange(len(lengths)) % 3).astype(np.int8), pa.array([""] * 0))


def test_fixed_length_pads_and_truncates() -> None:
    split = ragged([3, 50, 1])
    batch = TweetBatches(split, 16, fixed_length=40)[0]
    assert batch["ids"].shape == (3, 40)
    assert batch["lengths"].tolist() == [3, 40, 1]
    assert batch["ids"][0].tolist() == [2, 2, 2] + [0] * 37
    assert batch["ids"][1].tolist() == [3] * 40
    assert batch["labels"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("shuffle", [False, True])
def test_bucketed_epoch_covers_every_row_once(shuffle: bool) -> None:
    rng = np.random.default_rng(0)
    split = ragged(rng.integers(1, 60, size=1000).tolist())
    batches = TweetBatches(split, 32, bucket=True, shuffle=shuffle, max_length=48, pool_batches=4)
    seen = np.concatenate([b for b in batches.batches])
    assert sorted(seen.tolist()) == list(range(1000))
    for i in range(len(batches)):
        b = batches[i]
        assert b["ids"].shape[1] == b["lengths"].max() <= 48
        # Each row's ids are its own token (id = row + 2) up to its length, then padding.
        rows = batches.batches[i]
        for r, row in enumerate(rows[:3]):
            n = int(b["lengths"][r])
            assert b["ids"][r, :n].tolist() == [row + 2] * n
            assert b["ids"][r, n:].sum() == 0


def test_bucketing_reduces_padding() -> None:
    rng = np.random.default_rng(1)
    split = ragged(rng.integers(1, 60, size=4000).tolist())

    def padded_cells(ds: TweetBatches) -> int:
        return sum(ds[i]["ids"].numel() for i in range(len(ds)))

    plain = TweetBatches(split, 64, shuffle=True)
    bucketed = TweetBatches(split, 64, shuffle=True, bucket=True)
    assert padded_cells(bucketed) < 0.7 * padded_cells(plain)


def test_epochs_reshuffle_deterministically() -> None:
    split = ragged([5] * 200)
    a = TweetBatches(split, 10, shuffle=True, seed=1)
    b = TweetBatches(split, 10, shuffle=True, seed=1)
    first = [x.tolist() for x in a.batches]
    assert first == [x.tolist() for x in b.batches]
    a.set_epoch(1)
    assert first != [x.tolist() for x in a.batches]
    a.set_epoch(0)
    assert first == [x.tolist() for x in a.batches]


def test_drop_last() -> None:
    assert len(TweetBatches(ragged([2] * 10), 4, drop_last=True)) == 2
    assert len(TweetBatches(ragged([2] * 10), 4)) == 3
