"""`tweetsent compare`: train several models on one dataset (or take finished runs and ensembles), fit the
baselines on the same training rows, score everything on the same sets (the dataset's validation rows and test
sets, plus any `--eval-data` file: the cross-domain section), and write one report.

OUT/runs/MODEL/    the runs trained here (ordinary run directories)
OUT/images/        the report's figures
OUT/results.json   every number of the report
OUT/report.md      tables + links to images/
OUT/report.html    the same, self-contained (images embedded)
"""

from __future__ import annotations

import functools
import hashlib
import shlex
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tweetsent.comparison.baselines import BASELINES
from tweetsent.comparison.entries import BaselineEntry, ModelEntry, Results, Scores
from tweetsent.comparison.figures import draw_figures
from tweetsent.comparison.options import CompareOptions
from tweetsent.comparison.planning import (
    TrainedRun,
    check_finished_run,
    hand_dataset,
    seeds,
    train_models,
    transfer,
)
from tweetsent.comparison.scoring import (
    Remembered,
    ScoreSet,
    Store,
    TimingTexts,
    baseline_entry,
    machine,
    predict_speed,
    score,
    score_sets,
    timing_texts,
)
from tweetsent.comparison.seeds import combine_seeds
from tweetsent.core.atomic import write_json
from tweetsent.core.errors import UserError
from tweetsent.core.model_folder import CALIBRATION_FILE, weights_digest
from tweetsent.core.records import RecordError, from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.core.versions import package_versions
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.inference.classifier import Classifier
from tweetsent.models.artifact import Predictor
from tweetsent.models.ensemble import Ensemble
from tweetsent.training.config import make_config
from tweetsent.training.datamodule import chosen_rows

# Run settings that must match for two runs to share the split: the data, the cleaning and the validation draw.
_SPLIT_KEYS = ("cleaning", "val_fraction", "split_seed", "data", "val_data", "min_count")


def _dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


_SUMMARY_KEYS = (
    "preset",
    "epochs",
    "steps",
    "best_step",
    "max_steps",
    "budget_minutes",
    "stopped_by_budget",
    "train_seconds",
    "fit_seconds",
    "train_tweets_per_second",
    "parameters",
    "trainable_parameters",
    "device",
    "precision",
)


def _model_entry(
    run_dir: Path,
    dataset: Dataset,
    sets: list[ScoreSet],
    texts: TimingTexts | None,
    trained_here: bool,
    runtime: str,
    stores: dict[tuple[str, ...], Store],
) -> tuple[ModelEntry, Predictor]:
    # Scored and timed as `tweetsent predict` runs it (its runtime, bf16 where the hardware has it, a thread per
    # core), with no neutral band: the models' own decisions. Without `texts` it is not timed (a row's later seeds:
    # the same network predicts as fast).
    classifier = Classifier.load(run_dir, neutral_margin=0.0, runtime=runtime)
    predictor: Predictor = classifier.predictor
    folder = RunFolder(run_dir)
    summary = folder.read_summary() if folder.finished else {}
    config = folder.read_config() if folder.config.is_file() else {}  # a packaged folder's is the model's
    speed, timed, scores = _time_and_score(classifier, sets, texts, stores)
    val_summary = summary.get("val") if isinstance(summary.get("val"), dict) else None
    entry: ModelEntry = {
        # A packaged model folder (results.json beside its weights) is named as such.
        "name": summary.get("model") or (f"packaged {predictor.name}" if folder.results.is_file() else predictor.name),
        "model": predictor.name,
        "kind": "ensemble" if predictor.config.get("family") == "ensemble" else "model",
        "runtime": classifier.runtime,
        "labels": predictor.labels.to_list(),
        "run_dir": str(run_dir),
        "trained_here": trained_here,
        **_training_sizes(config, dataset),  # type: ignore[typeddict-item]
        **{k: summary.get(k) for k in _SUMMARY_KEYS},
        "scores": scores,
        # A run's own validation rows are those it chose; the scores' "val" are the comparison's.
        "own_val": val_summary,
        "predict_tweets_per_second": speed,
        "predict_tweets_timed": timed,
        "artifact_bytes": _dir_bytes(folder.model if folder.model.is_dir() else run_dir),
        "command": shlex.join(["tweetsent", *config.get("command", [])[1:]]) if config.get("command") else None,
        "versions": config.get("versions", {}),
        "split_note": _split_note(config, dataset),
    }
    return entry, predictor


def _time_and_score(
    classifier: Classifier, sets: list[ScoreSet], texts: TimingTexts | None, stores: dict[tuple[str, ...], Store]
) -> tuple[float | None, int, Scores]:
    """Prediction speed (timed first, on the model as it is) and scores. A model's probabilities are kept by text
    (`Remembered`) from its timed pass, so scoring reuses them; an ensemble's members reuse those of their own
    runs, scored just before it."""
    predictor = classifier.predictor

    def store(p: Any, runtime: str) -> Store | None:
        return stores.setdefault(_store_key(Path(p.folder), runtime), {}) if getattr(p, "folder", None) else None

    own = None if isinstance(predictor, Ensemble) else store(predictor, classifier.runtime)
    speed, timed = predict_speed(classifier, texts, store=own) if texts else (None, 0)
    if isinstance(predictor, Ensemble):  # its members run on torch
        predictor.members = [Remembered(m, store(m, "torch") or {}) for m in predictor.members]  # type: ignore[misc]
    elif own is not None:
        classifier.predictor = Remembered(predictor, own)
    scores = score(classifier, predictor.labels, sets)
    classifier.predictor = predictor
    return speed, timed, scores


def _store_key(folder: Path, runtime: str) -> tuple[str, ...]:
    """Which kept probabilities a model folder may reuse: those of the same weights and class priors on the same
    runtime, wherever the folder lies (an ensemble's members are copies of the runs' folders)."""
    calibration = folder / CALIBRATION_FILE
    return weights_digest(folder), calibration.read_text() if calibration.is_file() else "", runtime


def _training_sizes(config: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    train = config.get("train", {})
    sizes = {"train_size": train.get("train_size"), "val_size": train.get("val_size")}
    n_train, n_val = len(dataset["train"]), len(dataset["val"])
    return {
        "train_tweets": min(sizes["train_size"] or n_train, n_train),
        "val_tweets": min(sizes["val_size"] or n_val, n_val),
    }


@functools.cache
def _file_digest(path: str) -> str | None:
    """Content digest of a data file (a `path!member` names a zip member: the zip's digest stands for it)."""
    try:
        with open(path.partition("!")[0], "rb") as f:
            return hashlib.file_digest(f, "blake2b").hexdigest()
    except OSError:
        return None


def _split_note(config: dict[str, Any], dataset: Dataset) -> str | None:
    """Why a run's training may not be on the comparison's split (None when it is). Data files are compared
    by content: the same file in another folder is the same data."""
    if "data" not in config:
        return None if "members" in config else "its config.json has no data section: split unknown"
    try:
        theirs = from_dict(DataConfig, config["data"]).to_dict()
    except RecordError:
        return "its config.json has a damaged data section: split unknown"
    ours = dataset.config.to_dict()
    differ = [k.replace("_", " ") for k in _SPLIT_KEYS if k not in ("data",) and theirs.get(k) != ours.get(k)]
    theirs_files, ours_files = theirs.get("data") or (), ours.get("data") or ()
    if [_file_digest(f) for f in theirs_files] != [_file_digest(f) for f in ours_files]:
        differ.append("training data")
    return f"trained with other {', '.join(differ)} than this comparison" if differ else None


def _labels(entries: list[ModelEntry]) -> None:
    """Two runs of the same model are told apart by their folder names."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["name"]] = counts.get(e["name"], 0) + 1
    for e in entries:
        if counts[e["name"]] > 1:
            e["name"] = f"{e['name']} ({Path(e['run_dir']).name})"


# ---------------------------------------------------------------------------------------------- the comparison


def compare(options: CompareOptions, log: Callable[[str], None] = lambda _: None) -> Results:
    """Train, collect, score baselines, draw and write the report; returns the results (also results.json)."""
    from tweetsent.comparison.report import write_report

    started = time.perf_counter()
    _check(options)
    # The data first: a missing file is reported before any training.
    dataset = load_dataset(options.data)
    # The rows the models trained and validated on: the seeded subsets `train` draws for --train-size/--val-size.
    chosen = chosen_rows(dataset, options.train.get("train_size"), options.train.get("val_size"), seeds(options)[0])
    sets = score_sets(chosen, options.eval_data, options.eval_read)
    options.out.mkdir(parents=True, exist_ok=True)

    hand = hand_dataset(options)  # a missing --transfer-data file is reported before any training too
    trained = train_models(options, dataset, log)
    trained += transfer(options, hand, trained, log)
    texts = timing_texts(sets)
    entries, predictors = _score_runs(options, trained, dataset, sets, texts, log)
    baselines = _baselines(options, chosen, sets, texts, log) if options.baselines else []
    if options.baselines and hand is not None:  # the three-class recipe's baselines, fitted on the hand labels
        baselines += _baselines(options, hand, sets, texts, log, trained_only=True)
    figures, word_map, during = draw_figures(options.out / "images", entries, predictors, baselines, sets, dataset)
    results: Results = {
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["tweetsent", *options.command[1:]]),
        "preset": options.preset,
        "budget_minutes": options.budget_minutes,
        "seeds": options.seeds,
        "transfer_seeds": options.transfer_seeds or options.seeds,
        "budget_share_minutes": options.budget_minutes / len(options.models)
        if options.budget_minutes and options.models
        else None,
        "dataset": _dataset_entry(dataset, len(chosen["train"])),
        "sets": [{"name": s.name, "kind": s.kind, "n": len(s), "source": s.source, "dropped": s.dropped} for s in sets],
        "predict_sample": sum(len(group) for group, _ in texts),
        "models": entries,
        "baselines": baselines,
        "word_map": word_map,
        "figures": figures,
        "accuracy_during_training": during,  # the accuracy figure has its left panel
        "versions": package_versions(),
        "machine": machine(),
    }
    results["report_seconds"] = round(time.perf_counter() - started, 1)
    write_json(RunFolder(options.out).results, results)
    write_report(options.out, results)
    return results


def _score_runs(
    options: CompareOptions,
    trained: list[TrainedRun],
    dataset: Dataset,
    sets: list[ScoreSet],
    texts: TimingTexts,
    log: Callable[[str], None],
) -> tuple[list[ModelEntry], dict[str, Predictor]]:
    """The entries of the runs trained here (a row per model, its seeds combined) and of those taken as they are,
    with each row's predictor by run folder (the word map draws from one)."""
    log("scoring the runs")
    entries: list[ModelEntry] = []
    predictors: dict[str, Predictor] = {}
    stores: dict[tuple[str, ...], Store] = {}  # probabilities by weights, priors and runtime, then text
    for t in trained:
        timed = texts if t.first else None
        entry, predictor = _model_entry(t.run_dir, dataset, sets, timed, True, options.runtime, stores)
        entries.append({**entry, "row": t.row, "seed": t.seed})
        if t.first:
            predictors[entry["run_dir"]] = predictor
    entries = combine_seeds(entries)
    for run_dir in options.runs:
        entry, predictors[str(run_dir)] = _model_entry(run_dir, dataset, sets, texts, False, options.runtime, stores)
        entries.append(entry)
    _labels(entries)
    for e in entries:
        if e["split_note"]:
            log(f"warning: {e['run_dir']}: {e['split_note']}")
    return entries, predictors


def _baselines(
    options: CompareOptions,
    data: Dataset,
    sets: list[ScoreSet],
    texts: TimingTexts,
    log: Callable[[str], None],
    trained_only: bool = False,
) -> list[BaselineEntry]:
    """Every registered baseline that can predict the data's labels, fitted on its training rows and scored; with
    `trained_only`, those that learn from the data (the lexicon's row is the same whatever the data)."""
    out = []
    for name, cls in BASELINES.items():
        if trained_only and not cls.learns:
            continue
        if not cls.applies(data):
            log(f"baseline {name}: skipped (it cannot predict the labels {', '.join(data.labels)})")
            continue
        b = baseline_entry(name, data, sets, texts, options)
        if trained_only:
            b["name"] = f"{b['name']} (hand labels)"
        done = "cached result reused" if b["cached"] else f"{b['train_seconds']:.0f} s training"
        log(f"baseline {b['name']}: {done}")
        out.append(b)
    return out


def _dataset_entry(dataset: Dataset, baseline_tweets: int) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "labels": dataset.labels.to_list(),
        "classes": dataset.classes.to_list(),
        "files": dataset.stats.get("files", {}),
        "splits": {name: len(split) for name, split in dataset.splits.items()},
        "train_tweets_baselines": baseline_tweets,
        "val_fraction": dataset.stats.get("val_fraction"),
        "split_seed": dataset.config.split_seed,
        "references": dataset.references,
    }


def _check(options: CompareOptions) -> None:
    if options.budget_minutes is not None and options.budget_minutes <= 0:
        raise UserError(f"--budget-minutes must be positive, not {options.budget_minutes:g}")
    for run_dir in options.runs:  # every mistake is found before any training starts
        check_finished_run(run_dir)
    if options.ft_autotune < 0:
        raise UserError(f"--ft-autotune takes seconds (0 or more), not {options.ft_autotune}")
    for flag, value in (("--seeds", options.seeds), ("--transfer-seeds", options.transfer_seeds)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, not {value}")
    if not options.models and not options.runs:
        raise UserError("nothing to compare: name --models to train or --runs to take")
    for model in options.models:
        make_config(model, options.preset, **options.train)  # a bad model, preset or flag fails now, not in an hour
