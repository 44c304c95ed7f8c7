"""What a practitioner tries first, behind one small interface (`fit` on a dataset, then `predict_proba` on texts,
like a trained model): the VADER lexicon (no training), TF-IDF word 1-2 grams + logistic regression, and fastText
(Joulin et al. 2017: word and word-pair vectors averaged, a linear softmax on top).

TF-IDF reads the same cleaned tokens our word-vector models see (the dataset's word ids), so it trains on the
same rows; its features are built straight from the ids with numpy (a unigram is its vocabulary id, a bigram a
pair of adjacent ids seen at least twice in training): scikit-learn's TfidfVectorizer would tokenize the
1.45M Sentiment140 tweets again in Python. fastText reads the same tokens, written back as words. VADER reads
the texts (it has its own rules for case, punctuation and emoticons). Adding a baseline is one class with `@register`.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from tweetsent.core.errors import UserError
from tweetsent.core.labels import STANDARD, LabelSet
from tweetsent.core.splits import Split
from tweetsent.data.dataset import Dataset
from tweetsent.data.vocab import encode_words
from tweetsent.models.lexicon import LABELS as VADER_LABELS
from tweetsent.models.lexicon import vader_probs, vader_scores

MIN_BIGRAM_COUNT = 2
AUTOTUNE_ATTEMPTS = 3  # searches tried when the final fit of fastText's search diverges


class Baseline(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    probabilistic: ClassVar[bool] = True  # False: its scores are no probabilities, so it reports no loss
    learns: ClassVar[bool] = True  # False: no training (the same on any data)
    labels: LabelSet

    @classmethod
    def create(cls, autotune_seconds: int = 0) -> Baseline:
        """The baseline as compare's options set it up (`--ft-autotune` is fastText's)."""
        return cls()

    @classmethod
    def applies(cls, dataset: Dataset) -> bool:
        """Whether the baseline can predict this dataset's labels."""
        return True

    @abstractmethod
    def fit(self, dataset: Dataset) -> dict[str, Any]:
        """Train on the dataset's train split; returns what the report shows (time, tweets, parameters)."""

    @abstractmethod
    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        """Probabilities (N, len(labels)), as a model's."""


BASELINES: dict[str, type[Baseline]] = {}


def register(cls: type[Baseline]) -> type[Baseline]:
    BASELINES[cls.name] = cls
    return cls


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


@register
class TfidfBaseline(Baseline):
    name = "tfidf"
    title = "TF-IDF 1-2 grams + logistic regression"

    def fit(self, dataset: Dataset) -> dict[str, Any]:
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        train = dataset.for_training("train")
        start = time.perf_counter()
        self.vocab, self.cleaning, self.labels = dataset.vocab, dataset.cleaning, dataset.classes
        self.features = NgramFeatures(len(dataset.vocab), train)
        self.weighting = TfidfTransformer(sublinear_tf=True)
        x = self.weighting.fit_transform(self.features.matrix(train))
        # liblinear for two classes (fast on 1.45M tweets), multinomial lbfgs for more.
        solver = "liblinear" if len(self.labels) == 2 else "lbfgs"
        self.classifier = LogisticRegression(solver=solver, C=1.0, max_iter=1000)
        self.classifier.fit(x, train.labels)
        seconds = time.perf_counter() - start
        return {
            "train_seconds": round(seconds, 2),
            "train_tweets_per_second": round(len(train) / seconds, 1),
            "train_tweets": len(train),
            "features": self.features.size,
            "parameters": int(self.classifier.coef_.size + self.classifier.intercept_.size),
        }

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        split = encode_words(texts, self.vocab, self.cleaning, html_decoded=html_decoded)
        probs = self.classifier.predict_proba(self.weighting.transform(self.features.matrix(split)))
        out = np.zeros((len(split), len(self.labels)))
        out[:, self.classifier.classes_] = probs
        return out


@register
class FastTextBaseline(Baseline):
    """fastText's supervised classifier with SPEC's settings: word 1-2 grams, 100-d vectors, 5 epochs, lr 0.1."""

    name = "fasttext"
    title = "fastText 1-2 grams"
    settings: ClassVar[dict[str, Any]] = {"wordNgrams": 2, "dim": 100, "epoch": 5, "lr": 0.1, "minCount": 1}

    def __init__(self, autotune_seconds: int = 0) -> None:
        self.autotune_seconds = autotune_seconds

    @classmethod
    def create(cls, autotune_seconds: int = 0) -> Baseline:
        return cls(autotune_seconds)

    def fit(self, dataset: Dataset) -> dict[str, Any]:
        import tempfile

        train = dataset.for_training("train")
        start = time.perf_counter()
        self.vocab, self.cleaning, self.labels = dataset.vocab, dataset.cleaning, dataset.classes
        with tempfile.TemporaryDirectory() as folder:  # fastText trains from a file of `__label__K words` lines
            path = self._write(train, f"{folder}/train.txt")
            settings = self.settings
            if self.autotune_seconds:  # fastText's own search, scored on the validation split
                val = self._write(dataset.for_training("val"), f"{folder}/val.txt")
                settings = {"autotuneValidationFile": val, "autotuneDuration": self.autotune_seconds}
            self.model = self._train_file(path, settings)
        seconds = time.perf_counter() - start
        info: dict[str, Any] = {
            "train_seconds": round(seconds, 2),
            "train_tweets_per_second": round(len(train) / seconds, 1),
            "train_tweets": len(train),
            "features": len(self.model.words),
            "parameters": int(self.model.get_input_matrix().size + self.model.get_output_matrix().size),
        }
        if self.autotune_seconds:
            args = self.model.f.getArgs()
            info["autotuned"] = {k: getattr(args, k) for k in ("wordNgrams", "dim", "epoch", "lr", "minCount")}
        return info

    def _train_file(self, path: str, settings: dict[str, Any]) -> Any:
        """fastText's fit of a `__label__K words` file. A search's last step trains its best settings once more,
        apart, and that fit can diverge (NaN), its threads racing, where the trial did not (the search skips trials
        that diverge): the search then runs again."""
        import fasttext

        for attempt in range(1, AUTOTUNE_ATTEMPTS + 1):
            try:
                return fasttext.train_supervised(input=path, verbose=0, thread=os.cpu_count() or 1, **settings)
            except RuntimeError as error:
                if not self.autotune_seconds:
                    raise
                if "enough time" in str(error):
                    raise UserError(
                        f"fastText's search finished no fit in {self.autotune_seconds} s; "
                        "give --ft-autotune more seconds"
                    ) from None
                if "NaN" not in str(error):
                    raise
                if attempt == AUTOTUNE_ATTEMPTS:
                    raise UserError(
                        f"fastText's search diverged (NaN) {attempt} times; give --ft-autotune more seconds, "
                        "or 0 for fastText's usual settings"
                    ) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _write(self, split: Split, path: str) -> str:
        """The split as `__label__K words` lines. fastText's SGD reads the file in order: a file sorted by label
        (Sentiment140's is) would leave it with the last class's words, so the lines are shuffled (seeded)."""
        lines = self.vocab.joined(split.ids, split.offsets)
        labels = split.labels.tolist()
        order = np.random.default_rng(0).permutation(len(lines)).tolist()
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(f"__label__{labels[i]} {lines[i]}\n" for i in order)
        return path

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        split = encode_words(texts, self.vocab, self.cleaning, html_decoded=html_decoded)
        lines = self.vocab.joined(split.ids, split.offsets)
        names, probs = self.model.predict(lines, k=len(self.labels), threshold=0.0)
        out = np.zeros((len(split), len(self.labels)))
        for row, (tags, p) in enumerate(zip(names, probs, strict=True)):
            out[row, [int(t.removeprefix("__label__")) for t in tags]] = p
        return out


@register
class VaderBaseline(Baseline):
    name = "vader"
    title = "VADER lexicon"
    probabilistic = False
    learns = False
    labels = VADER_LABELS

    @classmethod
    def applies(cls, dataset: Dataset) -> bool:
        return set(dataset.labels) <= set(STANDARD)

    def fit(self, dataset: Dataset) -> dict[str, Any]:
        return {"train_seconds": 0.0, "train_tweets": 0, "parameters": None}

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        return vader_probs(vader_scores(texts, html_decoded))
