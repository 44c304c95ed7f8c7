"""The layout of a training run's folder: every module that reads or writes a run goes through `RunFolder`, so the
file names are spelled here once.

RUN_DIR/config.json     everything needed to repeat the run (`train --config RUN_DIR/config.json`)
RUN_DIR/summary.json    final numbers on val and every test set
RUN_DIR/metrics.csv     step, epoch, split, loss, accuracy (+ seconds, accuracy_binary)
RUN_DIR/model/          the self-contained model folder (its own format: models/artifact.py)
RUN_DIR/checkpoints/    last.ckpt (for --resume) and best.ckpt (the selected weights)
RUN_DIR/logs/           Lightning's CSV (and TensorBoard) logs
RUN_DIR/plots/          learning curves and confusion matrices
RUN_DIR/eval/NAME/      `evaluate --data` on a labelled file
OUT/results.json        every number of a `compare` report (and a packaged model folder's figures)
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweetsent.core.atomic import write_json
from tweetsent.core.errors import UserError


@dataclass(frozen=True)
class MetricsRow:
    """One row of metrics.csv."""

    step: int
    epoch: float
    split: str
    loss: float
    accuracy: float
    seconds: float | None  # None: a file written before the column existed (or an empty cell)
    accuracy_binary: float | None  # the same


class RunFolder:
    """A training run's folder: the paths of its files, and their readers and writers."""

    CONFIG = "config.json"
    SUMMARY = "summary.json"
    METRICS = "metrics.csv"
    MODEL = "model"
    CHECKPOINTS = "checkpoints"
    LAST = "last.ckpt"
    BEST = "best.ckpt"
    LOGS = "logs"
    PLOTS = "plots"
    EVAL = "eval"
    RESULTS = "results.json"
    # The five SPEC columns first; `seconds` (wall time since training started, for curves against time) and
    # `accuracy_binary` (gold negative/positive tweets only; equal to accuracy on train and val) follow.
    METRICS_COLUMNS = ("step", "epoch", "split", "loss", "accuracy", "seconds", "accuracy_binary")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- paths -------------------------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def model(self) -> Path:
        return self.path / self.MODEL

    @property
    def checkpoints(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / self.LAST

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / self.BEST

    @property
    def logs(self) -> Path:
        return self.path / self.LOGS

    @property
    def plots(self) -> Path:
        return self.path / self.PLOTS

    @property
    def results(self) -> Path:
        return self.path / self.RESULTS

    def eval(self, name: str) -> Path:
        """The folder of `evaluate --data` results on the labelled file `name`."""
        return self.path / self.EVAL / name

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Training has written its settings (it may have stopped before its first checkpoint)."""
        return self.config.is_file()

    @property
    def finished(self) -> bool:
        """Training ran to the end and wrote its summary."""
        return self.summary.is_file()

    # -- reading and writing ---------------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        """config.json; a missing or unreadable one is a one-line UserError."""
        return read_object(self.config, "run config", missing=f"{self.path}: not a run directory (no {self.CONFIG})")

    def read_summary(self) -> dict[str, Any]:
        """summary.json; a missing or unreadable one is a one-line UserError."""
        return read_object(self.summary, "run summary", missing=f"{self.path}: not a finished run (no {self.SUMMARY})")

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.config, config)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.summary, summary)

    def read_metrics(self) -> list[MetricsRow]:
        """metrics.csv's rows in file order; a missing or malformed file is a one-line UserError."""
        rows = []
        try:
            with open(self.metrics, newline="") as f:
                for line, r in enumerate(csv.DictReader(f), start=2):
                    try:
                        rows.append(
                            MetricsRow(
                                step=int(r["step"]),
                                epoch=float(r["epoch"]),
                                split=str(r["split"]),
                                loss=float(r["loss"]),
                                accuracy=float(r["accuracy"]),
                                seconds=_optional(r.get("seconds")),
                                accuracy_binary=_optional(r.get("accuracy_binary")),
                            )
                        )
                    except (KeyError, TypeError, ValueError) as e:
                        raise UserError(f"{self.metrics}:{line}: malformed metrics row ({_first_line(e)})") from None
        except FileNotFoundError:
            raise UserError(f"{self.path}: no {self.METRICS}") from None
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise UserError(f"{self.metrics}: cannot read ({_first_line(e)})") from None
        return rows


def read_object(path: Path, what: str, missing: str | None = None) -> dict[str, Any]:
    """A JSON object from `path`; a missing (`missing`: its message), unreadable or non-object file is a one-line
    UserError naming `what`."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(missing or f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: corrupt {what} ({_first_line(e)})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: corrupt {what} (not a JSON object)")
    return data


def _optional(cell: str | None) -> float | None:
    # Older files lack the last columns; a short row leaves them None too.
    return float(cell) if cell else None


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
