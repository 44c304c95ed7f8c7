"""Training configuration: one frozen dataclass whose fields are also the `train` command's flags, and presets
as data (`presets/NAME.toml`: the dataclass defaults, then the preset's [train], [family.F] and [model.M]
tables, then the flags)."""

from __future__ import annotations

import dataclasses
import glob
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tweetsent.core.errors import UserError
from tweetsent.core.records import RecordError, apply, from_dict, given, leaf_names, to_dict
from tweetsent.data.dataset import SENTIMENT140, DataConfig, data_name

WORD, PRETRAINED = {"family": "word"}, {"family": "pretrained"}  # fields that mean something for one family


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class TrainConfig:
    model: str
    preset: str = _f("fast", "fast (Sentiment140), small (a labelled file), seed (the study), or a .toml file")
    epochs: float = _f(2.0, "epochs over the training split")
    max_steps: int = _f(-1, "stop after this many optimiser steps (-1: the epochs decide)")
    min_steps: int = _f(0, "train at least this many steps: more epochs on a small dataset")
    max_minutes: float | None = _f(None, "wall-time budget: training stops cleanly when it is spent")
    train_size: int | None = _f(None, "train on a seeded random subset of this many tweets")
    val_size: int | None = _f(None, "validate on a seeded random subset of this many tweets")
    batch_size: int = _f(256, "tweets per step (per device)")
    lr: float = _f(2e-3, "learning rate (pretrained models: of the encoder)")
    optimizer: str = _f("adam", "adam or adamw")
    schedule: str = _f("linear", "constant, or linear (warm-up, then decay to zero)")
    warmup_steps: int = _f(200, "warm-up steps of the linear schedule")
    class_weights: str | None = _f(None, "loss weights: balanced, or NAME=W,... (default: none)")
    label_smoothing: float = _f(0.0, "label smoothing of the cross-entropy")
    fixed_length: int | None = _f(None, "pad every batch to exactly N tokens (the study: 40)", **WORD)
    bucket: bool = _f(True, "batch tweets of similar length together")
    max_length: int = _f(64, "tokens kept per tweet")
    eval_every: int = _f(200, "steps between evaluations of the validation sample and the test sets")
    eval_sample: int = _f(2000, "validation tweets scored every --eval-every steps (all at epoch ends)")
    log_every: int = _f(50, "steps per averaged training row of metrics.csv")
    init_from: str | None = _f(None, "start from a finished run of the same model (its weights and vocabulary)")
    embeddings: str = _f("glove.6B.50d", "GloVe name (glove.42B.300d) or file", **WORD)
    train_embeddings: bool = _f(True, "fine-tune the word vectors", **WORD)
    grow_vocab: bool = _f(True, "with --init-from: add the new data's words to the vocabulary", **WORD)
    pack: bool | None = _f(None, "pack_padded_sequence (default: on GPU only)", **WORD)
    dropout: float = _f(0.0, "dropout on the final state", **WORD)
    pretrained: str | None = _f(None, "Hugging Face model id or local folder [default: all-MiniLM-L6-v2]", **PRETRAINED)
    head_lr: float | None = _f(None, "learning rate of the new output layer (default: --lr)", **PRETRAINED)
    freeze_encoder: bool = _f(False, "train the output layer only", **PRETRAINED)
    clean: bool = _f(True, "apply the cleaning rules before the tokenizer", **PRETRAINED)
    precision: str = _f("bf16-mixed", "Lightning precision: 32-true, bf16-mixed, 16-mixed")
    early_stopping: int | None = _f(None, "stop after N validations without improvement")
    grad_accum: int = _f(1, "batches per optimiser step (gradient accumulation)")
    seed: int = _f(0, "seed of initialisation, batch order and subsets")
    logger: str = _f("csv", "Lightning loggers, comma-separated: csv, tensorboard, mlflow (and metrics.csv always)")
    accelerator: str = _f("auto", "cpu, gpu or auto")
    devices: str = _f("auto", "number of devices, or auto")
    num_nodes: int = _f(1, "machines for multi-node DDP")
    strategy: str = _f("auto", "Lightning strategy: auto, ddp, ddp_spawn, ...")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "train.") -> TrainConfig:
        try:
            return from_dict(cls, d, where=where)
        except RecordError as e:
            raise UserError(f"run config: {e}") from None


PRESETS = ("fast", "seed", "small", "distill")
LOGGERS = ("csv", "tensorboard", "mlflow")


def logger_names(spec: str) -> list[str]:
    return [name.strip() for name in spec.split(",") if name.strip()]


def read_preset(name: str) -> dict[str, Any]:
    """A preset's tables: a name of presets/ or a path to a TOML file of the same shape."""
    try:
        if name in PRESETS:
            text = resources.files("tweetsent.training").joinpath("presets", f"{name}.toml").read_text()
        elif name.endswith(".toml"):
            text = Path(name).read_text(encoding="utf-8")
        else:
            raise UserError(f"--preset must be {', '.join(PRESETS)} or a .toml file, not {name!r}")
        return tomllib.loads(text)
    except OSError as e:
        raise UserError(f"{name}: cannot read the preset ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{name}: not a valid preset file ({e})") from None


def preset_values(model: str, preset: str) -> dict[str, Any]:
    """The training settings of `preset` for `model`: [train], then [family.F], then [model.M]."""
    from tweetsent.models.registry import model_spec  # the CLI builds its flags from this module: no torch yet

    tables = read_preset(preset)
    family = model_spec(model).family
    train = {
        **tables.get("train", {}),
        **tables.get("family", {}).get(family, {}),
        **tables.get("model", {}).get(model, {}),
    }
    return train


def make_config(model: str, preset: str = "fast", base: dict[str, Any] | None = None, **flags: Any) -> TrainConfig:
    """TrainConfig for `model`: defaults, then the preset (or `base`, a saved run's settings), then the flags
    given (None: not given). Flags of another family's models are refused."""
    from tweetsent.models.registry import model_spec

    spec = model_spec(model)
    given = {k: v for k, v in flags.items() if v is not None}
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for name in sorted(given):
        if name not in fields:
            raise UserError(f"unknown training setting {name!r}")
        family = fields[name].metadata.get("family")
        if family is not None and family != spec.family:
            raise UserError(f"--{name.replace('_', '-')} applies to {family} models only, not {model}")
    values = dict(base) if base is not None else {**preset_values(model, preset), "preset": preset}
    values.update(given, model=model)
    config = TrainConfig.from_dict(values, where="")
    validate(config)
    return config


def validate(c: TrainConfig) -> None:
    checks = [
        (c.epochs > 0, f"--epochs must be positive, not {c.epochs}"),
        (c.max_steps == -1 or c.max_steps > 0, f"--max-steps must be positive, not {c.max_steps}"),
        (c.min_steps >= 0, f"--min-steps must be zero or more, not {c.min_steps}"),
        (c.max_minutes is None or c.max_minutes > 0, f"--max-minutes must be positive, not {c.max_minutes}"),
        (c.batch_size > 0, f"--batch-size must be positive, not {c.batch_size}"),
        (c.lr > 0, f"--lr must be positive, not {c.lr}"),
        (c.eval_every > 0, f"--eval-every must be positive, not {c.eval_every}"),
        (c.train_size is None or c.train_size > 0, f"--train-size must be positive, not {c.train_size}"),
        (c.val_size is None or c.val_size > 0, f"--val-size must be positive, not {c.val_size}"),
        (c.max_length > 0, f"--max-length must be positive, not {c.max_length}"),
        (0 <= c.dropout < 1, f"--dropout must be in [0, 1), not {c.dropout}"),
        (0 <= c.label_smoothing < 1, f"--label-smoothing must be in [0, 1), not {c.label_smoothing}"),
        (c.fixed_length is None or c.fixed_length > 0, f"--fixed-length must be positive, not {c.fixed_length}"),
        (c.schedule in ("constant", "linear"), f"--schedule must be constant or linear, not {c.schedule!r}"),
        (c.optimizer in ("adam", "adamw"), f"--optimizer must be adam or adamw, not {c.optimizer!r}"),
        (c.grad_accum > 0, f"--grad-accum must be positive, not {c.grad_accum}"),
        (c.warmup_steps >= 0, f"--warmup-steps must be zero or more, not {c.warmup_steps}"),
        (c.head_lr is None or c.head_lr > 0, f"--head-lr must be positive, not {c.head_lr}"),
        (c.eval_sample > 0 and c.log_every > 0, "--eval-sample and --log-every must be positive"),
        (
            c.accelerator in ("cpu", "gpu", "cuda", "auto"),
            f"--accelerator must be cpu, gpu or auto, not {c.accelerator!r}",
        ),
        (
            bool(c.logger.strip()) and set(logger_names(c.logger)) <= set(LOGGERS),
            f"--logger must be one or more of {', '.join(LOGGERS)} (comma-separated), not {c.logger!r}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    from tweetsent.models.families import family_of
    from tweetsent.models.registry import model_spec

    spec = model_spec(c.model)
    family_of(c.model).check(c)
    if c.fixed_length is not None and c.fixed_length % spec.length_multiple:
        raise UserError(
            f"{c.model} needs a fixed length that is a multiple of {spec.length_multiple}, not {c.fixed_length}"
        )


# ---------------------------------------------------------------------------------------------- assembly


def preset_data(preset: str) -> dict[str, Any]:
    """A preset's data settings (its [data] table)."""
    return dict(read_preset(preset).get("data", {}))


def run_defaults(model: str, preset: str | None, data: tuple[str, ...] | None) -> tuple[str, Path]:
    """The preset and run folder a new run gets when none is named: `small` and runs/MODEL-DATA for labelled
    files (usually a few thousand tweets), `fast` and runs/MODEL-PRESET for Sentiment140."""
    name = data_name(data) if data else None
    preset = preset or ("small" if name else "fast")
    return preset, Path("runs") / f"{model}-{name or preset}"


def unknown_settings(names: Iterable[str]) -> list[str]:
    """The names that are no setting of TrainConfig or DataConfig (nested tables flattened)."""
    return sorted(set(names) - leaf_names(TrainConfig) - leaf_names(DataConfig))


def configure(model: str, preset: str, flags: dict[str, Any]) -> tuple[TrainConfig, DataConfig]:
    """The training and data settings of a new run: defaults, then the preset, then the flags given (None: not
    given; nested tables flattened, as the command line gives them). `train`, `distill`, `compare` and the Python
    API all start here."""
    config = make_config(model, preset, **given(TrainConfig, flags))
    return config, data_config(preset_data(preset), flags)


def data_config(preset_data: dict[str, Any], flags: dict[str, Any], base: DataConfig | None = None) -> DataConfig:
    """DataConfig: `base` (a saved run's) or the defaults with the preset's [data] table, then the flags given."""
    try:
        start = base if base is not None else from_dict(DataConfig, preset_data, where="preset data.")
    except RecordError as e:
        raise UserError(str(e)) from None
    changes = given(DataConfig, flags)
    for name in _PATHS:  # absolute, so `train --config RUN_DIR/config.json` works from any folder
        if isinstance(changes.get(name), str) and changes[name] != "-":
            changes[name] = str(Path(changes[name]).expanduser().resolve())
    if "data" in changes:
        changes["data"] = expand_paths(changes["data"])
    if "test_data" in changes:
        changes["test_data"] = tuple(
            p if p == SENTIMENT140 else str(Path(p).expanduser().resolve()) for p in changes["test_data"]
        )
    if "val_data" in changes and "val_fraction" not in changes:
        changes["val_fraction"] = None  # a validation file replaces a saved run's held-out share
    return apply(start, changes)


def expand_paths(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """`--data` values as absolute paths, a glob standing for the files it matches (sorted); one that matches
    nothing is an error naming it."""
    out: list[str] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if glob.has_magic(str(path)):
            found = sorted(p for p in glob.glob(str(path)) if Path(p).is_file())
            if not found:
                raise UserError(f"--data {pattern}: no file matches")
            out.extend(str(Path(p).resolve()) for p in found)
        else:
            out.append(str(path.resolve()) if pattern != "-" else pattern)
    return tuple(dict.fromkeys(out))


_PATHS = ("val_data", "select_data", "data_dir", "train_file", "test_file")
