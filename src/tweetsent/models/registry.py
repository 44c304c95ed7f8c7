"""One registry: a model name -> its factory and its family. Each model file registers its own models:

    @register("gru", family="word")
    def gru(num_classes: int, **kwargs: Any) -> nn.Module: ...

Every factory takes `num_classes` and keyword arguments only; the family (models/families/) supplies the
arguments that come from the data (a word-vector model's vocabulary size and width, a pretrained encoder's
source), the training config the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from tweetsent.core.errors import UserError

F = TypeVar("F", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: Callable[..., nn.Module]
    family: str  # "word": word vectors over our vocabulary; "pretrained": an encoder with its own tokenizer
    length_multiple: int = 1  # fixed batch lengths must be a multiple of this (the pyramid halves three times)
    compared: bool = True  # trained by a plain `compare` (the study's models; a distillation student is not)


MODELS: dict[str, ModelSpec] = {}


def register(name: str, *, family: str, length_multiple: int = 1, compared: bool = True) -> Callable[[F], F]:
    def add(factory: F) -> F:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = ModelSpec(name, factory, family, length_multiple, compared)
        return factory

    return add


def model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, num_classes: int, **kwargs: Any) -> nn.Module:
    if "hidden" in kwargs and isinstance(kwargs["hidden"], list):  # JSON has no tuples
        kwargs["hidden"] = tuple(kwargs["hidden"])
    return model_spec(name).factory(num_classes=num_classes, **kwargs)
