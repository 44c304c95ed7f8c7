"""One report row per model: the runs of a model trained with several seeds shown as the mean and standard
deviation of each figure, every seed's own figures kept under `per_seed` in results.json."""

from __future__ import annotations

from tweetsent.comparison.entries import ModelEntry
from tweetsent.core.metrics import mean_fields, seed_spread

# Training figures averaged over seeds; a run's other fields (its name, folder, speed, size) are the first seed's.
AVERAGED = ("epochs", "steps", "best_step", "train_seconds", "fit_seconds", "train_tweets_per_second")
# What results.json keeps of each seed.
PER_SEED = ("seed", "run_dir", "scores", "own_val", *AVERAGED, "stopped_by_budget")


def combine_seeds(entries: list[ModelEntry]) -> list[ModelEntry]:
    """Entries that carry a `row` (the runs compare trained) grouped by it, in order of first appearance: each
    group becomes one entry with `seeds` (the seed list) and, from two seeds on, mean scores with their `sd` and
    `per_seed`. Entries without a `row` (finished runs taken as they are) pass through."""
    groups: dict[str | int, list[ModelEntry]] = {}  # a row's name, or an entry's position when it has none
    for i, e in enumerate(entries):
        groups.setdefault(e.get("row", i), []).append(e)
    return [_combined(group) if "row" in group[0] else group[0] for group in groups.values()]


def _combined(runs: list[ModelEntry]) -> ModelEntry:
    row: ModelEntry = {k: v for k, v in runs[0].items() if k not in ("row", "seed")}  # type: ignore[assignment]
    row["seeds"] = [r["seed"] for r in runs]
    if len(runs) == 1:
        return row
    names = list(dict.fromkeys(name for r in runs for name in r["scores"]))
    row["scores"] = {name: seed_spread([r["scores"].get(name) for r in runs]) for name in names}
    row.update(mean_fields(runs, AVERAGED))  # type: ignore[typeddict-item]
    row["per_seed"] = [{k: r.get(k) for k in PER_SEED} for r in runs]
    return row
