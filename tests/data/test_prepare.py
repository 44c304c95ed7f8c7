from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tweet_rows, write_csv
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.prepare import PrepareConfig, Prepared, prepare, stratified_split
from tweetsent.data.sources import locate
from tweetsent.data.vocab import PAD_ID, UNK_ID


def test_stratified_split_is_seeded_and_keeps_class_shares() -> None:
    labels = np.array([0] * 900 + [2] * 100)
    train, val = stratified_split(labels, 0.1, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert np.bincount(labels[val]).tolist()[::2] == [90, 10]
    assert set(train).isdisjoint(val) and len(set(train) | set(val)) == 1000
    again_train, again_val = stratified_split(labels, 0.1, seed=3)
    assert np.array_equal(val, again_val) and np.array_equal(train, again_train)
    assert not np.array_equal(val, stratified_split(labels, 0.1, seed=4)[1])


def test_prepared_splits(small_prepared: Prepared) -> None:
    p = small_prepared
    stats = p.stats
    assert stats["rows_read"] == {"train": 2000, "test": 6}
    assert stats["dropped"]["train tweet with a link"] == 100  # rows 7, 27, ... of the fixture
    assert len(p["train"]) + len(p["val"]) == 1900
    assert np.bincount(p["val"].labels, minlength=3).tolist() == [
        50,
        0,
        45,
    ]  # 1,000 negative, 900 positive (links sit on positive rows)
    assert len(p["test"]) == 6 and p["test"].labels.tolist() == [2, 0, 1, 0, 2, 1]
    assert len(p["test_seed"]) == 4  # two test tweets carry a link
    assert p["test"].texts is not None and p["train"].texts is not None  # every split keeps its texts (decoded)
    assert p["test"].texts[0].as_py() == "I loooove my Kindle2. it's fantastic & fun"
    assert p.vocab.words[:2] == ["<pad>", "<unk>"]
    # Token ids decode back to the cleaned words of the tweet.
    words = [p.vocab.words[i] for i in p["test"].ids[p["test"].offsets[3] : p["test"].offsets[4]]]
    # "I hate this, worst day": "i", "this" and "," never occur in the fixture's training rows.
    assert words == ["<unk>", "hate", "<unk>", "<unk>", "worst", "day"]
    assert PAD_ID not in p["train"].ids


def test_vocabulary_comes_from_training_rows_only(small_data_dir: Path, tmp_path: Path) -> None:
    p = prepare(locate(small_data_dir), PrepareConfig(min_count=1), tmp_path / "c")
    # "kindle2" and "news" occur only in the test file.
    assert "kindle2" not in p.vocab.words and "news" not in p.vocab.words
    assert UNK_ID in p["test"].ids


def test_min_count_drops_rare_words(small_data_dir: Path, tmp_path: Path) -> None:
    rare = prepare(locate(small_data_dir), PrepareConfig(min_count=1), tmp_path / "a").vocab
    common = prepare(locate(small_data_dir), PrepareConfig(min_count=200), tmp_path / "b").vocab
    assert len(common) < len(rare)
    assert all(c >= 200 for c in common.counts[2:])


def test_warm_start_hits_the_cache(small_data_dir: Path, tmp_path: Path) -> None:
    first = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    second = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    assert not first.cache_hit and second.cache_hit
    assert second.path == first.path
    assert np.array_equal(first["train"].ids, second["train"].ids)


def test_config_change_invalidates(small_data_dir: Path, tmp_path: Path) -> None:
    a = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    keep_links = PrepareConfig(cleaning=dataclasses.replace(CleaningConfig(), drop_link_tweets=False))
    b = prepare(locate(small_data_dir), keep_links, tmp_path / "c")
    assert not b.cache_hit and b.path != a.path
    assert len(b["train"]) + len(b["val"]) == 2000


def test_data_change_invalidates(small_data_dir: Path, tmp_path: Path) -> None:
    a = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    write_csv(small_data_dir / "training.1600000.polarity_text.csv.gz", tweet_rows(1000, seed=1))
    b = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    assert not b.cache_hit and b.path != a.path
    assert b.stats["rows_read"]["train"] == 1000


@pytest.mark.parametrize("damage", ["truncate", "delete", "manifest"])
def test_corrupt_cache_is_rebuilt(small_data_dir: Path, tmp_path: Path, damage: str) -> None:
    a = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    target = a.path / "train.arrow"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "delete":
        target.unlink()
    else:
        (a.path / "manifest.json").write_text("{not json")
    b = prepare(locate(small_data_dir), PrepareConfig(), tmp_path / "c")
    assert not b.cache_hit
    assert np.array_equal(a["val"].labels, b["val"].labels)
    assert json.loads((b.path / "manifest.json").read_text())["key"] == b.path.name


def test_subset_keeps_rows_in_order(small_prepared: Prepared) -> None:
    split = small_prepared["test"]
    sub = split.subset(np.array([3, 0]))
    assert sub.labels.tolist() == [split.labels[3], split.labels[0]]
    assert (
        sub.ids.tolist()
        == split.ids[split.offsets[3] : split.offsets[4]].tolist()
        + split.ids[split.offsets[0] : split.offsets[1]].tolist()
    )
