"""Baselines: n-gram features from token ids, VADER's decision rule, TF-IDF on the fixture data, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tweetsent.data.prepare import Prepared, Split
from tweetsent.evaluation.baselines import VADER_THRESHOLD, NgramFeatures, run_baseline, vader_probs
from tweetsent.evaluation.metrics import NEGATIVE, NEUTRAL, POSITIVE


def split_of(tweets: list[list[int]]) -> Split:
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in tweets])]).astype(np.int64)
    ids = np.array([i for t in tweets for i in t], dtype=np.int32)
    return Split("x", ids, offsets, np.zeros(len(tweets), np.int8))


def test_ngram_counts_stay_inside_each_tweet() -> None:
    train = split_of([[2, 3, 2, 3], [3, 2], [4, 5]])
    features = NgramFeatures(vocab_size=6, train=train, min_count=2)
    # (2,3) twice and (3,2) twice are kept; (4,5) once is not, nor the pair across the tweet boundary (3 | 3).
    assert features.bigrams.tolist() == sorted([2 * 6 + 3, 3 * 6 + 2])
    m = features.matrix(train).toarray()
    col = {(2, 3): 6 + features.bigrams.tolist().index(15), (3, 2): 6 + features.bigrams.tolist().index(20)}
    assert m[0, 2] == 2 and m[0, 3] == 2 and m[0, col[(2, 3)]] == 2 and m[0, col[(3, 2)]] == 1
    assert m[1, col[(3, 2)]] == 1 and m[1, col[(2, 3)]] == 0
    assert m[2, 4] == 1 and m[2, 5] == 1 and m[2, 6:].sum() == 0
    unseen = features.matrix(split_of([[5, 4]])).toarray()
    assert unseen[0, 6:].sum() == 0 and unseen[0, :6].sum() == 2


def test_vader_decisions_and_binary_order() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    texts = ["I love this, it is wonderful", "I hate this, it is awful", "the bus is at the station", "not bad"]
    probs = vader_probs(texts)
    compound = np.array([SentimentIntensityAnalyzer().polarity_scores(t)["compound"] for t in texts])
    negative_or_neutral = np.where(compound <= -VADER_THRESHOLD, NEGATIVE, NEUTRAL)
    expected = np.where(compound >= VADER_THRESHOLD, POSITIVE, negative_or_neutral)
    assert probs.argmax(axis=1).tolist() == expected.tolist()
    assert expected[:3].tolist() == [POSITIVE, NEGATIVE, NEUTRAL]
    # Binary accuracy compares the positive and negative columns: their order is the compound's sign.
    assert ((probs[:, POSITIVE] > probs[:, NEGATIVE]) == (compound > 0)).all()
    np.testing.assert_allclose(probs.sum(axis=1)[expected != NEUTRAL], 1.0)


def test_tfidf_learns_the_fixture_words_and_is_cached(small_prepared: Prepared, tmp_path: Path) -> None:
    texts = ["so happy and great", "sad and awful day"]
    splits = dict(small_prepared.splits)
    first = run_baseline("tfidf", small_prepared, splits, texts, tmp_path)
    assert not first["cached"]
    assert first["val"]["accuracy"] > 0.9  # the fixture's words separate the classes perfectly
    assert first["train_tweets"] == len(small_prepared["train"])
    assert first["parameters"] > len(small_prepared.vocab) and first["predict_tweets_per_second"] > 0
    for split in ("test", "test_seed"):
        m = first[split]
        assert sum(map(sum, m["confusion"])) == len(small_prepared[split])
        assert all(row[NEUTRAL] == 0 for row in m["confusion"])  # trained on two classes: never neutral
    again = run_baseline("tfidf", small_prepared, splits, texts, tmp_path)
    assert again["cached"] and again["test"] == first["test"]
    # Other training or validation rows are another cache entry.
    for name in ("train", "val"):
        other = {**splits, name: splits[name].subset(np.arange(50))}
        assert not run_baseline("tfidf", small_prepared, other, texts, tmp_path)["cached"]


def test_vader_needs_no_training(small_prepared: Prepared, tmp_path: Path) -> None:
    result = run_baseline("vader", small_prepared, dict(small_prepared.splits), ["hello"], tmp_path)
    assert result["train_tweets"] == 0 and result["test"]["loss"] is None
    assert sum(map(sum, result["test"]["confusion"])) == len(small_prepared["test"])
