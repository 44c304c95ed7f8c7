"""`tweetsent evaluate RUN_DIR`: recompute the summary metrics and plots from the run's `model/` artifact, on the
run's own validation rows and test sets (its dataset rebuilt from config.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEUTRAL, evaluation_space
from tweetsent.core.model_folder import resolve_margin, resolve_model_dir
from tweetsent.core.records import RecordError, from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.evaluation.neutral import band_metrics, margin_curves, plot_margin_curves
from tweetsent.models.artifact import load_artifact
from tweetsent.training.config import TrainConfig
from tweetsent.training.datamodule import chosen_rows
from tweetsent.training.plots import write_run_plots
from tweetsent.training.run import read_run_config


def run_dataset(run_dir: Path) -> tuple[Dataset, TrainConfig]:
    """The dataset a run trained on (rebuilt from its config.json: the same files, splits and cleaning) with its
    train and val splits cut as training cut them, and its training settings."""
    config = read_run_config(run_dir)
    if "data" not in config or "dataset" not in config:
        raise UserError(f"{run_dir}: made by an older tweetsent (no data section in config.json); use --data FILE")
    try:
        data = from_dict(DataConfig, config["data"], where="data.")
    except RecordError as e:
        raise UserError(f"{RunFolder(run_dir).config}: {e}") from None
    train_config = TrainConfig.from_dict(config["train"])
    dataset = load_dataset(data)
    return chosen_rows(dataset, train_config.train_size, train_config.val_size, train_config.seed), train_config


def evaluate_run(run_dir: Path, neutral_margin: float | None = None) -> dict[str, Any]:
    """Recompute summary.json and plots; for a negative/positive model with a neutral band (calibrated, or
    `neutral_margin`; 0 disables) also the test metrics with the band under "neutral_band", and
    plots/neutral_margin.png for the test sets with neutral tweets either way."""
    run_dir = Path(run_dir)
    read_run_config(run_dir)  # a wrong folder first, then a damaged model, before the (slow) data
    predictor = load_artifact(run_dir)
    dataset, _ = run_dataset(run_dir)
    labels = predictor.labels
    names = ["val", *dataset.tests]
    # One prediction per split feeds both the summary and the neutral band.
    probs = {n: predictor.predict_proba(dataset[n].texts, html_decoded=True) for n in names}
    spaces = {n: evaluation_space(labels, dataset.present(n), where=f"{n}: ") for n in names}
    golds = {n: dataset.gold(n, spaces[n]) for n in names}
    metrics = {n: band_metrics(probs[n], golds[n], labels, spaces[n], 0.0) for n in names}
    folder = RunFolder(run_dir)
    summary: dict[str, Any] = {}
    if folder.finished:
        try:
            summary = folder.read_summary()
        except UserError:  # a damaged summary is rewritten from scratch
            summary = {}
    summary.update({"model": predictor.name, "tests": dataset.tests, **metrics})
    summary.pop("neutral_band", None)
    banded = [n for n in dataset.tests if labels.bandable and NEUTRAL in spaces[n]]
    if banded:
        margin = resolve_margin(resolve_model_dir(run_dir), neutral_margin)
        curves = {n: margin_curves(probs[n], golds[n], labels) for n in banded}
        # A model that never says neutral tops out at the share of polar tweets (359/498 on Sentiment140's test).
        ceiling = float((golds[banded[0]] != spaces[banded[0]].index(NEUTRAL)).mean())
        title = f"{predictor.name} on the test tweets: the neutral band"
        plot_margin_curves(curves, folder.plots / "neutral_margin.png", title=title, chosen=margin, ceiling=ceiling)
        if margin > 0:
            summary["neutral_band"] = {
                "margin": margin,
                **{n: band_metrics(probs[n], golds[n], labels, spaces[n], margin) for n in banded},
            }
    folder.write_summary(summary)
    write_run_plots(run_dir, summary)
    return summary
