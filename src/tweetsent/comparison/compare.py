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

import contextlib
import functools
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.comparison import plots as compare_plots
from tweetsent.comparison.baselines import BASELINES, Baseline
from tweetsent.core import paths
from tweetsent.core.atomic import write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.records import RecordError, from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.core.versions import package_versions
from tweetsent.data.dataset import DataConfig, Dataset, file_name, load_dataset
from tweetsent.data.labelled import ReadOptions, TweetRows, parse_label_map, read_labelled_file
from tweetsent.evaluation.neutral import band_metrics
from tweetsent.inference.classifier import Classifier
from tweetsent.models.artifact import Artifact, Predictor, load_artifact, resolve_model_dir
from tweetsent.models.registry import model_spec
from tweetsent.training.config import make_config, preset_data
from tweetsent.training.datamodule import chosen_rows
from tweetsent.training.run import read_run_config, train

# Prediction speed is timed on the first test set plus validation tweets up to this many (a fixed sample).
PREDICT_SAMPLE = 2000
SLOW_SAMPLE = 500
BASELINE_CACHE_VERSION = 3
DEFAULT_SEED = 0  # TrainConfig's: the subsets `train` draws when compare passes no --seed
TRANSFER_PRESET = "small"  # training/presets/small.toml: a few thousand hand-labelled tweets, here from a warm start
# Run settings that must match for two runs to share the split: the data, the cleaning and the validation draw.
_SPLIT_KEYS = ("cleaning", "val_fraction", "split_seed", "data", "val_data", "min_count")


@dataclass
class CompareOptions:
    models: list[str] = field(default_factory=list)  # models to train here
    runs: list[Path] = field(default_factory=list)  # finished runs (or ensembles) to take as they are
    preset: str = "fast"
    budget_minutes: float | None = None  # training time shared equally by the models trained here
    out: Path = Path("runs/compare")
    train_size: int | None = None
    val_size: int | None = None
    epochs: float | None = None
    baselines: bool = True
    refresh_baselines: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    eval_data: list[str] = field(default_factory=list)  # labelled files every entry is scored on (cross-domain)
    transfer_data: str | None = None  # a hand-labelled file every model trained here is then trained on
    # Models the transfer stage trains on the hand labels from their own starting point rather than from their
    # Sentiment140 run: a pretrained encoder is distantly supervised already (its pretraining), and a few minutes
    # of emoticon labels lowered BERT's validation macro-F1 on SemEval-2016 (docs/results.md, the three-class recipe).
    transfer_scratch: tuple[str, ...] = ("bert",)
    eval_read: ReadOptions = field(default_factory=ReadOptions)
    accelerator: str = "auto"
    seed: int | None = None
    logger: str = "csv"  # the training runs' Lightning loggers (TrainConfig.logger)
    progress: bool = True
    command: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class ScoreSet:
    """A set every entry is scored on: a dataset split (labels indexing the dataset's) or a cross-domain file
    (label names as written, matched to each entry's labels)."""

    name: str
    kind: str  # "val", "test" or "cross"
    texts: list[str]
    names: list[str]  # gold label names
    source: str
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def parse_models(text: str | None) -> list[str]:
    """'lstm, bilstm' -> ['lstm', 'bilstm'] (registry names only, duplicates dropped)."""
    if text is None:
        return []
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UserError("--models needs at least one model name")
    for name in names:
        model_spec(name)
    return names


def check_finished_run(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    folder = RunFolder(run_dir)
    if folder.results.is_file() and folder.config.is_file():
        return  # a packaged model folder (`tweetsent package`): the model's config beside its figures
    if not folder.finished:
        raise UserError(
            f"{run_dir}: not a finished run (no {RunFolder.SUMMARY}): finish it with `tweetsent train` first"
        )
    try:
        resolve_model_dir(folder.model)  # the model folder's own check (its config)
    except UserError:
        raise UserError(f"{run_dir}: the run has no {RunFolder.MODEL}/ artifact") from None


def _dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------- scoring sets


def score_sets(dataset: Dataset, eval_data: Sequence[str], read: ReadOptions) -> list[ScoreSet]:
    """The dataset's validation rows and test sets, then each cross-domain file (read once, labels as written
    or through --eval-label-map)."""
    out = []
    for name in ["val", *dataset.tests]:
        split = dataset[name]
        names = [dataset.labels.names[i] for i in split.labels.tolist()]
        out.append(ScoreSet(name, "val" if name == "val" else "test", _as_list(split.texts), names, dataset.name))
    taken = {s.name for s in out}
    for path in eval_data:
        rows = _read_cross(path, read)
        name, k = file_name(path), 2
        while name in taken:
            name, k = f"{file_name(path)}-{k}", k + 1
        taken.add(name)
        out.append(ScoreSet(name, "cross", rows.texts, rows.labels or [], rows.source, rows.dropped))
    return out


def _read_cross(path: str, read: ReadOptions) -> TweetRows:
    return read_labelled_file(path, read, parse_label_map(read.label_map))


def score(predictor: Any, labels: LabelSet, sets: list[ScoreSet], margin: float = 0.0, loss: bool = True) -> dict:
    """Metrics of a model (or baseline) on every set: gold labels it cannot predict are dropped and counted
    (`irrelevant` in Sanders for a three-class model); the neutral band applies where `margin` > 0."""
    canonical = labels.matching(band=True)
    space = labels.with_neutral() if labels.bandable else labels
    out: dict[str, Any] = {}
    for s in sets:
        matched = [canonical.get(n.lower()) for n in s.names]
        keep = np.array([m is not None for m in matched], dtype=bool)
        if not keep.any():
            out[s.name] = None
            continue
        texts = [t for t, k in zip(s.texts, keep, strict=True) if k]
        gold = np.array([space.index(m) for m in matched if m is not None], dtype=np.int64)
        probs = predictor.predict_proba(texts, html_decoded=s.kind != "cross")
        present = LabelSet(tuple(n for i, n in enumerate(space) if i in set(gold.tolist())))
        sub = labels.with_neutral() if labels.bandable and "neutral" in present else labels
        gold = space.mapping_to(sub)[gold]
        metrics = band_metrics(probs, gold, labels, sub, margin if labels.bandable else 0.0)
        if not loss:  # not a probability model: a cross-entropy of its scores would mean nothing
            metrics["loss"] = None
        metrics["dropped"] = int((~keep).sum())
        out[s.name] = metrics
    return out


def timing_texts(sets: list[ScoreSet], size: int = PREDICT_SAMPLE) -> list[str]:
    """The fixed set prediction speed is measured on: the first test set, then a seeded validation sample."""
    val = next(s for s in sets if s.kind == "val")
    first = next((s for s in sets if s.kind == "test"), val)
    test_texts, val_texts = first.texts, val.texts
    rows = np.sort(
        np.random.default_rng(0).choice(
            len(val_texts), size=min(len(val_texts), max(0, size - len(test_texts))), replace=False
        )
    )
    return [*test_texts, *(val_texts[i] for i in rows)]


def _as_list(texts: Any) -> list[str]:
    return texts.to_pylist() if hasattr(texts, "to_pylist") else list(texts)


def predict_speed(
    predictor: Any, texts: Sequence[str], repeats: int = 3, max_seconds: float = 3.0
) -> tuple[float, int]:
    """(tweets/s, tweets timed) from raw text to probabilities (cleaning, tokenizing and the model), after a
    warm-up: the best of a few passes over `texts`, as other work on the machine only ever slows a pass down.
    A slow model (a BERT on a CPU) is timed once on the first SLOW_SAMPLE texts, which is precise enough and
    keeps a report of finished runs within seconds."""

    def seconds(sample: Sequence[str]) -> float:
        start = time.perf_counter()
        predictor.predict_proba(list(sample))
        return time.perf_counter() - start

    seconds(texts[:64])
    first = seconds(texts[:SLOW_SAMPLE])
    if first > max_seconds / repeats:
        return round(min(SLOW_SAMPLE, len(texts)) / first, 1), min(SLOW_SAMPLE, len(texts))
    best = spent = 0.0
    for _ in range(repeats):
        took = seconds(texts)
        best, spent = min(best, took) if best else took, spent + took
        if spent > max_seconds:
            break
    return round(len(texts) / best, 1), len(texts)


# ---------------------------------------------------------------------------------------------- entries


def _train_models(options: CompareOptions, dataset: Dataset, log: Callable[[str], None]) -> list[Path]:
    """Train each model of `options.models` into OUT/runs/MODEL with an equal share of the budget."""
    share = options.budget_minutes / len(options.models) if options.budget_minutes and options.models else None
    flags = {
        "max_minutes": share,
        "train_size": options.train_size,
        "val_size": options.val_size,
        "epochs": options.epochs,
        "accelerator": options.accelerator,
        "seed": options.seed,
        "logger": options.logger,
    }
    return [_run(m, options.preset, flags, dataset, options.out / "runs" / m, options, log) for m in options.models]


def _run(
    model: str,
    preset: str,
    flags: dict[str, Any],
    dataset: Dataset,
    run_dir: Path,
    options: CompareOptions,
    log: Callable[[str], None],
) -> Path:
    """Train one run; a finished one is reused, an interrupted one resumed with the settings it started with (its
    budget share included), one that stopped before its first checkpoint started over."""
    if RunFolder(run_dir).finished:
        log(f"{run_dir.name}: finished run found in {run_dir}, reused")
        return run_dir
    resume = RunFolder(run_dir).started  # stopped before its first checkpoint: train starts it over
    saved = read_run_config(run_dir)["train"] if resume else None
    config = make_config(model, preset, base=saved, **({} if resume else flags))
    what = f"{config.max_minutes:.1f} min budget" if config.max_minutes else f"{config.epochs:g} epochs"
    log(f"{run_dir.name}: {'resuming' if resume else 'training'} ({preset} preset, {what}) into {run_dir}")
    train(config, dataset, run_dir, resume=resume, progress=options.progress)
    return run_dir


def _transfer(options: CompareOptions, trained: list[Path], log: Callable[[str], None]) -> list[Path]:
    """The three-class recipe: every model trained here trained again on the hand-labelled `--transfer-data`,
    warm-started from its Sentiment140 run (OUT/runs/MODEL-transfer) or, for `transfer_scratch` models, from its
    own starting point (OUT/runs/MODEL-hand); then an ensemble of them with the VADER lexicon, its stacker
    fitted on the transfer data's held-out validation tweets (OUT/runs/ensemble)."""
    if options.transfer_data is None or not trained:
        return []
    from tweetsent.core.atomic import atomic_dir
    from tweetsent.evaluation.evaluate import evaluate_run
    from tweetsent.training.ensemble import make_ensemble

    # The small preset's data settings (its cleaning keeps emoji as words), on the hand-labelled file.
    settings = {**preset_data(TRANSFER_PRESET), "split_seed": options.data.split_seed}
    hand = load_dataset(replace(from_dict(DataConfig, settings), data=(options.transfer_data,)))
    runs = []
    for source in trained:
        model = read_run_config(source)["train"]["model"]
        scratch = model in options.transfer_scratch
        flags = {
            "init_from": None if scratch else str(source),
            "accelerator": options.accelerator,
            "seed": options.seed,
            "logger": options.logger,
        }
        run_dir = options.out / "runs" / f"{model}-{'hand' if scratch else 'transfer'}"
        runs.append(_run(model, TRANSFER_PRESET, flags, hand, run_dir, options, log))
    ensemble = options.out / "runs" / "ensemble"
    if len(runs) >= 2 and not RunFolder(ensemble).finished:
        val = hand["val"]
        fit = TweetRows(f"{hand.name} (validation split)", _as_list(val.texts), [hand.labels[i] for i in val.labels])
        log(f"ensemble: {len(runs)} transfer runs and VADER, stacked on {len(fit):,} held-out tweets, into {ensemble}")
        with atomic_dir(ensemble) as tmp:
            make_ensemble(runs, tmp, fit, vader=True, name="ensemble (transfer + VADER)")
            evaluate_run(tmp)
    return [*runs, ensemble] if len(runs) >= 2 else runs


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
    run_dir: Path, dataset: Dataset, sets: list[ScoreSet], texts: Sequence[str], trained_here: bool
) -> dict:
    predictor: Predictor = load_artifact(run_dir)
    # Scored and timed as `tweetsent predict` runs it (bf16 where the hardware has it, a thread per core), with
    # no neutral band: the models' own decisions.
    classifier = Classifier(predictor, neutral_margin=0.0)
    folder = RunFolder(run_dir)
    summary = folder.read_summary() if folder.finished else {}
    config = folder.read_config() if folder.config.is_file() else {}  # a packaged folder's is the model's
    speed, timed = predict_speed(classifier, texts)
    scores = score(classifier, predictor.labels, sets)
    val_summary = summary.get("val") if isinstance(summary.get("val"), dict) else None
    entry: dict[str, Any] = {
        # A packaged model folder (results.json beside its weights) is named as such.
        "name": summary.get("model") or (f"packaged {predictor.name}" if folder.results.is_file() else predictor.name),
        "model": predictor.name,
        "kind": "ensemble" if not isinstance(predictor, Artifact) else "model",
        "labels": predictor.labels.to_list(),
        "run_dir": str(run_dir),
        "trained_here": trained_here,
        **_training_sizes(config, dataset),
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
    entry["_predictor"] = predictor  # for the word map; dropped before results.json
    return entry


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


def _baseline_entry(
    name: str, dataset: Dataset, sets: list[ScoreSet], texts: Sequence[str], options: CompareOptions
) -> dict[str, Any]:
    """A baseline fitted on the dataset's training rows and scored on every set; cached under the data's identity."""
    cls = BASELINES[name]
    key = hashlib.blake2b(digest_size=12)
    for split in (dataset["train"], dataset["val"]):
        key.update(split.ids.tobytes())
        key.update(split.labels.tobytes())
    for s in sets:
        key.update(json.dumps([s.name, s.kind, s.names, s.texts]).encode())
    cache = paths.cache_dir() / "baselines" / f"{name}-{key.hexdigest()}-v{BASELINE_CACHE_VERSION}.json"
    if cache.is_file() and not options.refresh_baselines:
        with contextlib.suppress(ValueError):
            cached: dict[str, Any] = json.loads(cache.read_text())
            return {**cached, "cached": True}
    baseline: Baseline = cls()
    info = baseline.fit(dataset)
    speed, timed = predict_speed(baseline, texts)
    result = {
        "name": cls.title,
        "model": name,
        "kind": "baseline",
        "labels": baseline.labels.to_list(),
        **info,
        "scores": score(baseline, baseline.labels, sets, loss=cls.probabilistic),
        "predict_tweets_per_second": speed,
        "predict_tweets_timed": timed,
    }
    write_json(cache, result)
    return {**result, "cached": False}


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    with contextlib.suppress(OSError, AttributeError):
        # Speeds measured on a busy machine are low (two processes' threads on two cores slow an LSTM tenfold).
        info["load_average"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _labels(entries: list[dict[str, Any]]) -> None:
    """Two runs of the same model are told apart by their folder names."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["name"]] = counts.get(e["name"], 0) + 1
    for e in entries:
        if counts[e["name"]] > 1:
            e["name"] = f"{e['name']} ({Path(e['run_dir']).name})"


# ---------------------------------------------------------------------------------------------- the comparison


def compare(options: CompareOptions, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Train, collect, score baselines, draw and write the report; returns the results (also results.json)."""
    from tweetsent.comparison.report import write_report

    started = time.perf_counter()
    _check(options)
    # The data first: a missing file is reported before any training.
    dataset = load_dataset(options.data)
    # The rows the models trained and validated on: the seeded subsets `train` draws for --train-size/--val-size.
    seed = DEFAULT_SEED if options.seed is None else options.seed
    chosen = chosen_rows(dataset, options.train_size, options.val_size, seed)
    sets = score_sets(chosen, options.eval_data, options.eval_read)
    options.out.mkdir(parents=True, exist_ok=True)

    trained = _train_models(options, dataset, log)
    trained += _transfer(options, trained, log)
    texts = timing_texts(sets)
    log("scoring the runs")
    entries = [_model_entry(d, dataset, sets, texts, trained_here=True) for d in trained]
    entries += [_model_entry(d, dataset, sets, texts, trained_here=False) for d in options.runs]
    _labels(entries)
    for e in entries:
        if e["split_note"]:
            log(f"warning: {e['run_dir']}: {e['split_note']}")
    baselines = _baselines(options, dataset, chosen, sets, texts, log) if options.baselines else []
    figures, word_map, during = _figures(options.out / "images", entries, baselines, sets, dataset)
    for e in entries:
        e.pop("_predictor", None)
    results: dict[str, Any] = {
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["tweetsent", *options.command[1:]]),
        "preset": options.preset,
        "budget_minutes": options.budget_minutes,
        "budget_share_minutes": options.budget_minutes / len(options.models)
        if options.budget_minutes and options.models
        else None,
        "dataset": _dataset_entry(dataset, len(chosen["train"])),
        "sets": [{"name": s.name, "kind": s.kind, "n": len(s), "source": s.source, "dropped": s.dropped} for s in sets],
        "predict_sample": len(texts),
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


def _baselines(
    options: CompareOptions,
    dataset: Dataset,
    chosen: Dataset,
    sets: list[ScoreSet],
    texts: Sequence[str],
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Every registered baseline that can predict the dataset's labels, fitted on the chosen rows and scored."""
    out = []
    for name, cls in BASELINES.items():
        if not cls.applies(dataset):
            log(f"baseline {name}: skipped (it cannot predict the labels {', '.join(dataset.labels)})")
            continue
        b = _baseline_entry(name, chosen, sets, texts, options)
        log(f"baseline {name}: " + ("cached result reused" if b["cached"] else f"{b['train_seconds']:.0f} s training"))
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
    if not options.models and not options.runs:
        raise UserError("nothing to compare: name --models to train or --runs to take")
    for model in options.models:
        make_config(model, options.preset)  # an unknown model or preset fails now, not after an hour


def _figures(
    images: Path, entries: list[dict[str, Any]], baselines: list[dict[str, Any]], sets: list[ScoreSet], dataset: Dataset
) -> tuple[dict[str, str], dict[str, Any] | None, bool]:
    everything = entries + baselines
    figures: dict[str, str] = {}
    for s in sets:
        if s.kind == "val":
            continue
        shown = [e for e in everything if e["scores"].get(s.name)]
        if shown:
            compare_plots.confusion_grid(shown, s.name, images / f"confusion_{s.name}.png")
            figures[f"confusion:{s.name}"] = f"images/confusion_{s.name}.png"
    curves = {}
    for e in entries:
        run = RunFolder(e["run_dir"])
        if run.metrics.is_file():
            curves[e["name"]] = compare_plots.run_curves(run.read_metrics(), e.get("steps") or 0, e.get("fit_seconds"))
    first_test = next((s.name for s in sets if s.kind == "test"), "val")
    if curves:
        compare_plots.learning_curves(entries, curves, "step", first_test, images / "curves_steps.png")
        compare_plots.learning_curves(entries, curves, "seconds", first_test, images / "curves_time.png")
        figures["curves_steps"] = "images/curves_steps.png"
        figures["curves_time"] = "images/curves_time.png"
    during = False
    binary = dataset.references.get("binary")
    polar = [e for e in everything if (e["scores"].get(first_test) or {}).get("accuracy_binary") is not None]
    if polar:
        published = binary["results"] if binary and binary["split"] == first_test else []
        during = compare_plots.binary_accuracy(
            [e for e in entries if e in polar], [b for b in baselines if b in polar], curves, first_test, published,
            images / "accuracy_binary.png",
        )  # fmt: skip
        figures["accuracy"] = "images/accuracy_binary.png"
    word_map = _word_map(entries, dataset, images / "word_map.png")
    if word_map:
        figures["word_map"] = "images/word_map.png"
    return figures, word_map, during


def _word_map(entries: list[dict[str, Any]], dataset: Dataset, path: Path) -> dict[str, Any] | None:
    """The map of the word vectors of the word-vector model with the best validation accuracy."""
    candidates = [
        e for e in entries if isinstance(e["_predictor"], Artifact) and hasattr(e["_predictor"].model, "embedding")
    ]
    if not candidates or not dataset.classes.polar:
        return None
    best = max(candidates, key=lambda e: (e["scores"].get("val") or {}).get("accuracy", 0.0))
    artifact: Artifact = best["_predictor"]
    weights = artifact.model.embedding.weight.detach().float().cpu().numpy()  # type: ignore[union-attr,operator]
    fine_tuned = bool(artifact.config.get("model_kwargs", {}).get("train_embeddings", True))
    source = artifact.config.get("embeddings", "word vectors")
    title = (
        f"{best['name']}'s {'fine-tuned ' if fine_tuned else ''}word vectors ({source}), first two principal components"
    )
    positive = dataset.labels.index("positive")
    vocab = artifact.encoder.vocab  # type: ignore[attr-defined]
    info = compare_plots.word_map(weights, vocab, dataset["train"], dataset.vocab, positive, path, title)
    return {"run": best["name"], "source": source, "fine_tuned": fine_tuned, **info}
