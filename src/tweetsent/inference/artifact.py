"""The `model/` folder of a run: everything needed to rebuild the classifier, nothing of the training code.

model/config.json       model name and constructor arguments, cleaning rules, batching, label names
model/model.safetensors the weights
model/vocab.txt         the token vocabulary (token<TAB>count)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from tweetsent.atomic import atomic_dir
from tweetsent.data.batches import TweetBatches
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.prepare import Split, encode_texts
from tweetsent.data.vocab import Vocab
from tweetsent.errors import UserError
from tweetsent.evaluation.metrics import LABELS
from tweetsent.models import build_model

FORMAT_VERSION = 1


@dataclass
class Artifact:
    """A loaded classifier. Every kind of model takes (ids (B, T), lengths (B,)) and returns logits (B, 3);
    `encode` turns raw texts into those ids with exactly the cleaning and tokenization used in training."""

    model: nn.Module
    vocab: Vocab
    cleaning: CleaningConfig
    config: dict[str, Any]

    @property
    def max_length(self) -> int:
        return int(self.config["max_length"])

    @property
    def kind(self) -> str:
        return str(self.config.get("kind", "recurrent"))

    def encode(self, texts: Sequence[str] | pa.Array) -> Split:
        """Raw texts -> a Split (labels all zero) ready for `predict_split`, cleaned and tokenized as in training."""
        return encode_texts(texts, self.vocab, self.cleaning)


def save_artifact(
    folder: Path,
    *,
    model_name: str,
    model_kwargs: dict[str, Any],
    model: nn.Module,
    vocab: Vocab,
    cleaning: CleaningConfig,
    max_length: int,
    extra: dict[str, Any] | None = None,
) -> None:
    config = {
        "format_version": FORMAT_VERSION,
        "model": model_name,
        "model_kwargs": model_kwargs,
        "vocab_size": len(vocab),
        "embed_dim": int(model.embedding.weight.shape[1]),  # type: ignore[union-attr,index]
        "cleaning": cleaning.to_dict(),
        "max_length": max_length,
        "labels": list(LABELS),
        "vocab_digest": vocab.digest(),
        **(extra or {}),
    }
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with atomic_dir(folder) as tmp:
        save_file(state, str(tmp / "model.safetensors"))
        vocab.save(tmp / "vocab.txt")
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def resolve_model_dir(path: str | Path) -> Path:
    """A run directory or its model/ folder -> the model/ folder."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such run directory")
    folder = path / "model" if (path / "model").is_dir() else path
    if not (folder / "config.json").is_file():
        raise UserError(f"{path}: not a run directory or model folder (no model/config.json)")
    return folder


def load_artifact(path: str | Path) -> Artifact:
    folder = resolve_model_dir(path)
    try:
        config = json.loads((folder / "config.json").read_text())
        if isinstance(config, dict) and config.get("kind") == "bert":
            from tweetsent.inference.bert_artifact import load_bert_artifact

            return load_bert_artifact(folder, config)
        vocab = Vocab.load(folder / "vocab.txt")
        state = load_file(str(folder / "model.safetensors"))
    except (OSError, ValueError, SafetensorError) as e:
        raise UserError(f"{folder}: corrupt or incomplete model artifact ({e})") from None
    try:
        model = build_model(config["model"], config["vocab_size"], config["embed_dim"], **config["model_kwargs"])
        model.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{folder}: model artifact does not match its config ({first})") from None
    model.eval()
    return Artifact(model, vocab, CleaningConfig.from_dict(config["cleaning"]), config)


def predict_split(model: nn.Module, split: Split, max_length: int, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, 3) for every tweet of a prepared split, in the split's order. Batches are
    bucketed by length (no shuffling) so little time goes to padding."""
    batches = TweetBatches(split, batch_size, max_length=max_length, bucket=True)
    device = next(model.parameters()).device
    probs = np.zeros((len(split), 3), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i, rows in enumerate(batches.batches):
            batch = batches[i]
            logits = model(batch["ids"].to(device), batch["lengths"])
            probs[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return probs
