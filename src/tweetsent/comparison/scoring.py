"""Scoring and timing: the sets every entry is scored on, the metrics on them, prediction speed, the baselines'
cached entries and the machine the speeds were measured on."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.comparison.baselines import BASELINES, Baseline
from tweetsent.comparison.entries import BaselineEntry
from tweetsent.comparison.options import CompareOptions
from tweetsent.core import paths
from tweetsent.core.atomic import write_json
from tweetsent.core.labels import LabelSet
from tweetsent.core.splits import seeded_rows
from tweetsent.data.dataset import Dataset, file_name
from tweetsent.data.labelled import ReadOptions, TweetRows, parse_label_map, read_labelled_file
from tweetsent.evaluation.neutral import band_metrics

# Prediction speed is timed on the test sets plus validation tweets up to this many (a fixed sample): enough that
# the figure is a steady rate, with batches as a file of tweets gives them.
PREDICT_SAMPLE = 10_000
BASELINE_CACHE_VERSION = 4


@dataclass
class ScoreSet:
    """A set every entry is scored on: a dataset split (labels indexing the dataset's) or a cross-domain file
    (label names as written, matched to each entry's labels)."""

    name: str
    kind: str  # "val", "test" or "cross"
    texts: list[str]
    names: list[str]  # gold label names
    source: str
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def score_sets(dataset: Dataset, eval_data: Sequence[str], read: ReadOptions) -> list[ScoreSet]:
    """The dataset's validation rows and test sets, then each cross-domain file (read once, labels as written
    or through --eval-label-map)."""
    out = []
    for name in ["val", *dataset.tests]:
        split = dataset[name]
        names = [dataset.labels.names[i] for i in split.labels.tolist()]
        out.append(ScoreSet(name, "val" if name == "val" else "test", as_list(split.texts), names, dataset.name))
    taken = {s.name for s in out}
    for path in eval_data:
        rows = _read_cross(path, read)
        name, k = file_name(path), 2
        while name in taken:
            name, k = f"{file_name(path)}-{k}", k + 1
        taken.add(name)
        out.append(ScoreSet(name, "cross", rows.texts, rows.labels or [], rows.source, rows.dropped))
    return out


def _read_cross(path: str, read: ReadOptions) -> TweetRows:
    return read_labelled_file(path, read, parse_label_map(read.label_map))


def score(predictor: Any, labels: LabelSet, sets: list[ScoreSet], margin: float = 0.0, loss: bool = True) -> dict:
    """Metrics of a model (or baseline) on every set: gold labels it cannot predict are dropped and counted
    (`irrelevant` in Sanders for a three-class model); the neutral band applies where `margin` > 0."""
    canonical = labels.matching(band=True)
    space = labels.with_neutral() if labels.bandable else labels
    out: dict[str, Any] = {}
    for s in sets:
        matched = [canonical.get(n.lower()) for n in s.names]
        keep = np.array([m is not None for m in matched], dtype=bool)
        if not keep.any():
            out[s.name] = None
            continue
        texts = [t for t, k in zip(s.texts, keep, strict=True) if k]
        gold = np.array([space.index(m) for m in matched if m is not None], dtype=np.int64)
        probs = predictor.predict_proba(texts, html_decoded=s.kind != "cross")
        present = LabelSet(tuple(n for i, n in enumerate(space) if i in set(gold.tolist())))
        sub = labels.with_neutral() if labels.bandable and "neutral" in present else labels
        gold = space.mapping_to(sub)[gold]
        metrics = band_metrics(probs, gold, labels, sub, margin if labels.bandable else 0.0)
        if not loss:  # not a probability model: a cross-entropy of its scores would mean nothing
            metrics["loss"] = None
        metrics["dropped"] = int((~keep).sum())
        out[s.name] = metrics
    return out


class Remembered:
    """A model whose probabilities are kept by text while a comparison scores it, so that an ensemble of runs scored
    just before (the three-class recipe's) reuses its members' instead of predicting every set again: on a CPU a
    fine-tuned encoder is most of the ensemble's time. The same network on the same text gives the same
    probabilities (up to float rounding from another batch composition)."""

    def __init__(self, inner: Any, store: dict[tuple[bool, str], np.ndarray]) -> None:
        self.inner, self.store = inner, store

    def predict_proba(
        self, texts: Sequence[str] | Any, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        keys = [(html_decoded, t) for t in as_list(texts)]
        missing = list(dict.fromkeys(k for k in keys if k not in self.store))
        if missing:
            probs = self.inner.predict_proba([t for _, t in missing], batch_size, html_decoded)
            self.store.update(zip(missing, probs, strict=True))
        return np.stack([self.store[k] for k in keys]) if keys else np.zeros((0, len(self.inner.labels)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# Texts a prediction speed is timed on, with whether they are a dataset's (HTML entities decoded already).
TimingTexts = list[tuple[list[str], bool]]
Store = dict[tuple[bool, str], np.ndarray]  # probabilities by (html_decoded, text): Remembered's


def timing_texts(sets: list[ScoreSet], size: int = PREDICT_SAMPLE) -> TimingTexts:
    """The fixed set prediction speed is measured on: the test sets, then the cross-domain files, then a seeded
    validation sample up to `size` tweets; each group read as scoring reads it, so a timed pass holds every
    prediction the scores need."""
    val = next(s for s in sets if s.kind == "val")
    tests = [t for s in sets if s.kind == "test" for t in as_list(s.texts)][:size]
    cross = [t for s in sets if s.kind == "cross" for t in as_list(s.texts)][: size - len(tests)]
    rows = seeded_rows(len(val.texts), max(0, size - len(tests) - len(cross)), 0)
    sample = as_list(val.texts) if rows is None else [val.texts[i] for i in rows]
    return [(tests + sample, True), (cross, False)]


def as_list(texts: Any) -> list[str]:
    """A split's texts (an Arrow array or any sequence) as a Python list."""
    return texts.to_pylist() if hasattr(texts, "to_pylist") else list(texts)


def predict_speed(
    predictor: Any, texts: TimingTexts, repeats: int = 3, max_seconds: float = 3.0, store: Store | None = None
) -> tuple[float, int]:
    """(tweets/s, tweets timed) from raw text to probabilities (cleaning, tokenizing and the model) as `predict`
    runs them, after a warm-up: the best of a few passes over `texts` in one call, as `predict` gives a model a
    file's tweets, since other work on the machine only ever slows a pass down. `predictor` is a Classifier or a
    baseline. With `store`, the first pass reads each group as scoring does and keeps every probability
    (Remembered) for the scores; a slow model (a BERT on a CPU) gets that pass alone, as a second would add
    nothing but time."""
    everything = [t for group, _ in texts for t in group]
    predictor.predict_proba(everything[:64])
    inner = getattr(predictor, "predictor", None)
    if store is not None and inner is not None:
        predictor.predictor = Remembered(inner, store)
        start = time.perf_counter()
        for group, decoded in texts:
            if group:
                predictor.predict_proba(group, html_decoded=decoded)
        took = time.perf_counter() - start
        predictor.predictor = inner
        if took > max_seconds:
            return round(len(everything) / took, 1), len(everything)
    best = spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict_proba(everything)
        took = time.perf_counter() - start
        best, spent = min(best, took) if best else took, spent + took
        if spent > max_seconds:
            break
    return round(len(everything) / best, 1), len(everything)


def baseline_entry(
    name: str, dataset: Dataset, sets: list[ScoreSet], texts: TimingTexts, options: CompareOptions
) -> BaselineEntry:
    """A baseline fitted on the dataset's training rows and scored on every set; cached under the data's identity."""
    cls = BASELINES[name]
    key = hashlib.blake2b(digest_size=12)
    for split in (dataset["train"], dataset["val"]):
        key.update(split.ids.tobytes())
        key.update(split.labels.tobytes())
    for s in sets:
        key.update(json.dumps([s.name, s.kind, s.names, s.texts]).encode())
    autotune = options.ft_autotune if name == "fasttext" else 0
    if autotune:
        key.update(f"autotune {autotune}".encode())
    cache = paths.cache_dir() / "baselines" / f"{name}-{key.hexdigest()}-v{BASELINE_CACHE_VERSION}.json"
    if cache.is_file() and not options.refresh_baselines:
        with contextlib.suppress(ValueError):
            cached: BaselineEntry = json.loads(cache.read_text())
            return {**cached, "cached": True}
    baseline: Baseline = cls.create(autotune)
    info = baseline.fit(dataset)
    speed, timed = predict_speed(baseline, texts)
    result: BaselineEntry = {
        "name": cls.title,
        "model": name,
        "kind": "baseline",
        "labels": baseline.labels.to_list(),
        **info,  # type: ignore[typeddict-item]
        "scores": score(baseline, baseline.labels, sets, loss=cls.probabilistic),
        "predict_tweets_per_second": speed,
        "predict_tweets_timed": timed,
    }
    write_json(cache, result)
    return {**result, "cached": False}


def machine() -> dict[str, Any]:
    """The machine the speeds were measured on: platform, CPU, threads, load and GPU."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    with contextlib.suppress(OSError, AttributeError):
        # Speeds measured on a busy machine are low (two processes' threads on two cores slow an LSTM tenfold).
        info["load_average"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
