"""Counts on the real Sentiment140 files (TWEETSENT_DATA_DIR), checked against an independent re-count."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from tweetsent.data.batches import TweetBatches
from tweetsent.data.prepare import Prepared

pytestmark = pytest.mark.data


def test_rows_and_labels(real_prepared: Prepared) -> None:
    stats = real_prepared.stats
    assert stats["rows_read"] == {"train": 1_600_000, "test": 498}
    assert stats["class_counts"]["test"] == [177, 139, 182]
    assert stats["class_counts"]["test_seed"] == [158, 66, 143]  # SPEC 1: 367 tweets


def test_link_tweets_dropped_match_an_independent_count(real_prepared: Prepared, real_data_dir: Path) -> None:
    link = re.compile(r"https?://|www\.")
    with gzip.open(real_data_dir / "training.1600000.polarity_text.csv.gz", "rt", encoding="utf-8") as f:
        counts = [0, 0]
        for polarity, text in csv.reader(f):
            if link.search(text):
                counts[polarity == "4"] += 1
    assert real_prepared.stats["dropped"]["train tweet with a link"] == sum(counts)
    kept = [800_000 - counts[0], 800_000 - counts[1]]
    # Every kept tweet is in train or val, and val is 5 % of each class.
    c = real_prepared.stats["class_counts"]
    empty = real_prepared.stats["dropped"]["train empty after cleaning"]
    assert c["train"][0] + c["val"][0] + c["train"][2] + c["val"][2] == sum(kept) - empty
    for cls in (0, 2):
        assert c["val"][cls] == round(0.05 * (c["train"][cls] + c["val"][cls]))


def test_token_lengths_are_as_in_the_spec(real_prepared: Prepared) -> None:
    lengths = real_prepared["train"].lengths
    assert 14 <= lengths.mean() <= 18  # SPEC 1: mean 16, p99 35
    assert 30 <= np.percentile(lengths, 99) <= 40


def test_batches_cover_the_training_set(real_prepared: Prepared) -> None:
    batches = TweetBatches(real_prepared["train"], 512, bucket=True, shuffle=True, max_length=64)
    assert batches.tweets == len(real_prepared["train"])
    batch = batches[0]
    assert batch["ids"].shape[0] == 512 and batch["ids"].shape[1] <= 64
