from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.vocab import Vocab
from tweetsent.errors import UserError
from tweetsent.inference.artifact import load_artifact, save_artifact
from tweetsent.models import build_model


def saved(tmp_path: Path) -> Path:
    import pyarrow as pa

    vocab = Vocab.build(pa.array([["good", "bad", "day"]]))
    model = build_model("bilstm", len(vocab), 8)
    save_artifact(
        tmp_path / "model",
        model_name="bilstm",
        model_kwargs={},
        model=model,
        vocab=vocab,
        cleaning=CleaningConfig(),
        max_length=64,
    )
    return tmp_path / "model"


def test_round_trip(tmp_path: Path) -> None:
    folder = saved(tmp_path)
    a, b = load_artifact(folder), load_artifact(tmp_path)  # the model/ folder or the run dir above it
    ids, lengths = torch.tensor([[2, 3, 4]]), torch.tensor([3])
    torch.testing.assert_close(a.model(ids, lengths), b.model(ids, lengths))
    assert a.vocab.words == b.vocab.words and a.cleaning == CleaningConfig()


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
