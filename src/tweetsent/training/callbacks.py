"""Callbacks: metrics.csv and periodic evaluation (RunRecorder), per-epoch reshuffling, atomic checkpoints."""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback

from tweetsent.core.atomic import atomic_path
from tweetsent.core.labels import LabelSet
from tweetsent.core.metrics import split_metrics
from tweetsent.core.runs import RunFolder
from tweetsent.data.batches import TweetBatches
from tweetsent.models.artifact import predict_split
from tweetsent.training.datamodule import EvalSet

COLUMNS = RunFolder.METRICS_COLUMNS  # metrics.csv's, in order (RunFolder reads the file)


def steps_per_epoch(batches: int, world_size: int, accumulate: int) -> int:
    """Optimiser steps in an epoch of `batches`: under DDP each process takes every world_size-th batch, and
    with gradient accumulation a step takes `accumulate` of them (Lightning steps on a last, partial group)."""
    return math.ceil(math.ceil(batches / world_size) / accumulate)


class AtomicCheckpointIO(TorchCheckpointIO):
    """A checkpoint is written to a temporary file and renamed: a kill mid-write never leaves a torn one."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        try:
            with atomic_path(path) as tmp:
                super().save_checkpoint(checkpoint, tmp, storage_options)
        except RuntimeError as e:  # torch reports a full disk as "PytorchStreamWriter failed writing file"
            raise OSError(f"cannot write the checkpoint {path} ({str(e).splitlines()[0][:200]})") from None


class Reshuffle(Callback):
    """A new batch plan each epoch; after a mid-epoch resume, the batches already trained on are skipped."""

    def __init__(self, batches: TweetBatches) -> None:
        self.batches = batches

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.batches.set_epoch(trainer.current_epoch)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Resuming mid-epoch, Lightning restores the step count but skips on_train_epoch_start and restarts a
        # plain dataloader at its first batch (ending the epoch early): re-draw this epoch's plan and drop the
        # batches already trained on. Under DDP each step took one batch per process and the sampler deals
        # batches round-robin, so dropping done x world_size keeps every process on its own next batch.
        # With gradient accumulation a step took `accumulate` batches per process.
        self.batches.set_epoch(trainer.current_epoch)
        accumulate = trainer.accumulate_grad_batches
        per_process = steps_per_epoch(len(self.batches), trainer.world_size, accumulate)
        done = trainer.global_step - trainer.current_epoch * per_process
        if 0 < done < per_process:
            self.batches.skip(done * accumulate * trainer.world_size)


class RunRecorder(Callback):
    """Writes metrics.csv (step, epoch, split, loss, accuracy, seconds, accuracy_binary): train rows averaged over
    each `log_every` window, val (a fixed sample) and every test set every `eval_every` steps, and full-validation
    rows at epoch ends. Also keeps the training time net of evaluation, for tweets/s.

    The periodic evaluation is scored here rather than in Lightning's validation loop, which has one set of data
    and one cadence: every `eval_every` steps it would score the whole validation split, which on Sentiment140 costs
    about 17 times the sample and the test sets (`bench/eval_cadence.py`, docs/benchmarks.md), time a wall-time
    budget takes from training. Lightning's loop keeps the epoch-end validation that chooses the checkpoint."""

    def __init__(
        self, run_dir: Path, evals: list[EvalSet], classes: LabelSet, eval_every: int, log_every: int, max_length: int
    ) -> None:
        self.folder = RunFolder(run_dir)
        self.path = self.folder.metrics
        self.evals = evals
        self.classes = classes
        self.eval_every = eval_every
        self.log_every = log_every
        self.max_length = max_length
        # (step, split) -> (epoch, loss, accuracy, seconds, accuracy_binary)
        self.rows: dict[tuple[int, str], tuple[float, float, float, float, float]] = {}
        self.window: list[torch.Tensor] = []
        self.tweets = 0
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self._tick = 0.0
        self._last_step = 0
        self.wall_offset = 0.0  # wall seconds trained before a resume
        self._started = 0.0  # set at on_train_start

    # -- resumable state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "tweets": self.tweets,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "wall_seconds": self._wall(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tweets = state["tweets"]
        self.train_seconds = state["train_seconds"]
        self.eval_seconds = state["eval_seconds"]
        self.wall_offset = state.get("wall_seconds", 0.0)

    # -- hooks, in the order Lightning calls them ------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()
        self._last_step = trainer.global_step
        if self.path.is_file():  # resuming (the checkpoint is restored by now): keep rows up to its step
            for r in self.folder.read_metrics():
                if r.seconds is not None and not math.isnan(r.seconds):
                    # The first part ran on after its last checkpoint (the final evaluation): its rows say how long.
                    self.wall_offset = max(self.wall_offset, r.seconds)
                if r.step <= trainer.global_step:
                    self.rows[(r.step, r.split)] = (
                        r.epoch,
                        r.loss,
                        r.accuracy,
                        r.seconds if r.seconds is not None else math.nan,  # files of older versions lack the last two
                        r.accuracy_binary if r.accuracy_binary is not None else r.accuracy,
                    )

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._tick = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.train_seconds += time.perf_counter() - self._tick
        count = int(outputs["count"]) * trainer.world_size
        self.tweets += count
        self.window.append(
            torch.stack(
                [
                    outputs["loss"].detach().float() * outputs["count"],
                    outputs["correct"].float(),
                    outputs["count"].float(),
                ]
            )
        )
        step = trainer.global_step
        if step == self._last_step:  # gradient accumulation: no optimiser step after this batch
            return
        self._last_step = step
        epoch = self._epoch(trainer)
        if step % self.log_every == 0 and self.window:
            loss_sum, correct, n = torch.stack(self.window).sum(0).tolist()
            self.window = []
            self.rows[(step, "train")] = (epoch, loss_sum / n, correct / n, self._wall(), correct / n)
            pl_module.log("tweets/s", self.tweets / max(self.train_seconds, 1e-9), prog_bar=True)
            self._publish(trainer, "train", loss_sum / n, correct / n)
            self._write(trainer)
        if step % self.eval_every == 0:
            self.evaluate(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._tick = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.eval_seconds += time.perf_counter() - self._tick
        if trainer.sanity_checking or "val_loss" not in trainer.callback_metrics:
            return
        metrics = trainer.callback_metrics
        accuracy = float(metrics["val_accuracy"])
        row = (self._epoch(trainer), float(metrics["val_loss"]), accuracy, self._wall(), accuracy)
        self.rows[(trainer.global_step, "val")] = row
        self._write(trainer)

    # -- helpers ---------------------------------------------------------------------------------------
    def _wall(self) -> float:
        return self.wall_offset + time.perf_counter() - self._started

    @property
    def wall_seconds(self) -> float:
        """Wall time since training started, the parts before a resume included."""
        return self._wall()

    def _epoch(self, trainer: L.Trainer) -> float:
        return trainer.global_step * trainer.accumulate_grad_batches / max(1, trainer.num_training_batches)

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Loss and accuracy on the validation sample and the test sets (rank 0; the inner module, so no
        DDP collective is involved and the other ranks simply go on)."""
        if not trainer.is_global_zero:
            return
        start = time.perf_counter()
        model: torch.nn.Module = pl_module.model  # type: ignore[assignment]
        for e in self.evals:
            m = split_metrics(predict_split(model, e.split, self.max_length), e.gold, self.classes, e.space)
            loss = m["loss"] if m["loss"] is not None else math.nan
            binary = m["accuracy_binary"] if m["accuracy_binary"] is not None else math.nan
            self.rows[(trainer.global_step, e.name)] = (self._epoch(trainer), loss, m["accuracy"], self._wall(), binary)
            self._publish(trainer, "val_sample" if e.name == "val" else e.name, loss, m["accuracy"])
        self.eval_seconds += time.perf_counter() - start
        self._write(trainer)

    def record(self, trainer: L.Trainer, name: str, metrics: dict[str, Any]) -> None:
        """A row for another callback's evaluation (the selection set's)."""
        loss = metrics["loss"] if metrics["loss"] is not None else math.nan
        binary = metrics["accuracy_binary"] if metrics["accuracy_binary"] is not None else math.nan
        row = (self._epoch(trainer), loss, metrics["accuracy"], self._wall(), binary)
        self.rows[(trainer.global_step, name)] = row
        self._publish(trainer, name, loss, metrics["accuracy"])
        self._write(trainer)

    def _publish(self, trainer: L.Trainer, split: str, loss: float, accuracy: float) -> None:
        """A row of metrics.csv also to the Trainer's loggers (CSV, TensorBoard, MLflow), as `SPLIT_loss` and
        `SPLIT_accuracy` at the step. The full validation goes to them through the module's own `self.log`."""
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({f"{split}_loss": loss, f"{split}_accuracy": accuracy}, step=trainer.global_step)

    def _write(self, trainer: L.Trainer) -> None:
        if not trainer.is_global_zero:
            return
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            order = {"train": 0, "val": 1} | {e.name: i + 2 for i, e in enumerate(self.evals) if e.name != "val"}
            for (step, split), (epoch, loss, acc, seconds, binary) in sorted(
                self.rows.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], len(order)), kv[0][1])
            ):
                writer.writerow(
                    [step, f"{epoch:.4f}", split, f"{loss:.6f}", f"{acc:.6f}", f"{seconds:.2f}", f"{binary:.6f}"]
                )
            f.flush()
            os.fsync(f.fileno())


class SelectBest(Callback):
    """Keeps, as `path`, the checkpoint with the best macro-F1 on a hand-labelled selection set (`--select-data`;
    ties go to the lower loss), scored every `eval_every` steps and when training ends: instead of the lowest loss
    on validation tweets, whose labels (Sentiment140's emoticons) may not track hand-labelled sentiment. Every
    process scores it (the weights are the same under DDP), because saving a checkpoint is collective."""

    def __init__(
        self, select: EvalSet, classes: LabelSet, eval_every: int, max_length: int, path: Path, recorder: RunRecorder
    ) -> None:
        self.select, self.classes, self.eval_every, self.max_length = select, classes, eval_every, max_length
        self.path, self.recorder = path, recorder
        self.best: tuple[float, float] | None = None  # (macro-F1, -loss): larger is better
        self.best_step = 0
        self._scored = -1

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = (float(state["best"][0]), float(state["best"][1])) if state.get("best") else None
        self.best_step = state.get("best_step", 0)

    @property
    def best_model_path(self) -> str:
        return str(self.path) if self.best is not None and self.path.is_file() else ""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step % self.eval_every == 0:
            self.score(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.score(trainer, pl_module)

    def score(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = trainer.global_step
        if step == self._scored or step == 0:
            return
        self._scored = step
        model: torch.nn.Module = pl_module.model  # type: ignore[assignment]
        probs = predict_split(model, self.select.split, self.max_length)
        m = split_metrics(probs, self.select.gold, self.classes, self.select.space)
        self.recorder.record(trainer, self.select.name, m)
        key = (m["macro_f1"], -(m["loss"] if m["loss"] is not None else math.inf))
        if self.best is None or key > self.best:
            self.best, self.best_step = key, step
            trainer.save_checkpoint(self.path, weights_only=False)  # explicit, or Lightning logs a line per save
