"""`tweetsent evaluate RUN_DIR`: recompute the summary metrics and plots from the run's `model/` artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tweetsent import paths
from tweetsent.atomic import write_json
from tweetsent.data.prepare import PrepareConfig, prepare, seeded_rows, seeded_subset
from tweetsent.data.sources import DataFile, DataFiles
from tweetsent.errors import UserError
from tweetsent.evaluation.metrics import summary_metrics
from tweetsent.evaluation.neutral import band_summary, resolve_margin
from tweetsent.evaluation.plots import write_run_plots
from tweetsent.inference.artifact import load_artifact, resolve_model_dir
from tweetsent.training.config import TrainConfig
from tweetsent.training.run import predict_splits, read_run_config


def _data_file(text: str) -> DataFile:
    path, _, member = text.partition("!")
    return DataFile(Path(path), member or None)


def evaluate_run(run_dir: Path, neutral_margin: float | None = None) -> dict[str, Any]:
    """Recompute summary.json and plots; with a neutral band (calibrated, or `neutral_margin`; 0 disables)
    also the test metrics with the band under "neutral_band", and plots/neutral_margin.png either way."""
    config = read_run_config(run_dir)
    artifact = load_artifact(run_dir)
    train_config = TrainConfig.from_dict(config["train"])
    files = DataFiles(_data_file(config["data"]["train"]), _data_file(config["data"]["test"]))
    for f in (files.train, files.test):
        if not f.path.is_file():
            raise UserError(f"{f.path}: the run's data file is gone (needed to rebuild its evaluation splits)")
    prepared = prepare(files, PrepareConfig.from_dict(config["prepare"]), paths.cache_dir())
    if artifact.kind == "bert":
        # The same rows through the saved tokenizer and cleaning (the training run's tokenized cache when valid).
        from tweetsent.data.bert_tokens import tokenized_splits

        rows = {"val": seeded_rows(len(prepared["val"]), train_config.val_size, train_config.seed)}
        tokenizer = artifact.tokenizer  # type: ignore[attr-defined]
        splits = tokenized_splits(
            files,
            prepared,
            tokenizer,
            artifact.max_length,
            artifact.cleaning,
            paths.cache_dir(),
            {**rows, "test": None, "test_seed": None},
        )
    else:
        if prepared.vocab.digest() != artifact.config.get("vocab_digest"):
            raise UserError(f"{run_dir}: the model's vocabulary differs from the prepared data's (data changed?)")
        splits = {
            "val": seeded_subset(prepared["val"], train_config.val_size, train_config.seed),
            "test": prepared["test"],
            "test_seed": prepared["test_seed"],
        }
    # One prediction per split feeds both the summary and the neutral band.
    probs = predict_splits(artifact.model, splits, artifact.max_length)
    metrics = {name: summary_metrics(name, probs[name], split.labels) for name, split in splits.items()}
    summary_path = Path(run_dir) / "summary.json"
    summary: dict[str, Any] = {}
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text())
        except ValueError:
            summary = {}
    summary.update({"model": artifact.config["model"], **metrics})
    margin = resolve_margin(resolve_model_dir(run_dir), neutral_margin)
    tests = ("test", "test_seed")
    title = f"{artifact.config['model']} on the test tweets: the neutral band"
    band = band_summary(
        {name: probs[name] for name in tests},
        {name: splits[name].labels for name in tests},
        margin,
        Path(run_dir) / "plots" / "neutral_margin.png",
        title,
    )
    summary.pop("neutral_band", None)
    if band:
        summary["neutral_band"] = band
    write_json(summary_path, summary)
    write_run_plots(Path(run_dir), summary)
    return summary
