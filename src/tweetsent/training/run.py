"""One training run, start to finish: prepared data -> Lightning fit -> best weights -> artifacts.

run_dir/config.json     everything needed to repeat the run
run_dir/metrics.csv     step, epoch, split, loss, accuracy
run_dir/summary.json    final numbers on val, test (all 498) and test_seed (the study's 367)
run_dir/plots/          learning curves and confusion matrices
run_dir/model/          the self-contained artifact predict/serve load
run_dir/checkpoints/    last.ckpt (for --resume) and best.ckpt (lowest validation loss)
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, Logger
from torch.utils.data import DataLoader

from tweetsent import paths
from tweetsent.atomic import write_json
from tweetsent.data.batches import TweetBatches
from tweetsent.data.prepare import PRESETS, Split, prepare, seeded_rows, seeded_subset
from tweetsent.data.sources import locate
from tweetsent.embeddings.glove import embedding_matrix
from tweetsent.errors import UserError
from tweetsent.evaluation.metrics import summary_metrics
from tweetsent.evaluation.plots import write_run_plots
from tweetsent.inference.artifact import predict_split, save_artifact
from tweetsent.models import MODELS, build_model
from tweetsent.training.callbacks import AtomicCheckpointIO, Reshuffle, RunRecorder, steps_per_epoch
from tweetsent.training.config import TrainConfig
from tweetsent.training.system import SentimentSystem
from tweetsent.versions import package_versions

EVAL_SPLITS = ("val", "test", "test_seed")


def model_kwargs(config: TrainConfig, on_gpu: bool) -> dict[str, Any]:
    pack = on_gpu if config.pack is None else config.pack
    return {"train_embeddings": config.train_embeddings, "pack": pack, "dropout": config.dropout}


def _precision(config: TrainConfig) -> str:
    return config.precision or "bf16-mixed"


def train(
    config: TrainConfig,
    run_dir: Path,
    data_dir: Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any] | None:
    """Train, select the best checkpoint by validation loss, evaluate and write the run's artifacts.
    Returns the summary on the global-zero process (None on the others)."""
    torch.set_flush_denormal(True)  # CPU LSTM backward slows 20-40x on denormal values (SPEC 7)
    L.seed_everything(config.seed, workers=True, verbose=False)
    run_dir = Path(run_dir)
    checkpoints = run_dir / "checkpoints"
    last = checkpoints / "last.ckpt"
    if resume and not last.is_file():
        raise UserError(f"{run_dir}: nothing to resume (no checkpoints/last.ckpt)")
    # DDP workers started by Lightning re-run this command: only the first process checks the folder.
    primary = os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"
    if primary and not resume and (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} already holds a run: pass --resume to continue it, or another --out")

    prepare_config = PRESETS[config.preset]
    files = locate(paths.data_dir(data_dir))
    prepared = prepare(files, prepare_config, paths.cache_dir())
    bert = MODELS[config.model].kind == "bert"
    train_rows = seeded_rows(len(prepared["train"]), config.train_size, config.seed)
    val_rows = seeded_rows(len(prepared["val"]), config.val_size, config.seed)
    if bert:
        # A pretrained encoder brings its own tokenizer: the same rows, tokenized by it (cached).
        from tweetsent.training.bert import bert_inputs

        rows = {"train": train_rows, "val": val_rows, "test": None, "test_seed": None}
        inputs = bert_inputs(config, files, prepared, rows)
        splits, vectors = inputs.splits, None
    else:
        vectors = embedding_matrix(prepared.vocab, config.embeddings, paths.cache_dir(), paths.glove_dir(), config.seed)
        splits = {
            "train": prepared["train"] if train_rows is None else prepared["train"].subset(train_rows),
            "val": prepared["val"] if val_rows is None else prepared["val"].subset(val_rows),
            "test": prepared["test"],
            "test_seed": prepared["test_seed"],
        }
    train_split, val_split = splits["train"], splits["val"]
    val_sample = seeded_subset(val_split, config.eval_sample, config.seed + 1)
    train_batches = TweetBatches(
        train_split,
        config.batch_size,
        fixed_length=config.fixed_length,
        max_length=config.max_length,
        shuffle=True,
        bucket=config.bucket and config.fixed_length is None,
        seed=config.seed,
    )
    val_batches = TweetBatches(val_split, 1024, max_length=config.max_length, bucket=True)

    on_gpu = config.accelerator in ("gpu", "cuda") or (config.accelerator == "auto" and torch.cuda.is_available())
    if vectors is None:
        kwargs = inputs.model_kwargs
        model: torch.nn.Module = inputs.build_model()
    else:
        kwargs = model_kwargs(config, on_gpu)
        model = build_model(config.model, len(prepared.vocab), vectors.dim, **kwargs)
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(vectors.matrix))  # type: ignore[union-attr,operator]
    system = SentimentSystem(model, config)

    recorder = RunRecorder(
        run_dir,
        val_sample,
        splits["test"],
        config.eval_every,
        min(config.log_every, config.eval_every),
        config.max_length,
    )
    best = ModelCheckpoint(
        dirpath=checkpoints, filename="best", monitor="val_loss", mode="min", save_top_k=1, enable_version_counter=False
    )
    latest = ModelCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0, every_n_train_steps=config.eval_every)
    callbacks: list[L.Callback] = [Reshuffle(train_batches), recorder, best, latest]
    if config.early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", mode="min", patience=config.early_stopping))
    if progress:
        callbacks.append(RichProgressBar(refresh_rate=10))
    trainer = L.Trainer(
        accelerator="gpu" if config.accelerator == "cuda" else config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=_precision(config),  # type: ignore[arg-type]
        num_sanity_val_steps=0,
        callbacks=callbacks,
        logger=loggers(run_dir, resume),
        enable_progress_bar=progress,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        log_every_n_steps=config.log_every,
        accumulate_grad_batches=config.grad_accum,
        # A budget stops training at a step boundary; Lightning then validates once more, so the best
        # checkpoint and every artifact are written as for a run that ran its epochs.
        max_time=timedelta(minutes=config.max_minutes) if config.max_minutes else None,
    )
    # Under DDP each process takes every world_size-th batch: an epoch is that many fewer steps.
    batches_per_epoch = math.ceil(len(train_batches) / trainer.world_size)
    epoch_steps = steps_per_epoch(len(train_batches), trainer.world_size, config.grad_accum)
    max_steps = config.max_steps if config.max_steps > 0 else math.ceil(config.epochs * epoch_steps)
    trainer.fit_loop.epoch_loop.max_steps = max_steps
    trainer.fit_loop.max_epochs = math.ceil(max_steps / epoch_steps)
    trainer.val_check_interval = min(batches_per_epoch, max_steps * config.grad_accum)  # in batches; at least once
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            write_json(
                run_dir / "config.json",
                {
                    "train": config.to_dict(),
                    "prepare": prepare_config.to_dict(),
                    "data": {
                        "train": str(files.train),
                        "test": str(files.test),
                        "data_dir": str(paths.data_dir(data_dir)),
                    },
                    "steps_per_epoch": epoch_steps,
                    "max_steps": max_steps,
                    "model_kwargs": kwargs,
                    "versions": package_versions(),
                    "command": sys.argv,
                },
            )
    started = time.perf_counter()
    train_loader = DataLoader(train_batches, batch_size=None, shuffle=False)
    val_loader = DataLoader(val_batches, batch_size=None, shuffle=False)
    try:
        trainer.fit(system, train_loader, val_loader, ckpt_path=str(last) if resume else None)
    except SystemExit:
        # On Ctrl+C Lightning shuts down, ignores further SIGINTs and calls sys.exit(1): restore the handler
        # and report it as the interruption it was.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    fit_seconds = time.perf_counter() - started
    if trainer.interrupted:
        raise KeyboardInterrupt
    if not trainer.is_global_zero:
        return None

    best_step = trainer.global_step
    if best.best_model_path and Path(best.best_model_path).is_file():
        checkpoint = torch.load(best.best_model_path, map_location="cpu", weights_only=False)
        system.load_state_dict(checkpoint["state_dict"])
        best_step = int(checkpoint["global_step"])
    model = system.model.to("cpu").float()
    summary: dict[str, Any] = {
        "model": config.model,
        "preset": config.preset,
        "epochs": round(trainer.global_step / epoch_steps, 4),
        "steps": trainer.global_step,
        "best_step": best_step,
        "max_steps": max_steps,
        "budget_minutes": config.max_minutes,
        "stopped_by_budget": bool(config.max_minutes) and trainer.global_step < max_steps,
        "train_seconds": round(recorder.train_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "train_tweets_per_second": round(recorder.tweets / max(recorder.train_seconds, 1e-9), 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": "gpu" if on_gpu else "cpu",
        "precision": _precision(config),
        **evaluate_splits(
            model, {"val": val_split, "test": splits["test"], "test_seed": splits["test_seed"]}, config.max_length
        ),
    }
    if vectors is None:
        inputs.save(
            run_dir / "model",
            model,  # type: ignore[arg-type]
            extra={"preset": config.preset, "train_config": config.to_dict()},
        )
    else:
        save_artifact(
            run_dir / "model",
            model_name=config.model,
            model_kwargs={**kwargs, "pack": False},
            model=model,
            vocab=prepared.vocab,
            cleaning=prepare_config.cleaning,
            max_length=config.max_length,
            extra={"preset": config.preset, "embeddings": vectors.source, "train_config": config.to_dict()},
        )
    write_json(run_dir / "summary.json", summary)
    write_run_plots(run_dir, summary)
    return summary


def loggers(run_dir: Path, resume: bool) -> list[Logger]:
    """Lightning's CSV log, plus TensorBoard when it is installed. A resumed run logs into a new version
    folder: Lightning's CSV logger would otherwise replace the first part's file."""
    version = f"resume-{len(list((run_dir / 'logs').glob('resume-*'))) + 1}" if resume else ""
    chosen: list[Logger] = [CSVLogger(run_dir, name="logs", version=version)]
    if importlib.util.find_spec("tensorboard") is not None:
        from lightning.pytorch.loggers import TensorBoardLogger

        chosen.append(TensorBoardLogger(run_dir, name="logs", version="tensorboard"))
    return chosen


def predict_splits(model: torch.nn.Module, splits: dict[str, Split], max_length: int) -> dict[str, np.ndarray]:
    return {name: predict_split(model, split, max_length) for name, split in splits.items()}


def evaluate_splits(model: torch.nn.Module, splits: dict[str, Split], max_length: int) -> dict[str, Any]:
    probs = predict_splits(model, splits, max_length)
    return {name: summary_metrics(name, probs[name], split.labels) for name, split in splits.items()}


def read_run_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    try:
        config: dict[str, Any] = json.loads(path.read_text())
        TrainConfig.from_dict(config["train"])
        return config
    except FileNotFoundError:
        raise UserError(f"{run_dir}: not a run directory (no config.json)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: corrupt run config ({e})") from None
