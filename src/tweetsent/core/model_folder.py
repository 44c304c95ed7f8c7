"""A model folder on disk, read without building any network (so without importing PyTorch): where it is (a run
directory, its model/ folder, or the packaged model), its config.json, and calibration.json (the neutral band's
margin, or the class prior correction), and the record of an ONNX export (`tweetsent export`) with the digest of
the weights it was made from. models/artifact.py builds the networks; `tweetsent predict` with a model that NumPy
runs (inference/numpy_bag.py) never imports PyTorch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.core import paths
from tweetsent.core.atomic import write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet

CALIBRATION_FILE = "calibration.json"
EXPORT_DIR = "onnx"  # `tweetsent export` writes its files here; config.json's "export" entry describes them
MAX_BIAS = 10.0  # a larger log-offset than this is a damaged file, not a prior


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


def weights_digest(model_dir: Path) -> str:
    """What the model's weights are: a digest of every file of the folder but its descriptions (config.json,
    calibration.json, the card) and its exports, so an export made from other weights is caught."""
    h = hashlib.sha256()
    skipped = {"config.json", CALIBRATION_FILE, "README.md"}
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir)
        if relative.parts[0] == EXPORT_DIR or str(relative) in skipped or relative.name.startswith("."):
            continue
        h.update(str(relative).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def read_export(model_dir: Path) -> dict[str, Any] | None:
    """config.json's record of the folder's ONNX export, checked against the weights (None: no export)."""
    record = read_model_config(model_dir).get("export")
    if record is None:
        return None
    if not isinstance(record, dict) or not (Path(model_dir) / str(record.get("file", ""))).is_file():
        raise UserError(f"{model_dir}: the ONNX export is missing or damaged; run `tweetsent export` again")
    if record.get("weights_digest") != weights_digest(model_dir):
        raise UserError(
            f"{model_dir}: the ONNX export was made from other weights than the folder holds now; run "
            "`tweetsent export` again"
        )
    return record


def write_export(model_dir: Path, record: dict[str, Any] | None) -> None:
    """Record (or, with None, forget) the folder's ONNX export in its config.json, atomically."""
    config = read_model_config(model_dir)
    config.pop("export", None)
    if record is not None:
        config["export"] = record
    write_json(Path(model_dir) / "config.json", config)
