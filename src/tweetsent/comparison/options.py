"""What `tweetsent compare` is asked to do: its options and the --models list."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig
from tweetsent.data.labelled import ReadOptions
from tweetsent.models.registry import model_spec

# TrainConfig settings that also reach the three-class recipe's runs: where and how a run executes and logs. Its
# schedule and data sizes are the small preset's (its data is another file).
RUNTIME_SETTINGS = ("accelerator", "devices", "num_nodes", "strategy", "precision", "logger")


@dataclass
class CompareOptions:
    models: list[str] = field(default_factory=list)  # models to train here
    runs: list[Path] = field(default_factory=list)  # finished runs (or ensembles) to take as they are
    preset: str = "fast"
    budget_minutes: float | None = None  # one seed's training time, shared equally by the models trained here
    # TrainConfig settings given for every run trained here (train's flags: --epochs, --train-size, --seed, ...;
    # --train-size and --val-size also choose the baselines' rows).
    train: dict[str, Any] = field(default_factory=dict)
    out: Path = Path("runs/compare")
    baselines: bool = True
    refresh_baselines: bool = False
    ft_autotune: int = 0  # seconds of fastText's own hyper-parameter search on the validation split (0: its defaults)
    data: DataConfig = field(default_factory=DataConfig)
    eval_data: list[str] = field(default_factory=list)  # labelled files every entry is scored on (cross-domain)
    transfer_data: str | None = None  # a hand-labelled file every model trained here is then trained on
    # Models the transfer stage trains on the hand labels from their own starting point rather than from their
    # Sentiment140 run: a pretrained encoder is distantly supervised already (its pretraining), and a few minutes
    # of emoticon labels lowered BERT's validation macro-F1 on SemEval-2016 (docs/results.md, the three-class recipe).
    transfer_scratch: tuple[str, ...] = ("bert",)
    eval_read: ReadOptions = field(default_factory=ReadOptions)
    seeds: int = 1  # runs per model trained here, seeds --seed, --seed + 1, ...: the report gives mean ± sd
    transfer_seeds: int | None = None  # the three-class recipe's runs per model (default: seeds)
    runtime: str = "auto"  # what scores and times the runs (Classifier.load's runtime)
    progress: bool = True
    command: list[str] = field(default_factory=lambda: list(sys.argv))

    @property
    def seed(self) -> int | None:
        """--seed, when given: the first seed of every model's runs and of the subsets they train on."""
        seed = self.train.get("seed")
        return None if seed is None else int(seed)


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
