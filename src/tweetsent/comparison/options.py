"""What `tweetsent compare` is asked to do: its options and the --models list."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig
from tweetsent.data.labelled import ReadOptions
from tweetsent.models.registry import model_spec


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
    runtime: str = "auto"  # what scores and times the runs (Classifier.load's runtime)
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
        model_spec(name)
    return names
