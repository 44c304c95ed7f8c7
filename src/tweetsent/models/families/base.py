"""A model family ("recipe"): everything that differs between kinds of models, behind one interface.

- `encoder`: the texts -> ids part (a word vocabulary with the cleaning rules, or a pretrained tokenizer),
  made for a dataset, or taken from the run a warm start begins with;
- `inputs`: a dataset's splits as that encoder's ids;
- `build`: the `nn.Module`, initialised (word vectors, pretrained weights, a warm start's weights);
- `save_model` / `load`: the model/ folder of a run, which predict, serve and evaluate load without Lightning.

The training script calls these in a straight line and never asks which family it has. Families register
themselves in FAMILIES; a model names its family when it registers (models/registry.py).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import pyarrow as pa
import torch
from safetensors import SafetensorError
from torch import nn

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, with_prior
from tweetsent.core.records import RecordError, from_dict
from tweetsent.core.splits import Split
from tweetsent.data.batches import TweetBatches
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.dataset import Dataset


class RecipeConfig(Protocol):
    """The training settings a family reads (training.config.TrainConfig has them all)."""

    @property
    def model(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def max_length(self) -> int: ...

    @property
    def embeddings(self) -> str: ...

    @property
    def train_embeddings(self) -> bool: ...

    @property
    def pack(self) -> bool | None: ...

    @property
    def dropout(self) -> float: ...

    @property
    def grow_vocab(self) -> bool: ...

    @property
    def pretrained(self) -> str | None: ...

    @property
    def freeze_encoder(self) -> bool: ...

    @property
    def clean(self) -> bool: ...


class TextEncoder(ABC):
    """Raw texts -> a Split of a model's input ids; saved with the model and applied identically at prediction."""

    cleaning: CleaningConfig
    max_length: int

    @abstractmethod
    def encode(
        self,
        texts: Sequence[str] | pa.Array,
        labels: np.ndarray | None = None,
        name: str = "texts",
        html_decoded: bool = False,
    ) -> Split:
        """`html_decoded`: the texts come from a dataset, whose loader decoded HTML entities already."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What model/config.json records about the encoder."""


@dataclass
class Artifact:
    """One trained model with its encoder: `model(ids, lengths)` -> logits over `labels`."""

    family: str
    model: nn.Module
    encoder: TextEncoder
    labels: LabelSet
    config: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    # Log-offsets added to each label's log-probability (a prior correction chosen by `calibrate`), or None.
    class_bias: np.ndarray | None = None

    @property
    def name(self) -> str:
        return str(self.config.get("model", "model"))

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    @property
    def cleaning(self) -> CleaningConfig:
        return self.encoder.cleaning

    def to(self, device: str) -> None:
        self.model.to(device).eval()

    def encode(self, texts: Sequence[str] | pa.Array, html_decoded: bool = False) -> Split:
        """Raw texts -> model input ids, cleaned and tokenized exactly as in training."""
        return self.encoder.encode(texts, html_decoded=html_decoded)

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        """Probabilities (N, len(labels)); `html_decoded`: the texts are a dataset's (entities decoded once)."""
        return with_prior(
            predict_split(self.model, self.encode(texts, html_decoded), self.max_length, batch_size), self.class_bias
        )


class Family(ABC):
    name: ClassVar[str]
    # Why the family's networks are not exported to ONNX (`tweetsent export`), or None when they are.
    no_onnx_export: ClassVar[str | None] = None

    def check(self, config: RecipeConfig) -> None:  # noqa: B027 (a hook: most families accept every setting)
        """Refuse settings this family cannot train with (one-line UserError)."""

    @abstractmethod
    def encoder(self, config: RecipeConfig, dataset: Dataset, init: Artifact | None) -> TextEncoder: ...

    def inputs(self, encoder: TextEncoder, dataset: Dataset) -> dict[str, Split]:
        """Every split of the dataset as the encoder's ids (labels, and soft targets, as the dataset's)."""
        out = {}
        for name, split in dataset.splits.items():
            out[name] = encoder.encode(split.texts, split.labels, name, html_decoded=True)
            out[name].targets = split.targets
        return out

    @abstractmethod
    def build(
        self, config: RecipeConfig, encoder: TextEncoder, classes: LabelSet, init: Artifact | None, on_gpu: bool
    ) -> tuple[nn.Module, dict[str, Any]]:
        """The model and the keyword arguments that rebuild it (recorded in model/config.json)."""

    @abstractmethod
    def save_model(self, folder: Path, artifact: Artifact) -> dict[str, Any]:
        """Write the weights and the encoder into `folder`; returns the entries config.json adds."""

    @abstractmethod
    def load_encoder(self, folder: Path, config: dict[str, Any]) -> TextEncoder:
        """The folder's encoder alone (an ONNX export brings its own network)."""

    @abstractmethod
    def load(self, folder: Path, config: dict[str, Any], labels: LabelSet) -> tuple[nn.Module, TextEncoder]: ...

    def export_ready(self, model: nn.Module) -> dict[str, Any] | None:
        """Make `model` ready for torch.onnx.export; returns the settings of ONNX Runtime's transformer graph
        optimizer (onnxruntime.transformers.optimizer.optimize_model) where it applies, else None."""
        return None


FAMILIES: dict[str, Family] = {}
T = TypeVar("T")


def register_family(cls: type[Family]) -> type[Family]:
    FAMILIES[cls.name] = cls()
    return cls


def family_of(model: str) -> Family:
    from tweetsent.models.registry import model_spec

    return FAMILIES[model_spec(model).family]


def check_init(init: Artifact, model: str) -> None:
    """`--init-from` must be a run of the model being trained (same family and architecture)."""
    if init.name != model:
        raise UserError(
            f"--init-from {init.folder}: a {init.name} run ({init.family} family); "
            f"start {model} from a {model} run, or train {init.name}"
        )


def warm_start(model: nn.Module, init: nn.Module, init_labels: LabelSet, classes: LabelSet) -> list[str]:
    """Copy a finished run's weights into a new model of the same architecture: every tensor of the same shape;
    the output layer's rows by label name (new labels keep their fresh rows); an embedding's rows for the words
    the two vocabularies share (ours extends theirs, so theirs come first). Returns the labels warm-started."""
    head: nn.Linear = model.head  # type: ignore[assignment]
    old_head: nn.Linear = init.head  # type: ignore[assignment]
    head_names = {id(p) for p in head.parameters()}
    source = dict(init.named_parameters())
    with torch.no_grad():
        for name, param in model.named_parameters():
            if id(param) in head_names:
                continue
            old = source.get(name)
            if old is None:
                raise UserError(f"--init-from: the run has no weights for {name} (another architecture?)")
            if old.shape == param.shape:
                param.copy_(old)
            elif old.dim() == 2 and old.shape[1] == param.shape[1] and old.shape[0] <= param.shape[0]:
                param[: old.shape[0]].copy_(old)  # an embedding grown with new words
            else:
                raise UserError(
                    f"--init-from: {name} has shape {tuple(old.shape)} there, {tuple(param.shape)} here "
                    "(another architecture?)"
                )
        kept = [n for n in classes if n in init_labels]
        for n in kept:
            head.weight[classes.index(n)] = old_head.weight[init_labels.index(n)]
            if head.bias is not None and old_head.bias is not None:
                head.bias[classes.index(n)] = old_head.bias[init_labels.index(n)]
    return kept


def predict_split(model: nn.Module, split: Split, max_length: int, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, classes) for every tweet of an encoded split, in the split's order. Batches are
    bucketed by length (no shuffling) so little time goes to padding."""
    batches = TweetBatches(split, batch_size, max_length=max_length, bucket=True)
    device = next(model.parameters()).device
    probs: np.ndarray | None = None
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i, rows in enumerate(batches.batches):
            batch = batches[i]
            out = torch.softmax(model(batch["ids"].to(device), batch["lengths"]).float(), dim=-1).cpu().numpy()
            if probs is None:
                probs = np.zeros((len(split), out.shape[1]), dtype=np.float32)
            probs[rows] = out
    model.train(was_training)
    return probs if probs is not None else np.zeros((0, _outputs(model)), dtype=np.float32)


def _outputs(model: nn.Module) -> int:
    head = getattr(model, "head", None)
    return int(head.out_features) if isinstance(head, nn.Linear) else 0


def check_record(folder: Path, config: dict[str, Any], record: type[T]) -> T:
    """`config` as a `record` dataclass, types included; a one-line UserError naming the entry otherwise."""
    try:
        return from_dict(record, config)
    except RecordError as e:
        raise UserError(f"{folder}/config.json: {e} (a damaged or hand-edited model folder)") from None


@contextlib.contextmanager
def loading(folder: Path) -> Any:
    """Report any failure to rebuild a model from its folder as one line naming the folder."""
    try:
        yield
    except UserError as e:
        raise UserError(f"{folder}: corrupt or incomplete model artifact ({e})") from None
    except (OSError, ValueError, SafetensorError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{folder}: corrupt or incomplete model artifact ({first})") from None
    except (KeyError, RuntimeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{folder}: model artifact does not match its config ({first})") from None
