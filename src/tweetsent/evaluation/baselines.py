"""What a practitioner tries first, scored on exactly our splits: the VADER lexicon (no training) and TF-IDF
word 1-2 grams + logistic regression (scikit-learn).

TF-IDF reads the same cleaned tokens our models see (the prepared splits' token ids: the training split keeps
no raw text), so it trains on the same rows. Its features are built straight from the ids with numpy: a
unigram is its vocabulary id, a bigram a pair of adjacent ids seen at least twice in training. VADER reads
the raw text of the validation and test tweets (it has its own rules for case, punctuation and emoticons).

A baseline's result is a dict shaped like a run's summary.json (val/test/test_seed metrics, training time,
tweets/s, parameters) and is cached under the prepared data's cache key: a second `compare` reuses it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.atomic import write_json
from tweetsent.data.prepare import Prepared, Split, encode_texts
from tweetsent.evaluation.metrics import NEGATIVE, NEUTRAL, POSITIVE, summary_metrics

CACHE_VERSION = 1
BASELINES: dict[str, str] = {
    "tfidf": "TF-IDF 1-2 grams + logistic regression",
    "vader": "VADER lexicon",
}
# VADER's documented decision rule: compound >= 0.05 positive, <= -0.05 negative, else neutral.
VADER_THRESHOLD = 0.05
MIN_BIGRAM_COUNT = 2


class NgramFeatures:
    """Sparse word 1-2 gram counts from token ids: columns [0, V) are unigrams, then the kept bigrams."""

    def __init__(self, vocab_size: int, train: Split, min_count: int = MIN_BIGRAM_COUNT) -> None:
        self.vocab_size = vocab_size
        keys, counts = np.unique(self._pairs(train)[2], return_counts=True)
        self.bigrams = keys[counts >= min_count]  # sorted: looked up with searchsorted

    @property
    def size(self) -> int:
        return self.vocab_size + len(self.bigrams)

    def _pairs(self, split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(token ids, their rows, bigram keys, the bigrams' rows)."""
        ids = split.ids.astype(np.int64)
        offsets = split.offsets.astype(np.int64)
        rows = np.repeat(np.arange(len(split)), np.diff(offsets))
        same = rows[1:] == rows[:-1]  # adjacent tokens of one tweet
        keys = ids[:-1][same] * self.vocab_size + ids[1:][same]
        return ids, rows, keys, rows[:-1][same]

    def matrix(self, split: Split) -> Any:
        from scipy import sparse

        ids, rows, keys, bigram_rows = self._pairs(split)
        if len(self.bigrams):
            at = np.minimum(np.searchsorted(self.bigrams, keys), len(self.bigrams) - 1)
            known = self.bigrams[at] == keys
        else:
            at, known = np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
        r = np.concatenate([rows, bigram_rows[known]])
        c = np.concatenate([ids, self.vocab_size + at[known]])
        m = sparse.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(split), self.size))
        m.sum_duplicates()
        return m


def _probs_binary(p_positive: np.ndarray) -> np.ndarray:
    probs = np.zeros((len(p_positive), 3))
    probs[:, NEGATIVE] = 1 - p_positive
    probs[:, POSITIVE] = p_positive
    return probs


def _scores(name: str, probs: np.ndarray, split: Split, loss: bool = True) -> dict[str, Any]:
    m = summary_metrics(name, probs, split.labels)
    if not loss:  # not a probability model: a cross-entropy of its scores would mean nothing
        m["loss"] = None
    return m


def tfidf(prepared: Prepared, splits: dict[str, Split], timing_texts: Sequence[str]) -> dict[str, Any]:
    """Fit on splits["train"] (token ids); score val, test, test_seed; time prediction from raw texts."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    train = splits["train"]
    start = time.perf_counter()
    features = NgramFeatures(len(prepared.vocab), train)
    weighting = TfidfTransformer(sublinear_tf=True)
    x = weighting.fit_transform(features.matrix(train))
    # Training data has two classes: the model says negative or positive, never neutral.
    classifier = LogisticRegression(solver="liblinear", C=1.0)
    classifier.fit(x, (train.labels == POSITIVE).astype(np.int8))
    train_seconds = time.perf_counter() - start

    def predict(split: Split) -> np.ndarray:
        return _probs_binary(classifier.predict_proba(weighting.transform(features.matrix(split)))[:, 1])

    result: dict[str, Any] = {
        "train_seconds": round(train_seconds, 2),
        "train_tweets_per_second": round(len(train) / train_seconds, 1),
        "train_tweets": len(train),
        "features": features.size,
        "parameters": int(classifier.coef_.size + classifier.intercept_.size),
    }
    for name in ("val", "test", "test_seed"):
        result[name] = _scores(name, predict(splits[name]), splits[name])
    cleaning = prepared.config.cleaning
    predict(encode_texts(timing_texts[:64], prepared.vocab, cleaning))  # warm-up
    start = time.perf_counter()
    predict(encode_texts(timing_texts, prepared.vocab, cleaning))
    result["predict_tweets_per_second"] = round(len(timing_texts) / (time.perf_counter() - start), 1)
    return result


def vader_probs(texts: Sequence[str]) -> np.ndarray:
    """Pseudo-probabilities whose argmax is VADER's 3-way decision and whose positive-vs-negative order is the
    sign of its compound score (what binary accuracy compares)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)
    probs = _probs_binary((1 + compound) / 2)
    neutral = np.abs(compound) < VADER_THRESHOLD
    probs[neutral] *= 0.5  # both sides drop below 0.5 ...
    probs[neutral, NEUTRAL] = 0.5  # ... and neutral wins, keeping their order
    return probs


def vader(splits: dict[str, Split], timing_texts: Sequence[str]) -> dict[str, Any]:
    result: dict[str, Any] = {"train_seconds": 0.0, "train_tweets": 0, "parameters": None}
    for name in ("val", "test", "test_seed"):
        split = splits[name]
        assert split.texts is not None  # evaluation splits keep their raw text
        result[name] = _scores(name, vader_probs(split.texts.to_pylist()), split, loss=False)
    start = time.perf_counter()
    vader_probs(timing_texts)
    result["predict_tweets_per_second"] = round(len(timing_texts) / (time.perf_counter() - start), 1)
    return result


def run_baseline(
    name: str,
    prepared: Prepared,
    splits: dict[str, Split],
    timing_texts: Sequence[str],
    cache_root: Path,
    refresh: bool = False,
) -> dict[str, Any]:
    """One baseline's result on `splits` (train, val, test, test_seed: the rows the models saw), from the cache
    when it was computed before on the same prepared data and rows."""
    rows = hashlib.blake2b(digest_size=8)  # the training and validation rows, subsets or not
    for split in (splits["train"], splits["val"]):
        rows.update(split.ids.tobytes())
        rows.update(split.labels.tobytes())
    cache = cache_root / "baselines" / f"{name}-{prepared.path.name}-{rows.hexdigest()}-v{CACHE_VERSION}.json"
    if cache.is_file() and not refresh:
        try:
            cached: dict[str, Any] = json.loads(cache.read_text())
            return {**cached, "cached": True}
        except ValueError:
            pass  # a torn or foreign file: compute it again
    result = tfidf(prepared, splits, timing_texts) if name == "tfidf" else vader(splits, timing_texts)
    result = {"model": name, "label": BASELINES[name], "kind": "baseline", **result}
    write_json(cache, result)
    return {**result, "cached": False}
