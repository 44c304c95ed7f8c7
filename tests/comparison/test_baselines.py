"""Baselines: n-gram features from token ids, VADER's decision rule, TF-IDF on the fixture data, the cache, and
the registry (a baseline reports its own numbers)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tweetsent.comparison import baselines as baselines_module
from tweetsent.comparison.baselines import (
    AUTOTUNE_ATTEMPTS,
    BASELINES,
    Baseline,
    FastTextBaseline,
    NgramFeatures,
    TfidfBaseline,
    register,
)
from tweetsent.comparison.options import CompareOptions
from tweetsent.comparison.scoring import baseline_entry, score_sets
from tweetsent.core.errors import UserError
from tweetsent.core.splits import Split
from tweetsent.data.dataset import Dataset
from tweetsent.data.labelled import ReadOptions
from tweetsent.models.lexicon import THRESHOLD, vader_probs, vader_scores

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2


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
    probs = vader_probs(vader_scores(texts))
    compound = np.array([SentimentIntensityAnalyzer().polarity_scores(t)["compound"] for t in texts])
    negative_or_neutral = np.where(compound <= -THRESHOLD, NEGATIVE, NEUTRAL)
    expected = np.where(compound >= THRESHOLD, POSITIVE, negative_or_neutral)
    assert probs.argmax(axis=1).tolist() == expected.tolist()
    assert expected[:3].tolist() == [POSITIVE, NEGATIVE, NEUTRAL]
    # Binary accuracy compares the positive and negative columns: their order is the compound's sign.
    assert ((probs[:, POSITIVE] > probs[:, NEGATIVE]) == (compound > 0)).all()
    np.testing.assert_allclose(probs.sum(axis=1)[expected != NEUTRAL], 1.0)


def test_tfidf_learns_the_fixture_words(small_dataset: Dataset) -> None:
    baseline = TfidfBaseline()
    info = baseline.fit(small_dataset)
    assert info["train_tweets"] == len(small_dataset["train"]) and info["parameters"] > len(small_dataset.vocab)
    assert baseline.labels == small_dataset.classes  # trained on two classes: never neutral
    probs = baseline.predict_proba(["so happy and great", "sad and awful day"])
    assert probs.shape == (2, 2) and probs[0].argmax() == 1 and probs[1].argmax() == 0


def test_fasttext_learns_the_fixture_words(small_dataset: Dataset) -> None:
    baseline = FastTextBaseline()
    info = baseline.fit(small_dataset)
    assert info["train_tweets"] == len(small_dataset["train"]) and info["parameters"] > 0
    assert baseline.labels == small_dataset.classes
    texts = ["so happy and great", "sad and awful day", "great great happy", "awful sad sad"]
    probs = baseline.predict_proba(texts)
    # One column per class in the classes' order (fastText ranks its labels by probability per tweet).
    assert probs.shape == (4, 2) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert probs[:, 1].argmax() in (0, 2) and list(probs.argmax(axis=1)) == [1, 0, 1, 0]


@pytest.mark.parametrize("sorted_by_label", [False, True])
def test_fasttext_on_three_classes_scores_every_set(tmp_path: Path, sorted_by_label: bool) -> None:
    """Also from a file sorted by label, as Sentiment140's is: fastText's SGD would learn the last class."""
    from tests.training.test_any_data import labelled_rows, write_csv
    from tweetsent.data.dataset import DataConfig, load_dataset

    rows = labelled_rows({"negative": 80, "neutral": 80, "positive": 80}, seed=0)
    data = write_csv(tmp_path / "hand.csv", sorted(rows) if sorted_by_label else rows, header=["label", "text"])
    dataset = load_dataset(DataConfig(data=(str(data),), min_count=1))
    sets = score_sets(dataset, [], ReadOptions())
    entry = baseline_entry("fasttext", dataset, sets, [(["x"], False)], options(tmp_path))
    assert entry["labels"] == ["negative", "neutral", "positive"] and entry["predict_tweets_per_second"] > 0
    assert entry["scores"]["val"]["accuracy"] > 0.8 and entry["scores"]["val"]["loss"] is not None


def test_fasttext_reads_its_training_file_shuffled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fastText's SGD reads its file in order: a file sorted by label (Sentiment140's) must reach it mixed."""
    import fasttext

    from tests.training.test_any_data import labelled_rows, write_csv
    from tweetsent.data.dataset import DataConfig, load_dataset

    rows = sorted(labelled_rows({"negative": 100, "positive": 100}, seed=0))
    dataset = load_dataset(DataConfig(data=(str(write_csv(tmp_path / "s.csv", rows, header=["label", "text"])),)))

    seen: list[str] = []
    train = fasttext.train_supervised

    def spy(input: str, **kwargs: Any) -> Any:
        seen.extend(Path(input).read_text().splitlines())
        return train(input=input, **kwargs)

    monkeypatch.setattr(fasttext, "train_supervised", spy)
    FastTextBaseline().fit(dataset)
    labels = [line.split()[0] for line in seen]
    assert len(labels) == len(dataset["train"]) and len(set(labels)) == 2
    runs = sum(a != b for a, b in itertools.pairwise(labels))  # label changes along the file
    assert runs > len(labels) / 4  # sorted, there would be one


def _without_search(train: Any) -> Any:
    """fastText's fit with the baseline's fixed settings in place of a search: on a toy file a real search's
    sampled settings diverge now and then, and these tests are about what reaches fastText and what comes back."""

    def fit(input: str, **kwargs: Any) -> Any:
        kept = {k: v for k, v in kwargs.items() if not k.startswith("autotune")}
        return train(input=input, **{**FastTextBaseline.settings, **kept})

    return fit


def _toy_dataset(tmp_path: Path, classes: list[str]) -> Dataset:
    from tests.training.test_any_data import labelled_rows, write_csv
    from tweetsent.data.dataset import DataConfig, load_dataset

    rows = labelled_rows(dict.fromkeys(classes, 60), seed=0)
    return load_dataset(DataConfig(data=(str(write_csv(tmp_path / "s.csv", rows, header=["label", "text"])),)))


def test_fasttext_autotune_searches_on_the_validation_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--ft-autotune N: fastText's own search, given the validation split as its file and N seconds; the settings
    of the fit are reported, and the cache tells a tuned fit from a default one."""
    import fasttext

    dataset = _toy_dataset(tmp_path, ["negative", "neutral", "positive"])
    calls: list[dict[str, Any]] = []
    fit = _without_search(fasttext.train_supervised)

    def spy(input: str, **kwargs: Any) -> Any:
        if "autotuneValidationFile" in kwargs:
            validation = Path(kwargs["autotuneValidationFile"]).read_text().splitlines()
            calls.append({"validation": len(validation), "seconds": kwargs["autotuneDuration"]})
        return fit(input, **kwargs)

    monkeypatch.setattr(fasttext, "train_supervised", spy)
    sets = score_sets(dataset, [], ReadOptions())
    tuned = baseline_entry("fasttext", dataset, sets, [(["x"], False)], CompareOptions(out=tmp_path, ft_autotune=2))
    assert calls == [{"validation": len(dataset["val"]), "seconds": 2}]
    assert tuned["autotuned"] == FastTextBaseline.settings
    plain = baseline_entry("fasttext", dataset, sets, [(["x"], False)], options(tmp_path))
    assert not plain["cached"] and "autotuned" not in plain and len(calls) == 1


def test_fasttext_search_runs_again_when_its_final_fit_diverges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search's last fit (the best settings, trained again) can diverge where its trial did not: the search is
    run again; one that keeps diverging, or that had no time for a single fit, is a one-line error."""
    import fasttext

    dataset = _toy_dataset(tmp_path, ["negative", "positive"])
    fit = _without_search(fasttext.train_supervised)
    calls: list[int] = []

    def fails(message: str, times: int) -> Any:
        def train(input: str, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) <= times:
                raise RuntimeError(message)
            return fit(input, **kwargs)

        return train

    monkeypatch.setattr(fasttext, "train_supervised", fails("Encountered NaN.", times=1))
    info = FastTextBaseline(autotune_seconds=1).fit(dataset)
    assert len(calls) == 2 and info["autotuned"] == FastTextBaseline.settings

    calls.clear()
    monkeypatch.setattr(fasttext, "train_supervised", fails("Encountered NaN.", times=AUTOTUNE_ATTEMPTS))
    with pytest.raises(UserError, match="diverged"):
        FastTextBaseline(autotune_seconds=1).fit(dataset)
    assert len(calls) == AUTOTUNE_ATTEMPTS
    calls.clear()
    with pytest.raises(RuntimeError, match="NaN"):  # fastText's usual settings are not searched again
        FastTextBaseline().fit(dataset)
    assert len(calls) == 1

    calls.clear()
    monkeypatch.setattr(fasttext, "train_supervised", fails("Didn't have enough time to train once", times=1))
    with pytest.raises(UserError, match="more seconds"):
        FastTextBaseline(autotune_seconds=1).fit(dataset)
    assert len(calls) == 1


def options(tmp_path: Path, refresh: bool = False) -> CompareOptions:
    return CompareOptions(out=tmp_path, refresh_baselines=refresh)


def test_baseline_results_are_cached_by_data_and_sets(small_dataset: Dataset, tmp_path: Path) -> None:
    sets = score_sets(small_dataset, [], ReadOptions())
    texts = [(["so happy and great", "sad and awful day"], False)]
    first = baseline_entry("tfidf", small_dataset, sets, texts, options(tmp_path))
    assert not first["cached"] and first["scores"]["val"]["accuracy"] > 0.9  # the fixture's words separate the classes
    for name in ("test", "test_seed"):
        m = first["scores"][name]
        assert sum(map(sum, m["confusion"])) == len(small_dataset[name])
        assert all(row[NEUTRAL] == 0 for row in m["confusion"])  # a two-class model never says neutral
    again = baseline_entry("tfidf", small_dataset, sets, texts, options(tmp_path))
    assert again["cached"] and again["scores"] == first["scores"]
    # Other sets are another cache entry; so is a refresh.
    assert not baseline_entry("tfidf", small_dataset, sets[:2], texts, options(tmp_path))["cached"]
    assert not baseline_entry("tfidf", small_dataset, sets, texts, options(tmp_path, refresh=True))["cached"]


def test_vader_needs_no_training(small_dataset: Dataset, tmp_path: Path) -> None:
    sets = score_sets(small_dataset, [], ReadOptions())
    result = baseline_entry("vader", small_dataset, sets, [(["hello"], False)], options(tmp_path))
    assert result["train_tweets"] == 0 and result["scores"]["test"]["loss"] is None
    assert sum(map(sum, result["scores"]["test"]["confusion"])) == len(small_dataset["test"])


def test_a_new_baseline_reports_its_own_numbers(
    small_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One class is a baseline; nothing dispatches on its name, so it cannot show another's results."""
    monkeypatch.setattr(baselines_module, "BASELINES", dict(BASELINES))

    @register
    class AlwaysPositive(Baseline):
        name = "always-positive"
        title = "always positive"

        def fit(self, dataset: Dataset) -> dict[str, Any]:
            self.labels = dataset.classes
            return {"train_seconds": 0.0, "train_tweets": 0}

        def predict_proba(self, texts: Any, batch_size: int = 512, html_decoded: bool = False) -> np.ndarray:
            return np.tile([0.0, 1.0], (len(texts), 1))

    monkeypatch.setattr("tweetsent.comparison.scoring.BASELINES", baselines_module.BASELINES)
    sets = score_sets(small_dataset, [], ReadOptions())
    entry = baseline_entry("always-positive", small_dataset, sets, [(["x"], False)], options(tmp_path))
    val = entry["scores"]["val"]
    assert entry["name"] == "always positive" and val["labels"] == ["negative", "positive"]
    assert all(row[0] == 0 for row in val["confusion"])  # never negative: its own answers, not VADER's
    assert val["confusion"][1][1] == int((small_dataset["val"].labels == 2).sum())
