"""What a comparison's results hold: one typed entry per report row (a model, an ensemble or a baseline) and the
results around them. They are plain dictionaries at run time (results.json is written from them as they are);
the types say which keys each has."""

from __future__ import annotations

from typing import Any, TypedDict

# Set name -> that set's metrics (core.metrics.split_metrics' keys, `dropped`, and `sd` / `seed_count` for a mean
# over seeds); None where the entry predicts none of the set's labels.
Scores = dict[str, dict[str, Any] | None]


class Entry(TypedDict, total=False):
    """What every row has."""

    name: str
    model: str  # the registry name (a model) or the baseline's name
    kind: str  # "model", "ensemble" or "baseline"
    labels: list[str]
    scores: Scores
    train_seconds: float | None
    train_tweets: int
    train_tweets_per_second: float | None
    parameters: int | None
    predict_tweets_per_second: float | None
    predict_tweets_timed: int


class ModelEntry(Entry, total=False):
    """A run (or ensemble, or packaged model folder) scored by compare."""

    runtime: str
    run_dir: str
    trained_here: bool
    val_tweets: int
    preset: str | None
    epochs: float | None
    steps: int | None
    best_step: int | None
    max_steps: int | None
    budget_minutes: float | None
    stopped_by_budget: bool | None
    fit_seconds: float | None
    trainable_parameters: int | None
    device: str | None
    precision: str | None
    own_val: dict[str, Any] | None  # the run's own validation figures (its summary's)
    artifact_bytes: int
    command: str | None
    versions: dict[str, str]
    split_note: str | None
    seeds: list[int]  # the seeds behind the row (trained here)
    per_seed: list[dict[str, Any]]  # each seed's figures, from two seeds on
    row: str  # until the seeds of a row are combined
    seed: int  # idem


class BaselineEntry(Entry, total=False):
    """A baseline fitted inside compare."""

    features: int
    cached: bool
    autotuned: dict[str, Any]  # fastText's own search (--ft-autotune): the settings it chose


class Results(TypedDict, total=False):
    """results.json."""

    created: str
    command: str
    preset: str
    budget_minutes: float | None
    budget_share_minutes: float | None
    seeds: int
    transfer_seeds: int
    dataset: dict[str, Any]
    sets: list[dict[str, Any]]
    predict_sample: int
    models: list[ModelEntry]
    baselines: list[BaselineEntry]
    word_map: dict[str, Any] | None
    figures: dict[str, str]
    accuracy_during_training: bool
    versions: dict[str, str]
    machine: dict[str, Any]
    report_seconds: float


def metrics(entry: Entry, name: str) -> dict[str, Any]:
    """The entry's metrics on the set `name`, for an entry known to be scored on it."""
    m = entry["scores"].get(name)
    if m is None:
        raise KeyError(f"{entry['name']} has no figures on {name}")
    return m
