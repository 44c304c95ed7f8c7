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
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
from safetensors import SafetensorError

from tweetsent.core.atomic import atomic_dir
from tweetsent.core.errors import UserError
from tweetsent.core.labels import STANDARD, LabelSet
from tweetsent.core.model_folder import (
    class_bias,
    read_model_config,
    resolve_model_dir,
)
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.models.families import FAMILIES
from tweetsent.models.families.base import Artifact, check_record, predict_split

__all__ = ["Artifact", "Predictor", "load_artifact", "predict_split", "save_artifact"]

FORMAT_VERSION = 2
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
