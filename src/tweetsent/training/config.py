"""Training configuration and the two presets: `seed` (the study) and `fast` (what we recommend)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

from tweetsent.errors import UserError
from tweetsent.models import MODELS

STUDY_EPOCHS = {"lstm": 30, "bilstm": 18, "pyramid": 8}


@dataclass(frozen=True)
class TrainConfig:
    model: str
    preset: str = "fast"
    epochs: float = 2
    max_steps: int = -1
    train_size: int | None = None  # a seeded random subset of the training split
    val_size: int | None = None  # a seeded random subset of the validation split (None: all)
    batch_size: int = 256
    lr: float = 2e-3
    schedule: str = "linear"  # "constant", or "linear": warmup then linear decay to zero
    warmup_steps: int = 200
    fixed_length: int | None = None  # pad/cut every batch to exactly this many tokens (the study's layout)
    bucket: bool = True  # group tweets of similar length into a batch (ignored with fixed_length)
    max_length: int = 64  # tokens kept per tweet (also protects the CPU LSTM from denormal slow-downs)
    eval_every: int = 200
    eval_sample: int = 2000  # validation tweets scored every eval_every steps (the full set at epoch end)
    log_every: int = 50
    embeddings: str = "glove.6B.50d"
    train_embeddings: bool = True
    pack: bool | None = None  # None: pack_padded_sequence on GPU, trimmed padded batches on CPU
    dropout: float = 0.0
    precision: str | None = None  # None: bf16-mixed (GPU and AMX CPUs alike) for fast, 32-true for seed
    early_stopping: int | None = None  # patience in validation rounds
    seed: int = 0
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def preset_config(model: str, preset: str, **overrides: Any) -> TrainConfig:
    """The preset's settings for `model`, with any non-None overrides applied and checked."""
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    if preset == "seed":
        # The study: Adam 1e-3, batch 16, 40 tokens, frozen GloVe, evaluation every 200 steps. The study padded
        # every batch to 40; here batches of 16 group tweets of similar length and stop at their longest one
        # (the speed-up measured in bench/train_throughput.py). --fixed-length 40 restores the exact layout.
        base = TrainConfig(
            model=model,
            preset=preset,
            epochs=STUDY_EPOCHS[model],
            batch_size=16,
            lr=1e-3,
            schedule="constant",
            warmup_steps=0,
            max_length=40,
            train_embeddings=False,
            precision="32-true",
        )
    elif preset == "fast":
        base = TrainConfig(model=model, preset=preset)
    else:
        raise UserError(f"--preset must be seed or fast, not {preset!r}")
    config = dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})
    validate(config)
    return config


def validate(c: TrainConfig) -> None:
    checks = [
        (c.epochs > 0, f"--epochs must be positive, not {c.epochs}"),
        (c.max_steps == -1 or c.max_steps > 0, f"--max-steps must be positive, not {c.max_steps}"),
        (c.batch_size > 0, f"--batch-size must be positive, not {c.batch_size}"),
        (c.lr > 0, f"--lr must be positive, not {c.lr}"),
        (c.eval_every > 0, f"--eval-every must be positive, not {c.eval_every}"),
        (c.train_size is None or c.train_size > 0, f"--train-size must be positive, not {c.train_size}"),
        (c.val_size is None or c.val_size > 0, f"--val-size must be positive, not {c.val_size}"),
        (c.max_length > 0, f"--max-length must be positive, not {c.max_length}"),
        (0 <= c.dropout < 1, f"--dropout must be in [0, 1), not {c.dropout}"),
        (c.fixed_length is None or c.fixed_length > 0, f"--fixed-length must be positive, not {c.fixed_length}"),
        (c.schedule in ("constant", "linear"), f"--schedule must be constant or linear, not {c.schedule!r}"),
        (
            c.accelerator in ("cpu", "gpu", "cuda", "auto"),
            f"--accelerator must be cpu, gpu or auto, not {c.accelerator!r}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    multiple = MODELS[c.model].length_multiple
    if c.fixed_length is not None and c.fixed_length % multiple:
        raise UserError(f"{c.model} needs a fixed length that is a multiple of {multiple}, not {c.fixed_length}")
