"""One registry: model name -> constructor and its default hyper-parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from tweetsent.errors import UserError
from tweetsent.models.bert import BertClassifier
from tweetsent.models.recurrent import LSTMClassifier, PyramidLSTM


@dataclass(frozen=True)
class ModelSpec:
    factory: Callable[..., nn.Module]
    defaults: dict[str, Any] = field(default_factory=dict)
    # The pyramid halves the length three times: fixed lengths must be a multiple of 8.
    length_multiple: int = 1
    # "recurrent": word vectors over our vocabulary; "bert": a pretrained encoder with its own tokenizer.
    kind: str = "recurrent"


MODELS: dict[str, ModelSpec] = {
    "lstm": ModelSpec(LSTMClassifier, {"hidden": 150, "bidirectional": False}),
    "bilstm": ModelSpec(LSTMClassifier, {"hidden": 150, "bidirectional": True}),
    "pyramid": ModelSpec(PyramidLSTM, {"hidden": (64, 128, 256, 512)}, length_multiple=8),
    "bert": ModelSpec(BertClassifier, kind="bert"),
}


def build_model(name: str, vocab_size: int, embed_dim: int, **overrides: Any) -> nn.Module:
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    spec = MODELS[name]
    kwargs = {**spec.defaults, **overrides}
    if "hidden" in kwargs and isinstance(kwargs["hidden"], list):
        kwargs["hidden"] = tuple(kwargs["hidden"])
    if spec.kind == "bert":  # its vocabulary and width come with the pretrained model
        return spec.factory(**kwargs)
    return spec.factory(vocab_size=vocab_size, embed_dim=embed_dim, **kwargs)
