"""The LightningModule: loss, metrics and optimiser around a plain classifier `nn.Module`."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer
from torch import nn
from torch.nn import functional as F
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from tweetsent.training.config import TrainConfig

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


class SentimentSystem(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        num_classes: int,
        class_weights: torch.Tensor | None = None,
        timer: Timer | None = None,
    ) -> None:
        """`timer`: the Trainer's budget clock (a `--max-minutes` run), which the learning-rate schedule follows."""
        super().__init__()
        self.model = model
        self.config = config
        self.timer = timer
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.val_loss = MeanMetric()
        self.val_accuracy = MulticlassAccuracy(num_classes=num_classes, average="micro")

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model(ids, lengths)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against class indices, or against probabilities (a teacher's soft targets)."""
        return F.cross_entropy(
            logits.float(), targets, weight=self.class_weights, label_smoothing=self.config.label_smoothing
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        logits = self(batch["ids"], batch["lengths"])
        loss = self.loss(logits, batch.get("targets", batch["labels"]))
        correct = (logits.argmax(dim=-1) == batch["labels"]).sum()
        # The RunRecorder callback turns these into windowed train rows of metrics.csv.
        return {"loss": loss, "correct": correct.detach(), "count": torch.tensor(len(batch["labels"]))}

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self(batch["ids"], batch["lengths"]).float()
        # Plain cross-entropy: checkpoints are compared by the loss of the data, not of the training objective.
        self.val_loss.update(F.cross_entropy(logits, batch["labels"]), weight=len(batch["labels"]))
        self.val_accuracy.update(logits, batch["labels"])

    def on_validation_epoch_end(self) -> None:
        # compute() has already reduced across DDP ranks; sync_dist then averages equal values.
        self.log("val_loss", self.val_loss.compute(), prog_bar=True, sync_dist=True)
        self.log("val_accuracy", self.val_accuracy.compute(), prog_bar=True, sync_dist=True)
        self.val_loss.reset()
        self.val_accuracy.reset()

    def _train_seconds(self) -> float:
        """Wall time the run has trained (resumes included), as the budget's Timer counts it."""
        return self.timer.time_elapsed() if self.timer is not None else 0.0

    def configure_optimizers(self) -> Any:
        head_lr = self.config.head_lr if self.config.head_lr is not None else self.config.lr
        groups = self.model.param_groups(self.config.lr, head_lr)  # type: ignore[operator]
        # Fused: one kernel for all parameters (docs/benchmarks.md measures what it gains).
        optimizer = OPTIMIZERS[self.config.optimizer](groups, lr=self.config.lr, fused=True)
        if self.config.schedule == "constant":
            return optimizer
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(self.config.warmup_steps, total // 10)
        budget = (self.config.max_minutes or 0) * 60

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            done = (step - warmup) / max(1, total - warmup)
            if budget:  # a time budget usually ends the run before `total` steps: decay by whichever ends first
                done = max(done, self._train_seconds() / budget)
            return max(0.0, 1.0 - done)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
