"""Choosing the checkpoint by a hand-labelled file (`train --select-data FILE`): the step with the best macro-F1
on it is kept instead of the lowest validation loss, scored every --eval-every steps into metrics.csv and
summary.json; a label the model lacks is refused before a run is written; neutral tweets are left out for a
negative/positive model."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    NEG_WORDS,
    POS_WORDS,
    invoke_cli,
    module_caches,
    write_csv,
    write_small_data_dir,
)

Cli = Callable[..., tuple[int, str, str]]
STEPS, EVERY = 30, 5
NEUTRAL = ["going to work", "reading the news", "on the bus today", "at the office"]


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", "lstm", "--data-dir", str(data), "--max-steps", str(STEPS), "--batch-size", "32",
        "--eval-every", str(EVERY), "--log-every", str(EVERY), "--precision", "32-true", "--out", str(out),
        "--no-progress", *extra,
    ]  # fmt: skip


def opposite_rows() -> list[list[str]]:
    """Happy words labelled negative and sad words positive (the opposite of the fixture's emoticon labels),
    plus neutral tweets."""
    rows = [[f"{a} {b}", "negative"] for a, b in zip(POS_WORDS, POS_WORDS[1:] + POS_WORDS[:1], strict=True)]
    rows += [[f"{a} {b}", "positive"] for a, b in zip(NEG_WORDS, NEG_WORDS[1:] + NEG_WORDS[:1], strict=True)]
    return rows + [[t, "neutral"] for t in NEUTRAL]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A module folder whose caches every test of the module shares (the Sentiment140 fixture is prepared once)."""
    with module_caches(tmp_path_factory.mktemp("select")) as folder:
        yield folder


@pytest.fixture(autouse=True)
def _shared_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(root / "glove"))


@pytest.fixture(scope="module")
def data_dir(root: Path) -> Path:
    return write_small_data_dir(root / "s140")


@pytest.fixture(scope="module")
def select_file(root: Path) -> Path:
    return write_csv(root / "opposite.csv", opposite_rows(), header=["text", "label"])


@pytest.fixture(scope="module")
def plain(root: Path, data_dir: Path) -> Path:
    """A run chosen by validation loss."""
    out = root / "plain"
    code, _, err = invoke_cli(*train_args(data_dir, out))
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def selected(root: Path, data_dir: Path, select_file: Path) -> Path:
    """The same run (same seed), chosen by macro-F1 on the opposite-labelled file."""
    out = root / "selected"
    code, _, err = invoke_cli(*train_args(data_dir, out, "--select-data", str(select_file)))
    assert code == 0, err
    return out


def summary(run: Path) -> dict[str, Any]:
    return dict(json.loads((run / "summary.json").read_text()))


def rows(run: Path, split: str) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["split"] == split]


def test_selection_picks_another_step_than_validation_loss(plain: Path, selected: Path) -> None:
    """Learning the emoticon labels lowers validation loss and loses macro-F1 on the opposite labels: the run
    chosen by the file keeps an earlier step than the one chosen by validation loss."""
    base, chosen = summary(plain), summary(selected)
    assert base["selected_by"] == "val_loss" and chosen["selected_by"] == "select"
    assert base["steps"] == chosen["steps"] == STEPS
    assert chosen["best_step"] != base["best_step"]
    assert chosen["best_step"] < base["best_step"]
    # Validation loss prefers the later step (the sample scored every --eval-every steps), and the weights kept
    # are the chosen step's: worse on validation than the plain run's.
    val = {int(r["step"]): float(r["loss"]) for r in rows(selected, "val")}
    assert val[chosen["best_step"]] > val[base["best_step"]]
    assert chosen["val"]["loss"] > base["val"]["loss"]
    # The learning itself is the same run: the same seed gives the same training rows.
    assert [r["loss"] for r in rows(plain, "train")] == [r["loss"] for r in rows(selected, "train")]


def test_selection_rows_and_block_are_written(selected: Path, plain: Path) -> None:
    """metrics.csv has a "select" row every --eval-every steps; summary.json a "select" block that scores the kept
    weights (the row of the chosen step), which are the best macro-F1's; a plain run has neither."""
    select_rows = rows(selected, "select")
    assert [int(r["step"]) for r in select_rows] == list(range(EVERY, STEPS + 1, EVERY))
    block = summary(selected)["select"]
    assert block["labels"] == ["negative", "positive"]
    chosen = next(r for r in select_rows if int(r["step"]) == summary(selected)["best_step"])
    assert block["accuracy"] == pytest.approx(float(chosen["accuracy"]), abs=1e-6)
    assert block["loss"] == pytest.approx(float(chosen["loss"]), abs=1e-5)
    assert "select" not in summary(plain) and not rows(plain, "select")


def test_neutral_selection_tweets_are_left_out(selected: Path) -> None:
    """A negative/positive model has no neutral output to be chosen by: the file's neutral tweets are dropped
    (not an error) and the selection is scored on the others only."""
    block = summary(selected)["select"]
    polar = [r for r in opposite_rows() if r[1] != "neutral"]
    assert sum(map(sum, block["confusion"])) == len(polar)


def test_a_label_the_model_lacks_is_refused(run_cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    """--select-data with a label the model does not predict: one line, exit 2, and no run written."""
    bad = write_csv(tmp_path / "angry.csv", [["hate it", "angry"], ["love it", "positive"]], header=["text", "label"])
    out = tmp_path / "run"
    code, _, err = run_cli(*train_args(data_dir, out, "--select-data", str(bad)))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "angry" in err
    assert not (out / "config.json").exists()


def test_select_data_is_recorded_as_an_absolute_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A relative --select-data is recorded absolute in config.json (as --val-data and --test-data are), so that
    `evaluate RUN_DIR` and `train --config RUN_DIR/config.json` find it from any folder."""
    from tweetsent.training.config import data_config

    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "sel.csv", opposite_rows(), header=["text", "label"])
    config = data_config({}, {"select_data": "sel.csv", "val_data": "sel.csv"})
    assert Path(config.val_data or "").is_absolute()
    assert Path(config.select_data or "").is_absolute()
