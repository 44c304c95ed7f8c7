"""A saved model (random but decisive weights) in a run-like folder, for tests that need a model fast."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import torch

from tests.conftest import NEG_WORDS, POS_WORDS
from tweetsent.core.labels import LabelSet
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.vocab import Vocab
from tweetsent.models import build_model
from tweetsent.models.artifact import Artifact, save_artifact
from tweetsent.models.families.word import WordEncoder

TEXTS = [
    "so happy today, love it :)",
    "I hate mondays. worst day",
    "@friend going to work #monday",
    "awful awful awful http://t.co/x",
    "",
    "thanks, this is great!!!",
    "meh",
    "ugh sick and tired",
]
THREE = ("negative", "neutral", "positive")


def make_run(folder: Path, model: str = "bilstm", seed: int = 0, labels: tuple[str, ...] = THREE) -> Path:
    """folder/model/ holding a small model whose outputs differ clearly from tweet to tweet."""
    torch.manual_seed(seed)
    vocab = Vocab.build(pa.array([NEG_WORDS + POS_WORDS + ["day", "work", "someone", "today", "!", ".", ","]]))
    net = build_model(model, len(labels), vocab_size=len(vocab), embed_dim=16, hidden=12)
    with torch.no_grad():
        net.head.weight.mul_(8.0)  # confident, varied probabilities rather than ~1/3 each
    artifact = Artifact("word", net, WordEncoder(vocab, CleaningConfig(), 64), LabelSet(labels), {"model": model})
    save_artifact(folder / "model", artifact, {"hidden": 12}, {})
    return folder
