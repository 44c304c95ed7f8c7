"""`tweetsent compare`: train several models on one prepared split (or take finished runs), score the baselines
on the same rows, and write one report.

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent import paths
from tweetsent.atomic import write_json
from tweetsent.data.prepare import PRESETS, PrepareConfig, Prepared, prepare, seeded_subset
from tweetsent.data.sources import DataFiles, locate
from tweetsent.errors import UserError
from tweetsent.evaluation import compare_plots
from tweetsent.evaluation.baselines import BASELINES, run_baseline
from tweetsent.models import MODELS
from tweetsent.versions import package_versions

# Prediction speed is timed on the 498 test tweets plus validation tweets up to this many (a fixed sample).
PREDICT_SAMPLE = 2000
SLOW_SAMPLE = 500
# Run settings that must match for two runs to share the split: the data, the cleaning and the validation draw.
_SPLIT_KEYS = ("cleaning", "val_fraction", "seed")


@dataclass
class CompareOptions:
    models: list[str] = field(default_factory=list)  # models to train here
    runs: list[Path] = field(default_factory=list)  # finished runs to take as they are
    preset: str = "fast"
    budget_minutes: float | None = None  # training time shared equally by the models trained here
    out: Path = Path("runs/compare")
    train_size: int | None = None
    val_size: int | None = None
    epochs: float | None = None
    baselines: bool = True
    refresh_baselines: bool = False
    data_dir: Path | None = None
    accelerator: str = "auto"
    seed: int | None = None
    progress: bool = True
    command: list[str] = field(default_factory=lambda: list(sys.argv))


def parse_models(text: str | None) -> list[str]:
    """'lstm, bilstm' -> ['lstm', 'bilstm'] (registry names only, duplicates dropped)."""
    if text is None:
        return []
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise UserError("--models needs at least one model name")
    for name in names:
        if name not in MODELS:
            raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    return names


def check_finished_run(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    if not (run_dir / "summary.json").is_file():
        raise UserError(f"{run_dir}: not a finished run (no summary.json): finish it with `tweetsent train` first")
    if not (run_dir / "model" / "config.json").is_file():
        raise UserError(f"{run_dir}: the run has no model/ artifact")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read ({e})") from None


def _dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timing_texts(prepared: Prepared, size: int = PREDICT_SAMPLE) -> list[str]:
    """The fixed set prediction speed is measured on: all test tweets, then a seeded validation sample."""
    test, val = prepared["test"], prepared["val"]
    assert test.texts is not None and val.texts is not None
    rows = np.sort(
        np.random.default_rng(0).choice(len(val), size=min(len(val), max(0, size - len(test))), replace=False)
    )
    return [*test.texts.to_pylist(), *val.texts.take(rows).to_pylist()]


def predict_speed(artifact: Any, texts: Sequence[str], repeats: int = 3, max_seconds: float = 3.0) -> tuple[float, int]:
    """(tweets/s, tweets timed) from raw text to probabilities (cleaning, tokenizing and the model), after a
    warm-up: the best of a few passes over `texts`, as other work on the machine only ever slows a pass down.
    A slow model (a BERT on a CPU) is timed once on the first SLOW_SAMPLE texts, which is precise enough and
    keeps a report of finished runs within seconds."""
    from tweetsent.inference.artifact import predict_split

    def seconds(sample: Sequence[str]) -> float:
        start = time.perf_counter()
        predict_split(artifact.model, artifact.encode(sample), artifact.max_length)
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


def _train_models(options: CompareOptions, log: Callable[[str], None]) -> list[Path]:
    """Train each model of `options.models` into OUT/runs/MODEL; a finished one is reused, an interrupted one
    resumed (its budget share continues where it stopped)."""
    if not options.models:
        return []  # and Lightning is never imported (seconds of start-up)
    from tweetsent.training.config import TrainConfig, preset_config
    from tweetsent.training.run import read_run_config, train

    share = options.budget_minutes / len(options.models) if options.budget_minutes and options.models else None
    run_dirs = []
    for model in options.models:
        run_dir = options.out / "runs" / model
        run_dirs.append(run_dir)
        if (run_dir / "summary.json").is_file():
            log(f"{model}: finished run found in {run_dir}, reused")
            continue
        resume = (run_dir / "config.json").is_file()
        if resume and not (run_dir / "checkpoints" / "last.ckpt").is_file():
            raise UserError(
                f"{run_dir}: an unfinished run with no checkpoint to resume: remove it or use another --out"
            )
        # A resumed run goes on with the settings it started with (its budget share included).
        config = (
            TrainConfig.from_dict(read_run_config(run_dir)["train"])
            if resume
            else preset_config(
                model,
                options.preset,
                max_minutes=share,
                train_size=options.train_size,
                val_size=options.val_size,
                epochs=options.epochs,
                accelerator=options.accelerator,
                seed=options.seed,
            )
        )
        what = f"{config.max_minutes:.1f} min budget" if config.max_minutes else f"{config.epochs:g} epochs"
        log(f"{model}: {'resuming' if resume else 'training'} ({options.preset} preset, {what}) into {run_dir}")
        train(config, run_dir, data_dir=options.data_dir, resume=resume, progress=options.progress)
    return run_dirs


def _model_entry(
    run_dir: Path, prepared: Prepared, files: DataFiles, texts: Sequence[str], trained_here: bool
) -> dict[str, Any]:
    from tweetsent.inference.artifact import load_artifact
    from tweetsent.training.config import TrainConfig

    summary = _read_json(run_dir / "summary.json")
    config = _read_json(run_dir / "config.json") if (run_dir / "config.json").is_file() else {}
    train_config = config.get("train", {})
    artifact = load_artifact(run_dir)
    speed, timed = predict_speed(artifact, texts)
    saved = TrainConfig.from_dict(train_config) if "model" in train_config else None
    train_size = saved.train_size if saved else None
    val_size = saved.val_size if saved else None
    entry: dict[str, Any] = {
        "name": summary["model"],
        "model": summary["model"],
        "kind": "model",
        "run_dir": str(run_dir),
        "trained_here": trained_here,
        "train_tweets": min(train_size or len(prepared["train"]), len(prepared["train"])),
        "val_tweets": min(val_size or len(prepared["val"]), len(prepared["val"])),
        **{k: summary.get(k) for k in _SUMMARY_KEYS},
        "val": summary["val"],
        "test": summary["test"],
        "test_seed": summary["test_seed"],
        "predict_tweets_per_second": speed,
        "predict_tweets_timed": timed,
        "artifact_bytes": _dir_bytes(run_dir / "model"),
        "command": shlex.join(["tweetsent", *config.get("command", [])[1:]]) if config.get("command") else None,
        "versions": config.get("versions", {}),
        "split_note": _split_note(config, prepared, files),
    }
    entry["_artifact"] = artifact  # for the word map; dropped before results.json
    return entry


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


@functools.cache
def _file_digest(path: str) -> str | None:
    """Content digest of a data file (a `path!member` names a zip member: the zip's digest stands for it)."""
    try:
        with open(path.partition("!")[0], "rb") as f:
            return hashlib.file_digest(f, "blake2b").hexdigest()
    except OSError:
        return None


def _split_note(config: dict[str, Any], prepared: Prepared, files: DataFiles) -> str | None:
    """Why a run's numbers may not be on the comparison's split (None when they are). Data files are compared
    by content: the same file in another folder is the same data."""
    if "prepare" not in config:
        return "its config.json has no prepare section: split unknown"
    theirs = PrepareConfig.from_dict(config["prepare"]).to_dict()
    ours = prepared.config.to_dict()
    differ = [k.replace("_", " ") for k in _SPLIT_KEYS if theirs.get(k) != ours.get(k)]
    data = config.get("data", {})
    for role, mine in (("train", files.train), ("test", files.test)):
        if role in data and _file_digest(data[role]) != _file_digest(str(mine.path)):
            differ.append(f"{role} data")
    return f"prepared with other {', '.join(differ)} than this comparison" if differ else None


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
        counts[e["model"]] = counts.get(e["model"], 0) + 1
    for e in entries:
        if counts[e["model"]] > 1:
            e["name"] = f"{e['model']} ({Path(e['run_dir']).name})"


def compare(options: CompareOptions, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Train, collect, score baselines, draw and write the report; returns the results (also results.json)."""
    from tweetsent.evaluation.report import write_report

    started = time.perf_counter()
    if options.budget_minutes is not None and options.budget_minutes <= 0:
        raise UserError(f"--budget-minutes must be positive, not {options.budget_minutes:g}")
    if options.preset not in PRESETS:
        raise UserError(f"--preset must be seed or fast, not {options.preset!r}")
    for run_dir in options.runs:  # every mistake is found before any training starts
        check_finished_run(run_dir)
    if not options.models and not options.runs:
        raise UserError("nothing to compare: name --models to train or --runs to take")
    # The data first: a missing file is reported before any training, and training finds it prepared.
    files = locate(paths.data_dir(options.data_dir))
    prepared = prepare(files, PRESETS[options.preset], paths.cache_dir())
    options.out.mkdir(parents=True, exist_ok=True)

    trained = _train_models(options, log)
    texts = timing_texts(prepared)
    log("scoring the runs")
    entries = [_model_entry(d, prepared, files, texts, trained_here=True) for d in trained]
    entries += [_model_entry(d, prepared, files, texts, trained_here=False) for d in options.runs]
    _labels(entries)
    for e in entries:
        if e["split_note"]:
            log(f"warning: {e['run_dir']}: {e['split_note']}")

    # The rows the models trained and validated on: the seeded subsets `train` draws for --train-size/--val-size.
    splits = dict(prepared.splits)
    if options.train_size is not None or options.val_size is not None:
        from tweetsent.training.config import TrainConfig

        seed = TrainConfig.seed if options.seed is None else options.seed  # train()'s default seed
        splits["train"] = seeded_subset(splits["train"], options.train_size, seed)
        splits["val"] = seeded_subset(splits["val"], options.val_size, seed)
    baselines = []
    if options.baselines:
        for name in BASELINES:
            b = run_baseline(name, prepared, splits, texts, paths.cache_dir(), refresh=options.refresh_baselines)
            log(
                f"baseline {name}: "
                + ("cached result reused" if b["cached"] else f"{b['train_seconds']:.0f} s training")
            )
            baselines.append({**b, "name": b["label"]})

    images = options.out / "images"
    curves = {}
    for e in entries:
        metrics = Path(e["run_dir"]) / "metrics.csv"
        if metrics.is_file():
            curves[e["name"]] = compare_plots.read_curves(metrics, e.get("steps") or 0, e.get("fit_seconds"))
    figures: dict[str, str] = {}
    everything = entries + baselines
    compare_plots.confusion_grid(everything, images / "confusion_test.png")
    figures["confusion"] = "images/confusion_test.png"
    if curves:
        compare_plots.learning_curves(entries, curves, "step", images / "curves_steps.png")
        compare_plots.learning_curves(entries, curves, "seconds", images / "curves_time.png")
        figures["curves_steps"] = "images/curves_steps.png"
        figures["curves_time"] = "images/curves_time.png"
    during = compare_plots.binary_accuracy(entries, baselines, curves, images / "accuracy_binary.png")
    figures["accuracy"] = "images/accuracy_binary.png"
    word_map = _word_map(entries, prepared, images / "word_map.png")
    if word_map:
        figures["word_map"] = "images/word_map.png"

    for e in entries:
        e.pop("_artifact", None)
    results: dict[str, Any] = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["tweetsent", *options.command[1:]]),
        "preset": options.preset,
        "budget_minutes": options.budget_minutes,
        "budget_share_minutes": options.budget_minutes / len(options.models)
        if options.budget_minutes and options.models
        else None,
        "data": {
            "files": {"train": str(files.train), "test": str(files.test)},
            "cache_key": prepared.path.name,
            "splits": {name: len(split) for name, split in prepared.splits.items()},
            "train_tweets_baselines": len(splits["train"]),
            "val_tweets": len(splits["val"]),
        },
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
    write_json(options.out / "results.json", results)
    write_report(options.out, results)
    return results


def _word_map(entries: list[dict[str, Any]], prepared: Prepared, path: Path) -> dict[str, Any] | None:
    """The map of the word vectors of the recurrent model with the best validation accuracy."""
    recurrent = [
        e for e in entries if e["_artifact"].kind == "recurrent" and hasattr(e["_artifact"].model, "embedding")
    ]
    if not recurrent:
        return None
    best = max(recurrent, key=lambda e: e["val"]["accuracy"])
    artifact = best["_artifact"]
    weights = artifact.model.embedding.weight.detach().float().cpu().numpy()
    fine_tuned = bool(artifact.config.get("model_kwargs", {}).get("train_embeddings", True))
    source = artifact.config.get("embeddings", "word vectors")
    title = (
        f"{best['name']}'s {'fine-tuned ' if fine_tuned else ''}word vectors ({source}), first two principal components"
    )
    info = compare_plots.word_map(weights, artifact.vocab, prepared["train"], prepared.vocab, path, title)
    return {"run": best["name"], "source": source, "fine_tuned": fine_tuned, **info}
