"""`tweetsent evaluate RUN_DIR`: recompute the summary metrics and plots from the run's `model/` artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tweetsent import paths
from tweetsent.atomic import write_json
from tweetsent.data.prepare import PrepareConfig, prepare
from tweetsent.data.sources import DataFile, DataFiles
from tweetsent.errors import UserError
from tweetsent.evaluation.plots import write_run_plots
from tweetsent.inference.artifact import load_artifact
from tweetsent.training.config import TrainConfig
from tweetsent.training.run import evaluate_splits, read_run_config, seeded_subset


def _data_file(text: str) -> DataFile:
    path, _, member = text.partition("!")
    return DataFile(Path(path), member or None)


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    config = read_run_config(run_dir)
    artifact = load_artifact(run_dir)
    train_config = TrainConfig.from_dict(config["train"])
    files = DataFiles(_data_file(config["data"]["train"]), _data_file(config["data"]["test"]))
    for f in (files.train, files.test):
        if not f.path.is_file():
            raise UserError(f"{f.path}: the run's data file is gone (needed to rebuild its evaluation splits)")
    prepared = prepare(files, PrepareConfig.from_dict(config["prepare"]), paths.cache_dir())
    if prepared.vocab.digest() != artifact.config.get("vocab_digest"):
        raise UserError(f"{run_dir}: the model's vocabulary differs from the prepared data's (data changed?)")
    splits = {
        "val": seeded_subset(prepared["val"], train_config.val_size, train_config.seed),
        "test": prepared["test"],
        "test_seed": prepared["test_seed"],
    }
    metrics = evaluate_splits(artifact.model, splits, artifact.max_length)
    summary_path = Path(run_dir) / "summary.json"
    summary: dict[str, Any] = {}
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text())
        except ValueError:
            summary = {}
    summary.update({"model": artifact.config["model"], **metrics})
    write_json(summary_path, summary)
    write_run_plots(Path(run_dir), summary)
    return summary
