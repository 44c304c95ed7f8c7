"""`train --seeds N`: the same run once per seed, in OUT/seedK, and OUT/seeds.json with each figure's mean and
standard deviation over the seeds (each seed's own figures stay in its summary.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweetsent.core.atomic import write_json
from tweetsent.core.metrics import mean_fields, seed_spread
from tweetsent.core.runs import RunFolder
from tweetsent.training.config import TrainConfig

SEEDS_FILE = "seeds.json"
AVERAGED = ("epochs", "steps", "train_seconds", "train_tweets_per_second")


def seed_list(first: int | None, count: int) -> list[int]:
    """`count` seeds from `first` upwards; from TrainConfig's default seed when `first` is not given."""
    base = TrainConfig.seed if first is None else first
    return [base + k for k in range(count)]


def seed_dirs(out: Path, seeds: list[int]) -> list[Path]:
    return [out / f"seed{seed}" for seed in seeds]


def summarize_seeds(out: Path, seeds: list[int]) -> dict[str, Any]:
    """Every finished seed's summary combined: the figures of each scored set (val and the test sets) as the
    mean over seeds with their `sd`, the training figures averaged; written to OUT/seeds.json."""
    runs = seed_dirs(out, seeds)
    summaries = [RunFolder(r).read_summary() for r in runs]
    first = summaries[0]
    sets = [k for k, v in first.items() if isinstance(v, dict) and "accuracy" in v]
    result: dict[str, Any] = {
        "model": first.get("model"),
        "preset": first.get("preset"),
        "seeds": seeds,
        "runs": [str(r) for r in runs],
        "tests": first.get("tests", []),
        **{name: seed_spread([s.get(name) for s in summaries]) for name in sets},
    }
    result.update(mean_fields(summaries, AVERAGED))
    write_json(out / SEEDS_FILE, result)
    return result
