"""The pretrained-encoder family (`bert`: any Hugging Face BERT-family model): the model's own tokenizer
after our cleaning, the pretrained weights with a new output layer.

model/config.json   ours, as for every model: family, label names, cleaning, max length, pretrained source
model/encoder/      the fine-tuned model and its tokenizer, written by Hugging Face's `save_pretrained` (it
                    writes its own config.json, hence the subfolder); loadable by transformers alone

Texts go through the cleaning (the dataset's rules, or with `clean=False` only HTML decoding), then the fast
tokenizer with its own special tokens ([CLS] ... [SEP]) and truncation at `max_length`. An empty text still
gets [CLS] [SEP], so every tweet has an answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from torch import nn

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.splits import Split
from tweetsent.data.cleaning import CleaningConfig, clean_texts
from tweetsent.data.dataset import Dataset
from tweetsent.models.bert import DEFAULT_NAME, BertClassifier, load_tokenizer, resolve_pretrained, tokenizer_digest
from tweetsent.models.families.base import (
    Artifact,
    Family,
    RecipeConfig,
    TextEncoder,
    check_init,
    check_record,
    loading,
    register_family,
    warm_start,
)
from tweetsent.models.registry import build_model

ENCODER = "encoder"


@dataclasses.dataclass(frozen=True)
class PretrainedRecord:
    """What model/config.json must say about a pretrained-encoder model, beside every model's entries."""

    encoder: str
    tokenizer_digest: str
    pad_id: int


_CHUNK = 50_000  # texts per tokenizer call: bounds the Python lists held at once


def light_cleaning(cleaning: CleaningConfig, clean: bool) -> CleaningConfig:
    """The cleaning a pretrained model's texts get: the dataset's rules, or with `clean=False` only HTML decoding
    (and the link-tweet rule, which chose the training rows). The tokenizer does its own lower-casing."""
    if clean:
        return cleaning
    return CleaningConfig(
        html_unescape=cleaning.html_unescape,
        drop_link_tweets=cleaning.drop_link_tweets,
        strip_urls=False,
        strip_hash=False,
        mention_token=None,
        remove_noise_chars=False,
        lowercase=False,
    )


@dataclasses.dataclass
class PieceEncoder(TextEncoder):
    tokenizer: Any
    cleaning: CleaningConfig
    max_length: int
    source: str  # the folder or hub id the weights come from

    def encode(
        self,
        texts: Sequence[str] | pa.Array,
        labels: np.ndarray | None = None,
        name: str = "texts",
        html_decoded: bool = False,
    ) -> Split:
        column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
        cleaning = dataclasses.replace(self.cleaning, html_unescape=False) if html_decoded else self.cleaning
        cleaned = clean_texts(column, cleaning).to_pylist()
        ids: list[list[int]] = []
        for start in range(0, len(cleaned), _CHUNK):
            encoded = self.tokenizer(
                cleaned[start : start + _CHUNK],
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=True,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
            ids.extend(encoded["input_ids"])
        return Split.from_lists(name, ids, column, labels)

    def describe(self) -> dict[str, Any]:
        return {
            "tokenizer_class": type(self.tokenizer).__name__,
            "tokenizer_digest": tokenizer_digest(self.tokenizer),
            "pad_id": int(self.tokenizer.pad_token_id),
        }


@register_family
class PretrainedFamily(Family):
    name = "pretrained"

    def check(self, config: RecipeConfig) -> None:
        if config.max_length < 4:
            raise UserError(f"--max-length must be at least 4 for {config.model} ([CLS] and [SEP] count)")

    def encoder(self, config: RecipeConfig, dataset: Dataset, init: Artifact | None) -> TextEncoder:
        if init is not None:
            check_init(init, config.model)
            base: PieceEncoder = init.encoder  # type: ignore[assignment]
            assert init.folder is not None  # a loaded artifact knows its folder
            return PieceEncoder(base.tokenizer, base.cleaning, config.max_length, str(init.folder / ENCODER))
        source = resolve_pretrained(config.pretrained)
        tokenizer = load_tokenizer(source)
        limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(limit, int) and config.max_length > limit:
            raise UserError(f"--max-length {config.max_length} exceeds {source}'s limit of {limit} tokens")
        return PieceEncoder(tokenizer, light_cleaning(dataset.cleaning, config.clean), config.max_length, source)

    def build(
        self, config: RecipeConfig, encoder: TextEncoder, classes: LabelSet, init: Artifact | None, on_gpu: bool
    ) -> tuple[nn.Module, dict[str, Any]]:
        assert isinstance(encoder, PieceEncoder)
        kwargs = {"freeze_encoder": config.freeze_encoder}
        model = build_model(config.model, len(classes), pretrained=encoder.source, label_names=classes.names, **kwargs)
        assert isinstance(model, BertClassifier)
        model.set_pad_id(encoder.tokenizer.pad_token_id)
        if init is not None:
            model.reset_head()  # a head of the same size came with the weights: its rows may mean other labels
            warm_start(model, init.model, init.labels, classes)
        # How the run config names the starting point: the packaged default by name, else as given.
        pretrained = f"{DEFAULT_NAME} (packaged)" if config.pretrained is None and init is None else encoder.source
        return model, {**kwargs, "pretrained": pretrained}

    def save_model(self, folder: Path, artifact: Artifact) -> dict[str, Any]:
        encoder: PieceEncoder = artifact.encoder  # type: ignore[assignment]
        model: BertClassifier = artifact.model  # type: ignore[assignment]
        model.save(folder / ENCODER, encoder.tokenizer)
        return {"encoder": ENCODER, **encoder.describe()}

    def load_encoder(self, folder: Path, config: dict[str, Any]) -> PieceEncoder:
        return self._load(folder, config, None)[1]

    def load(self, folder: Path, config: dict[str, Any], labels: LabelSet) -> tuple[nn.Module, TextEncoder]:
        model, encoder = self._load(folder, config, labels)
        assert model is not None
        return model, encoder

    def _load(
        self, folder: Path, config: dict[str, Any], labels: LabelSet | None
    ) -> tuple[BertClassifier | None, PieceEncoder]:
        """The encoder, and with `labels` the network too."""
        # Format 1 folders (before label sets were recorded) have no digest to check.
        record = check_record(folder, config, PretrainedRecord) if config.get("format_version", 1) >= 2 else None
        encoder_dir = folder / (record.encoder if record else str(config.get("encoder", ENCODER)))
        if not (encoder_dir / "config.json").is_file():
            raise UserError(f"{folder}: corrupt or incomplete model artifact (no {encoder_dir.name}/config.json)")
        with loading(folder):
            tokenizer = load_tokenizer(str(encoder_dir))
            if record is not None and tokenizer_digest(tokenizer) != record.tokenizer_digest:
                raise UserError(
                    f"the tokenizer in {encoder_dir.name}/ is not the one the model was trained with (its files are "
                    "missing or replaced)"
                )
            model = None
            if labels is not None:
                # Every weight must come from the folder: a missing one would be randomly initialised.
                model = BertClassifier(
                    len(labels), str(encoder_dir), label_names=labels.names, require_all_weights=True
                )
                model.set_pad_id(int(config.get("pad_id", tokenizer.pad_token_id)))
            cleaning = CleaningConfig.from_dict(config["cleaning"])
            encoder = PieceEncoder(tokenizer, cleaning, int(config["max_length"]), str(encoder_dir))
        return model, encoder

    def export_ready(self, model: nn.Module) -> dict[str, Any] | None:
        assert isinstance(model, BertClassifier)
        # Eager attention exports as the MatMul/Softmax pattern ONNX Runtime fuses into one Attention node (the
        # SDPA path exports as a graph it does not recognise).
        model.hf.set_attn_implementation("eager")
        config = model.hf.config
        if config.model_type not in ("bert", "roberta", "xlm-roberta"):
            return None
        return {"model_type": "bert", "num_heads": config.num_attention_heads, "hidden_size": config.hidden_size}
