from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.inference.fixtures import make_run
from tweetsent.core.errors import UserError
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.models.artifact import Artifact, load_artifact


def saved(tmp_path: Path, labels: tuple[str, ...] = ("negative", "neutral", "positive")) -> Path:
    return make_run(tmp_path, "bilstm", labels=labels) / "model"


def test_round_trip(tmp_path: Path) -> None:
    folder = saved(tmp_path)
    a, b = load_artifact(folder), load_artifact(tmp_path)  # the model/ folder or the run dir above it
    assert isinstance(a, Artifact) and isinstance(b, Artifact)
    ids, lengths = torch.tensor([[2, 3, 4]]), torch.tensor([3])
    torch.testing.assert_close(a.model(ids, lengths), b.model(ids, lengths))
    assert a.encoder.vocab.words == b.encoder.vocab.words and a.cleaning == CleaningConfig()  # type: ignore[attr-defined]
    assert a.family == "word" and a.name == "bilstm"


def test_the_label_names_travel_with_the_model(tmp_path: Path) -> None:
    a = load_artifact(saved(tmp_path, ("angry", "happy", "sad", "other")))
    assert a.labels.names == ("angry", "happy", "sad", "other")
    assert a.predict_proba(["so happy", "ugh"]).shape == (2, 4)


@pytest.mark.parametrize("damage", ["weights", "config", "vocab", "missing"])
def test_damaged_artifact_is_one_line(tmp_path: Path, damage: str) -> None:
    folder = saved(tmp_path)
    if damage == "weights":
        (folder / "model.safetensors").write_bytes(b"\x00" * 20)
    elif damage == "config":
        (folder / "config.json").write_text('{"model": "bilstm"}')
    elif damage == "vocab":
        (folder / "vocab.txt").write_text("no tabs here\n")
    else:
        (folder / "model.safetensors").unlink()
    with pytest.raises(UserError) as info:
        load_artifact(folder)
    assert "\n" not in str(info.value) and str(folder) in str(info.value)
