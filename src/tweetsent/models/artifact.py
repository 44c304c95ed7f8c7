"""The `model/` folder of a run: everything needed to rebuild a classifier, nothing of the training code.

model/config.json        format version, family, model name and arguments, label names, cleaning, lengths;
                         the family adds its own entries and files (families/word.py, families/pretrained.py)
model/calibration.json   what `tweetsent calibrate` chose: the neutral band's margin (a negative/positive model) or
                         the class prior correction (log-offsets per label, a model that predicts neutral itself)

`load_artifact` reads any of them, an ensemble (models/ensemble.py) included, as a `Predictor`: something with
label names that turns texts into probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
from safetensors import SafetensorError

from tweetsent.core import paths
from tweetsent.core.atomic import atomic_dir, write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import STANDARD, LabelSet
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.models.families import FAMILIES
from tweetsent.models.families.base import Artifact, check_record, predict_split

__all__ = ["Artifact", "Predictor", "load_artifact", "predict_split", "save_artifact"]

FORMAT_VERSION = 2
CALIBRATION_FILE = "calibration.json"
MAX_BIAS = 10.0  # a larger log-offset than this is a damaged file, not a prior
# The standard labels of models saved before label sets were recorded per model (format 1).
_FORMAT_1_LABELS = STANDARD


class Predictor(Protocol):
    """What `tweetsent.load` and every command load from a model folder: a single run's model or an ensemble."""

    labels: LabelSet
    config: dict[str, Any]
    folder: Path | None

    @property
    def name(self) -> str: ...

    class_bias: np.ndarray | None

    def to(self, device: str) -> None: ...

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray: ...


def save_artifact(folder: Path, artifact: Artifact, model_kwargs: dict[str, Any], extra: dict[str, Any]) -> None:
    """Write the artifact's folder atomically: a reader sees the old folder or the whole new one."""
    config = {
        "format_version": FORMAT_VERSION,
        "family": artifact.family,
        "model": artifact.name,
        "model_kwargs": model_kwargs,
        "labels": artifact.labels.to_list(),
        "cleaning": artifact.cleaning.to_dict(),
        "max_length": artifact.max_length,
        **extra,
    }
    try:
        with atomic_dir(folder) as tmp:
            config.update(FAMILIES[artifact.family].save_model(tmp, artifact))
            (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    except (RuntimeError, SafetensorError) as e:  # a full disk, as the writers report it
        raise OSError(f"cannot write the model folder {folder} ({str(e).splitlines()[0][:200]})") from None
    artifact.config, artifact.folder = config, folder


def resolve_model_dir(path: str | Path | None) -> Path:
    """A run directory or its model/ folder -> the model/ folder; None: the packaged model."""
    if path is None:
        folder = paths.packaged_model()
        if not (folder / "config.json").is_file():
            raise UserError(f"no packaged model at {folder} (build it with `make model`); give a run directory instead")
        return folder
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such run directory")
    folder = path / "model" if (path / "model").is_dir() else path
    if not (folder / "config.json").is_file():
        raise UserError(f"{path}: not a run directory or model folder (no model/config.json)")
    return folder


def read_model_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}: corrupt or incomplete model artifact ({e})") from None
    if not isinstance(config, dict):
        raise UserError(f"{folder}/config.json: expected a JSON object")
    return config


# Loaders of model folders by family: the families' own, plus kinds that are not trained (ensembles).
LOADERS: dict[str, Callable[[Path, dict[str, Any]], Predictor]] = {}


@dataclass(frozen=True)
class ModelRecord:
    """The entries of model/config.json every model folder has (a family checks its own on top)."""

    format_version: int
    family: str
    model: str
    labels: tuple[str, ...]
    cleaning: CleaningConfig
    max_length: int
    model_kwargs: dict[str, Any] = field(default_factory=dict)


def load_artifact(path: str | Path) -> Predictor:
    folder = resolve_model_dir(path)
    config = read_model_config(folder)
    family = config.get("family") or ("pretrained" if config.get("kind") == "bert" else "word")  # format 1
    if family in LOADERS:
        predictor = LOADERS[family](folder, config)
        predictor.class_bias = class_bias(folder, predictor.labels)
        return predictor
    if family not in FAMILIES:
        raise UserError(f"{folder}: unknown model family {family!r} (known: {', '.join([*FAMILIES, *LOADERS])})")
    if config.get("format_version", 1) >= FORMAT_VERSION:
        record = check_record(folder, config, ModelRecord)
        if record.max_length < 1 or len(record.labels) < 2 or len(set(record.labels)) != len(record.labels):
            raise UserError(f"{folder}/config.json: max_length or labels out of range (a damaged model folder)")
    labels = LabelSet(tuple(config.get("labels") or _FORMAT_1_LABELS))
    model, encoder = FAMILIES[family].load(folder, config, labels)
    model.eval()
    return Artifact(family, model, encoder, labels, config, folder, class_bias(folder, labels))


def load_single(path: str | Path) -> Artifact:
    """A run's own model (not an ensemble): what --init-from and the word map need."""
    predictor = load_artifact(path)
    if not isinstance(predictor, Artifact):
        raise UserError(f"{path}: an ensemble, not a single trained model")
    return predictor


# ---------------------------------------------------------------------------------------------- calibration


def _calibration_entry(model_dir: Path, key: str, parse: Callable[[Any], Any]) -> tuple[Path, Any]:
    """One entry of calibration.json, parsed (None when the file or the entry is absent)."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return path, None
    try:
        value = json.loads(path.read_text()).get(key)
        return path, None if value is None else parse(value)
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: corrupt calibration file ({type(e).__name__}: {e}); run calibrate again") from None


def read_calibration(model_dir: Path) -> dict[str, Any] | None:
    """calibration.json with its neutral margin checked (0 when it holds a class prior correction only)."""
    path, margin = _calibration_entry(model_dir, "neutral_margin", float)
    if not path.is_file():
        return None
    margin = 0.0 if margin is None else margin
    if not 0 <= margin <= 1:
        raise UserError(f"{path}: neutral_margin {margin} is outside 0..1; run calibrate again")
    return {**json.loads(path.read_text()), "neutral_margin": margin}


def class_bias(model_dir: Path, labels: LabelSet) -> np.ndarray | None:
    """The calibrated log-offsets in the order of `labels` (labels without one: 0), or None."""
    path, bias = _calibration_entry(model_dir, "class_bias", lambda d: {str(k): float(v) for k, v in d.items()})
    if not bias:
        return None
    unknown = set(bias) - set(labels)
    if unknown or not all(abs(b) <= MAX_BIAS for b in bias.values()):
        what = f"names {', '.join(sorted(unknown))}, which the model does not predict" if unknown else "is too large"
        raise UserError(f"{path}: class_bias {what}; run calibrate again")
    return np.array([bias.get(n, 0.0) for n in labels], dtype=np.float64)


def check_margin(margin: float) -> float:
    if not 0 <= margin <= 1:
        raise UserError(f"--neutral-margin must be between 0 and 1 (0 disables the band), not {margin}")
    return float(margin)


def resolve_margin(model_dir: Path, override: float | None) -> float:
    """The margin to use: the override if given (0 disables), else the stored one, else 0."""
    if override is not None:
        return check_margin(override)
    info = read_calibration(model_dir)
    return float(info["neutral_margin"]) if info else 0.0


def write_calibration(model_dir: Path, info: dict[str, Any]) -> Path:
    path = Path(model_dir) / CALIBRATION_FILE
    write_json(path, {**info, "created": datetime.now(UTC).isoformat(timespec="seconds")})
    return path
