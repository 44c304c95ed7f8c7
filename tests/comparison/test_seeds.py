"""Runs of one model over seeds as one report row: means, sample standard deviations, one seed alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tweetsent.comparison.options import CompareOptions
from tweetsent.comparison.planning import seeds
from tweetsent.comparison.seeds import combine_seeds
from tweetsent.core.metrics import mean_sd, seed_spread
from tweetsent.training.seeds import seed_list


def _entry(row: str | None, seed: int, f1: float, seconds: float, test: bool = True) -> dict[str, Any]:
    scores: dict[str, Any] = {"val": {"accuracy": f1 + 0.1, "macro_f1": f1, "loss": None, "confusion": [[seed]]}}
    scores["test"] = {"accuracy": f1, "macro_f1": f1, "loss": 0.5, "confusion": [[seed]]} if test else None
    entry = {"name": f"m-{row}", "seed": seed, "run_dir": f"runs/{row}-{seed}", "scores": scores}
    entry |= {"train_seconds": seconds, "predict_tweets_per_second": 100.0 if seed == 0 else None}
    return entry if row is None else {**entry, "row": row}


def test_mean_and_sample_standard_deviation() -> None:
    assert mean_sd([0.6, 0.7, 0.8]) == (pytest.approx(0.7), pytest.approx(0.1))
    assert mean_sd([0.5]) == (0.5, None)


def test_a_row_of_seeds_becomes_its_mean_and_spread() -> None:
    a, b = _entry("lstm", 0, 0.60, 10.0), _entry("lstm", 1, 0.70, 14.0)
    (row,) = combine_seeds([a, b])
    assert row["seeds"] == [0, 1] and "row" not in row and "seed" not in row
    test = row["scores"]["test"]
    assert test["macro_f1"] == pytest.approx(0.65) and test["sd"]["macro_f1"] == pytest.approx(0.1 / 2**0.5)
    assert test["loss"] == pytest.approx(0.5) and test["sd"]["loss"] == pytest.approx(0.0)
    assert test["confusion"] == [[0]] and test["seed_count"] == 2  # the first seed's matrix
    assert row["scores"]["val"]["sd"].get("loss") is None  # no seed has a loss there
    assert row["train_seconds"] == pytest.approx(12.0)
    assert row["predict_tweets_per_second"] == 100.0  # timed on the first seed
    assert [s["run_dir"] for s in row["per_seed"]] == ["runs/lstm-0", "runs/lstm-1"]
    assert row["per_seed"][1]["scores"]["test"]["macro_f1"] == 0.70


def test_one_seed_rows_and_taken_runs_keep_their_figures() -> None:
    single, taken = _entry("bert", 0, 0.8, 5.0), _entry(None, 0, 0.9, 1.0)
    rows = combine_seeds([_entry("lstm", 0, 0.6, 1.0), single, taken, _entry("lstm", 1, 0.7, 1.0)])
    assert [r["name"] for r in rows] == ["m-lstm", "m-bert", "m-None"]  # in order of first appearance
    assert rows[1]["seeds"] == [0] and rows[1]["scores"] == single["scores"] and "per_seed" not in rows[1]
    assert rows[2] is taken


def test_a_set_missing_from_a_seed_averages_the_others() -> None:
    assert seed_spread([None, None]) is None
    spread = seed_spread([{"macro_f1": 0.5}, None, {"macro_f1": 0.7}])
    assert spread is not None and spread["macro_f1"] == pytest.approx(0.6) and spread["seed_count"] == 2


def test_compare_draws_its_seeds_as_train_does(tmp_path: Path) -> None:
    """`compare --seeds N` runs the seeds `train --seeds N` would; --transfer-seeds counts the recipe's own."""
    assert seeds(CompareOptions(out=tmp_path, seeds=2)) == seed_list(None, 2)
    transfer = CompareOptions(out=tmp_path, train={"seed": 7}, seeds=1, transfer_seeds=3)
    assert seeds(transfer) == [7] and seeds(transfer, "transfer") == [7, 8, 9]
