"""One training run, start to finish: a dataset -> the model family's inputs and model -> Lightning fit -> best
weights -> artifacts. The same straight line for every model; what differs between kinds of models lives in
their family (models/families/).

What a run writes into its folder (config, metrics, summary, plots, the model artifact predict/serve load,
checkpoints for --resume): core/runs.py's RunFolder names every file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import resource
import shutil
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar, Timer
from lightning.pytorch.loggers import CSVLogger, Logger

from tweetsent.core.atomic import remove_stale_temporaries
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.locks import run_lock
from tweetsent.core.metrics import split_metrics
from tweetsent.core.runs import RunFolder, read_object
from tweetsent.core.versions import package_versions
from tweetsent.data.dataset import Dataset
from tweetsent.models.artifact import Artifact, load_single, predict_split, save_artifact
from tweetsent.models.families import family_of
from tweetsent.training.callbacks import AtomicCheckpointIO, Reshuffle, RunRecorder, SelectBest, steps_per_epoch
from tweetsent.training.config import TrainConfig, logger_names
from tweetsent.training.datamodule import EvalSet, TweetDataModule, chosen_rows
from tweetsent.training.plots import write_run_plots
from tweetsent.training.system import SentimentSystem


def train(
    config: TrainConfig, dataset: Dataset, run_dir: Path, resume: bool = False, progress: bool = True
) -> dict[str, Any] | None:
    """Train, select the best checkpoint (validation loss, or --select-data), evaluate and write the run's
    artifacts; one process at a time per run directory. Returns the summary on the global-zero process (None on
    the others)."""
    run_dir = Path(run_dir)
    with run_lock(run_dir) if primary_process() else contextlib.nullcontext():
        resume = check_run_dir(run_dir, resume)
        if not resume:
            clear_unfinished(run_dir)
        elif primary_process():
            remove_stale_temporaries(run_dir)  # what writes a kill interrupted left behind
        return _train(config, dataset, run_dir, resume, progress)


def _train(config: TrainConfig, dataset: Dataset, run_dir: Path, resume: bool, progress: bool) -> dict[str, Any] | None:
    torch.set_flush_denormal(True)  # CPU LSTM backward slows 20-40x on denormal values (SPEC 7)
    L.seed_everything(config.seed, workers=True, verbose=False)
    family = family_of(config.model)
    init = load_single(config.init_from) if config.init_from else None
    dataset = chosen_rows(dataset, config.train_size, config.val_size, config.seed)
    encoder = family.encoder(config, dataset, init)
    data = TweetDataModule(dataset, family.inputs(encoder, dataset), config)
    classes = dataset.classes
    on_gpu = config.accelerator in ("gpu", "cuda") or (config.accelerator == "auto" and torch.cuda.is_available())
    model, model_kwargs = family.build(config, encoder, classes, init, on_gpu)
    weights = class_weights(config.class_weights, classes, data.train_labels)
    # A budget stops training at a step boundary; Lightning then validates once more, so the best checkpoint and
    # every artifact are written as for a run that ran its epochs. The schedule reads the same clock.
    timer = Timer(timedelta(minutes=config.max_minutes), interval="step") if config.max_minutes else None
    system = SentimentSystem(model, config, len(classes), weights, timer)
    folder = RunFolder(run_dir)

    recorder = RunRecorder(
        run_dir, data.cadence, classes, config.eval_every, min(config.log_every, config.eval_every), config.max_length
    )
    selector = None
    if data.select is not None:
        checkpoint = folder.best_checkpoint
        selector = SelectBest(data.select, classes, config.eval_every, config.max_length, checkpoint, recorder)
    length = Length.of(config, len(data.train_batches), world_size(config, on_gpu))
    callbacks = [Reshuffle(data.train_batches), recorder, *([timer] if timer else [])]
    trainer, best = make_trainer(config, run_dir, callbacks, selector, resume, progress, length)
    if trainer.is_global_zero and not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        folder.write_config(run_config(config, dataset, length.epoch_steps, length.max_steps, weights))
    fit(trainer, system, data, folder.last_checkpoint if resume else None)
    fit_seconds = recorder.wall_seconds  # every part of a resumed run, not only the last
    if not trainer.is_global_zero:
        return None

    best_step = restore_best(system, best, trainer.global_step)
    artifact = Artifact(family.name, system.model.to("cpu").float(), encoder, classes, {"model": config.model})
    summary = {
        **run_summary(config, dataset, trainer.global_step, best_step, length, recorder, fit_seconds),
        "parameters": sum(p.numel() for p in artifact.model.parameters()),
        "trainable_parameters": sum(p.numel() for p in artifact.model.parameters() if p.requires_grad),
        "device": "gpu" if on_gpu else "cpu",
        "selected_by": "select" if selector else "val_loss",
        **score(artifact, data.final + ([data.select] if data.select else [])),
    }
    extra = {"preset": config.preset, "embeddings": config.embeddings, "train_config": config.to_dict()}
    save_artifact(folder.model, artifact, model_kwargs, extra)
    folder.write_summary(summary)
    write_run_plots(run_dir, summary)
    return summary


def run_summary(
    config: TrainConfig,
    dataset: Dataset,
    steps: int,
    best_step: int,
    length: Length,
    recorder: RunRecorder,
    fit_seconds: float,
) -> dict[str, Any]:
    """summary.json's account of the run: what trained on what, how long, how fast (the caller adds the model's
    size and its scores)."""
    return {
        "model": config.model,
        "preset": config.preset,
        "data": dataset.name,
        "labels": dataset.labels.to_list(),
        "classes": dataset.classes.to_list(),
        "epochs": round(steps / length.epoch_steps, 4),
        "steps": steps,
        "best_step": best_step,
        "max_steps": length.max_steps,
        "budget_minutes": config.max_minutes,
        "stopped_by_budget": bool(config.max_minutes) and steps < length.max_steps,
        "train_seconds": round(recorder.train_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "train_tweets_per_second": round(recorder.tweets / max(recorder.train_seconds, 1e-9), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "precision": native_precision(config),
        "tests": dataset.tests,
        # What several training files came to (duplicates, conflicts, test tweets left out), and a student's
        # teacher-labelled tweets.
        **{k: dataset.stats[k] for k in ("training_files", "soft_labelled") if k in dataset.stats},
    }


def primary_process() -> bool:
    """DDP workers started by Lightning re-run this command: only the first process owns the run folder."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


# What a run stopped before its first checkpoint leaves (nothing of it can be continued).
UNFINISHED = (RunFolder.CONFIG, RunFolder.METRICS, RunFolder.LOGS, RunFolder.CHECKPOINTS, RunFolder.PLOTS)


def check_run_dir(run_dir: Path, resume: bool) -> bool:
    """Whether to continue from checkpoints/last.ckpt. `--resume` of a run that stopped before its first
    checkpoint starts it over; a plain restart of such a run says the command that does."""
    folder = RunFolder(run_dir)
    last, started, finished = folder.last_checkpoint, folder.started, folder.finished
    if resume:
        if last.is_file():
            check_checkpoint(last)
            return True
        if started and not finished:
            return False  # stopped before its first checkpoint: start over
        raise UserError(f"{run_dir}: nothing to resume (no {RunFolder.CHECKPOINTS}/{RunFolder.LAST})")
    if primary_process() and started:
        if last.is_file() or finished:
            raise UserError(f"{run_dir} already holds a run: pass --resume to continue it, or another --out")
        raise UserError(
            f"{run_dir} holds a run that stopped before its first checkpoint: `tweetsent train ... --out {run_dir} "
            "--resume` starts it over (or choose another --out)"
        )
    return False


def check_checkpoint(path: Path) -> None:
    """A checkpoint to resume from must load as tensors and plain values (a damaged or foreign one is one line)."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises RuntimeError, EOFError or UnpicklingError, whatever the damage
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise UserError(f"{path}: a damaged checkpoint ({first}); delete it to start the run over") from None


def clear_unfinished(run_dir: Path) -> None:
    """Remove what a run stopped before its first checkpoint left, and temporary files of killed writes."""
    if not primary_process() or not run_dir.is_dir():
        return
    folder = RunFolder(run_dir)
    if not folder.last_checkpoint.is_file() and not folder.finished:
        for name in UNFINISHED:
            path = run_dir / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    remove_stale_temporaries(run_dir)


def class_weights(spec: str | None, classes: LabelSet, train_labels: np.ndarray) -> torch.Tensor | None:
    """Loss weights per class: `balanced` (n / (classes x count), as scikit-learn's) or `name=w,...` (others 1)."""
    if spec is None:
        return None
    counts = np.bincount(train_labels.astype(np.int64), minlength=len(classes)).astype(np.float64)
    if spec == "balanced":
        return torch.tensor(counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32)
    weights = np.ones(len(classes))
    for item in spec.split(","):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in classes:
            raise UserError(
                f"--class-weights: expected balanced or NAME=WEIGHT items over {', '.join(classes)}, got {item!r}"
            )
        try:
            weights[classes.index(name.strip())] = float(value)
        except ValueError:
            raise UserError(f"--class-weights: {value!r} is not a number") from None
    if (weights <= 0).any():
        raise UserError("--class-weights: weights must be positive")
    return torch.tensor(weights, dtype=torch.float32)


def make_trainer(
    config: TrainConfig,
    run_dir: Path,
    callbacks: list[L.Callback],
    selector: SelectBest | None,
    resume: bool,
    progress: bool,
    length: Length,
) -> tuple[L.Trainer, ModelCheckpoint | SelectBest]:
    """The Trainer, its step and epoch limits and validation interval given by `length`; the callback that keeps
    the best checkpoint (lowest validation loss, or `selector`)."""
    folder = RunFolder(run_dir)
    # Lightning adds the .ckpt suffix itself: the names given are RunFolder's without it.
    best = selector or ModelCheckpoint(
        dirpath=folder.checkpoints,
        filename=folder.best_checkpoint.stem,
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        enable_version_counter=False,
    )
    latest = ModelCheckpoint(
        dirpath=folder.checkpoints, save_last=True, save_top_k=0, every_n_train_steps=config.eval_every
    )
    latest.CHECKPOINT_NAME_LAST = folder.last_checkpoint.stem
    callbacks = [*callbacks, best, latest]
    if config.early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=config.early_stopping))
    if progress:
        callbacks.append(RichProgressBar(refresh_rate=10))
    trainer = L.Trainer(
        accelerator="gpu" if config.accelerator == "cuda" else config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=native_precision(config),  # type: ignore[arg-type]
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=loggers(run_dir, resume, config.logger),
        enable_progress_bar=progress,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        log_every_n_steps=config.log_every,
        accumulate_grad_batches=config.grad_accum,
        max_steps=length.max_steps,
        max_epochs=length.max_epochs,
        val_check_interval=length.val_check_interval,
    )
    if trainer.world_size != length.world_size:
        raise RuntimeError(f"Lightning runs {trainer.world_size} processes, the step count assumed {length.world_size}")
    return trainer, best


def native_precision(config: TrainConfig) -> str:
    """The precision asked for, except bf16 on a CPU that has no bf16 instructions (no AVX512-BF16 or AMX), where
    PyTorch emulates it and training runs many times slower than in fp32: there, 32-true."""
    on_gpu = config.accelerator in ("gpu", "cuda") or (config.accelerator == "auto" and torch.cuda.is_available())
    if config.precision.startswith("bf16") and not on_gpu and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "32-true"
    return config.precision


def world_size(config: TrainConfig, on_gpu: bool) -> int:
    """The processes Lightning will start (devices x nodes), known before the Trainer so that its limits can be
    given when it is built."""
    if config.devices in ("auto", "-1"):
        devices = max(1, torch.cuda.device_count()) if on_gpu else 1
    else:
        devices = int(config.devices)
    return devices * config.num_nodes


@dataclass(frozen=True)
class Length:
    """How long a run trains: optimiser steps per epoch and in all, epochs, and the validation interval."""

    world_size: int
    epoch_steps: int
    max_steps: int
    max_epochs: int
    val_check_interval: int  # in batches; at least once per run

    @classmethod
    def of(cls, config: TrainConfig, batches: int, world_size: int) -> Length:
        # Under DDP each process takes every world_size-th batch: an epoch is that many fewer steps.
        epoch_steps = steps_per_epoch(batches, world_size, config.grad_accum)
        by_epochs = max(math.ceil(config.epochs * epoch_steps), config.min_steps)
        max_steps = config.max_steps if config.max_steps > 0 else by_epochs
        interval = min(math.ceil(batches / world_size), max_steps * config.grad_accum)
        return cls(world_size, epoch_steps, max_steps, math.ceil(max_steps / epoch_steps), interval)


def run_config(
    config: TrainConfig, dataset: Dataset, epoch_steps: int, max_steps: int, weights: torch.Tensor | None
) -> dict[str, Any]:
    return {
        "train": config.to_dict(),
        "data": dataset.config.to_dict(),
        "dataset": {
            "name": dataset.name,
            "labels": dataset.labels.to_list(),
            "classes": dataset.classes.to_list(),
            # What was read, and left out with the reason (rows empty after cleaning, unmapped labels, ...).
            **{
                k: dataset.stats[k]
                for k in (
                    "rows_read",
                    "dropped",
                    "class_counts",
                    "vocab_size",
                    "val_fraction",
                    "text_column",
                    "label_column",
                    "training_files",
                    "soft_labelled",
                )
                if k in dataset.stats
            },
        },
        "class_weights": None if weights is None else dict(zip(dataset.classes, weights.tolist(), strict=True)),
        "steps_per_epoch": epoch_steps,
        "max_steps": max_steps,
        "versions": package_versions(),
        "command": sys.argv,
    }


def fit(trainer: L.Trainer, system: SentimentSystem, data: TweetDataModule, checkpoint: Path | None) -> None:
    """trainer.fit, with Ctrl+C reported as KeyboardInterrupt."""
    try:
        # weights_only: a checkpoint is tensors and plain values; nothing in it may run code when it is read.
        trainer.fit(system, datamodule=data, ckpt_path=str(checkpoint) if checkpoint else None, weights_only=True)
    except SystemExit:
        # On Ctrl+C Lightning shuts down, ignores further SIGINTs and calls sys.exit(1): restore the handler
        # and report it as the interruption it was.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    if trainer.interrupted:
        raise KeyboardInterrupt


def restore_best(system: SentimentSystem, best: ModelCheckpoint | SelectBest, last_step: int) -> int:
    """Load the best checkpoint's weights into `system`; returns its step (the last step if there is none)."""
    if not best.best_model_path:
        return last_step
    path = Path(best.best_model_path)
    if isinstance(best, ModelCheckpoint) and best.dirpath:  # a run folder moved between the parts of a resume
        here = Path(best.dirpath) / path.name
        path = here if here.is_file() else path
    if not path.is_file():
        return last_step
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    system.load_state_dict(checkpoint["state_dict"])
    return int(checkpoint["global_step"])


def score(artifact: Artifact, sets: list[EvalSet]) -> dict[str, Any]:
    """summary.json's block per set: metrics of the model's probabilities against the set's gold labels."""
    out = {}
    for e in sets:
        probs = predict_split(artifact.model, e.split, artifact.max_length)
        metrics = split_metrics(probs, e.gold, artifact.labels, e.space)
        metrics.pop("n")
        out[e.name] = metrics
    return out


def loggers(run_dir: Path, resume: bool, names: str = "csv") -> list[Logger]:
    """Lightning's own loggers, by name: csv (RUN_DIR/logs/), tensorboard (RUN_DIR/logs/tensorboard/) and
    mlflow ($MLFLOW_TRACKING_URI, else a file store in RUN_DIR/mlruns/; the experiment is named after the run
    folder). A resumed run's CSV log goes to a new version folder: Lightning's CSV logger would otherwise replace
    the first part's file. tensorboard and mlflow are optional extras (`pip install tweetsent[tensorboard]`)."""
    folder = RunFolder(run_dir)
    chosen: list[Logger] = []
    for name in logger_names(names):
        if name != "csv" and importlib.util.find_spec(name) is None:
            raise UserError(f"--logger {name}: the {name} package is not installed (pip install tweetsent[{name}])")
        if name == "csv":
            version = f"resume-{len(list(folder.logs.glob('resume-*'))) + 1}" if resume else ""
            chosen.append(CSVLogger(run_dir, name=RunFolder.LOGS, version=version))
        elif name == "tensorboard":
            from lightning.pytorch.loggers import TensorBoardLogger

            chosen.append(TensorBoardLogger(run_dir, name=RunFolder.LOGS, version="tensorboard"))
        else:
            from lightning.pytorch.loggers import MLFlowLogger

            uri = os.environ.get("MLFLOW_TRACKING_URI")
            if not uri:  # a file store needs no server or database; newer MLflow asks for this opt-in
                uri = (folder.path / "mlruns").resolve().as_uri()
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            chosen.append(MLFlowLogger(experiment_name=folder.path.resolve().name, tracking_uri=uri))
    return chosen


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.json, or such a file named directly (checked: its training settings must parse)."""
    if not Path(run_dir).exists():
        raise UserError(f"{run_dir}: no such run directory")
    folder = RunFolder(run_dir)
    path = folder.config if folder.path.is_dir() else folder.path
    config = folder.read_config() if folder.path.is_dir() else read_object(path, "run config")
    if not isinstance(config.get("train"), dict):
        raise UserError(f"{path}: corrupt run config (no training settings)")
    TrainConfig.from_dict(config["train"])
    return config
