"""The word-vector family (lstm, bilstm, pyramid, and any model registered with family="word"): our cleaning
and GloVe-style tokenizer, a vocabulary from the training split, embeddings initialised from GloVe.

model/config.json       model name and constructor arguments, cleaning rules, lengths, label names
model/model.safetensors the weights
model/vocab.txt         the vocabulary (token<TAB>count); its digest and size are in config.json
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tweetsent.core import paths
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.splits import Split
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.dataset import Dataset
from tweetsent.data.prepare import word_tokens
from tweetsent.data.vocab import Vocab, encode_words
from tweetsent.embeddings.glove import embedding_matrix
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

WEIGHTS, VOCAB = "model.safetensors", "vocab.txt"


@dataclasses.dataclass(frozen=True)
class WordRecord:
    """What model/config.json must say about a word-vector model, beside every model's entries."""

    vocab_size: int
    embed_dim: int
    vocab_digest: str


@dataclasses.dataclass
class WordEncoder(TextEncoder):
    vocab: Vocab
    cleaning: CleaningConfig
    max_length: int

    def encode(
        self,
        texts: Sequence[str] | pa.Array,
        labels: np.ndarray | None = None,
        name: str = "texts",
        html_decoded: bool = False,
    ) -> Split:
        return encode_words(texts, self.vocab, self.cleaning, labels, name, html_decoded)

    def describe(self) -> dict[str, Any]:
        return {"vocab_size": len(self.vocab), "vocab_digest": self.vocab.digest()}


@register_family
class WordFamily(Family):
    name = "word"
    no_onnx_export = (
        "each batch is trimmed to its longest tweet, a length the ONNX exporter would fix for every input; the `bag` "
        "model runs without PyTorch in the NumPy runtime (--runtime numpy)"
    )

    def encoder(self, config: RecipeConfig, dataset: Dataset, init: Artifact | None) -> TextEncoder:
        if init is None:
            return WordEncoder(dataset.vocab, dataset.cleaning, config.max_length)
        check_init(init, config.model)
        base: WordEncoder = init.encoder  # type: ignore[assignment]
        vocab = base.vocab
        if config.grow_vocab:  # the new data's words, tokenized with the run's own cleaning
            tokens = word_tokens(dataset["train"].texts, base.cleaning)
            vocab = vocab.extended(tokens, dataset.config.min_count)
        return WordEncoder(vocab, base.cleaning, config.max_length)

    def inputs(self, encoder: TextEncoder, dataset: Dataset) -> dict[str, Split]:
        assert isinstance(encoder, WordEncoder)
        if encoder.vocab is dataset.vocab and encoder.cleaning == dataset.cleaning:
            return dict(dataset.splits)  # the dataset's own word ids (Sentiment140's come from the prepared cache)
        return super().inputs(encoder, dataset)

    def build(
        self, config: RecipeConfig, encoder: TextEncoder, classes: LabelSet, init: Artifact | None, on_gpu: bool
    ) -> tuple[nn.Module, dict[str, Any]]:
        assert isinstance(encoder, WordEncoder)
        kwargs: dict[str, Any] = dict(init.config["model_kwargs"]) if init is not None else {}
        pack = on_gpu if config.pack is None else config.pack
        kwargs.update(train_embeddings=config.train_embeddings, pack=pack, dropout=config.dropout)
        vectors = embedding_matrix(encoder.vocab, config.embeddings, paths.cache_dir(), paths.glove_dir(), config.seed)
        if init is not None and vectors.dim != init.config["embed_dim"]:
            raise UserError(
                f"--embeddings {config.embeddings} has {vectors.dim} dimensions; the --init-from run has "
                f"{init.config['embed_dim']} ({init.config.get('embeddings')})"
            )
        model = build_model(config.model, len(classes), vocab_size=len(encoder.vocab), embed_dim=vectors.dim, **kwargs)
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(vectors.matrix))  # type: ignore[union-attr,operator]
        if init is not None:
            warm_start(model, init.model, init.labels, classes)
        return model, {**kwargs, "pack": False}  # a saved model predicts on a CPU as often as not

    def save_model(self, folder: Path, artifact: Artifact) -> dict[str, Any]:
        encoder: WordEncoder = artifact.encoder  # type: ignore[assignment]
        state = {k: v.detach().to("cpu").contiguous() for k, v in artifact.model.state_dict().items()}
        save_file(state, str(folder / WEIGHTS))
        encoder.vocab.save(folder / VOCAB)
        return {"embed_dim": int(artifact.model.embedding.weight.shape[1]), **encoder.describe()}  # type: ignore[union-attr,index]

    def load_encoder(self, folder: Path, config: dict[str, Any]) -> WordEncoder:
        record = check_record(folder, config, WordRecord)
        with loading(folder):
            vocab = Vocab.load(folder / VOCAB)
            if len(vocab) != record.vocab_size or vocab.digest() != record.vocab_digest:
                raise UserError(
                    f"{VOCAB} does not match the digest and size config.json records ({len(vocab):,} words, "
                    f"{record.vocab_size:,} expected): the folder is damaged or mixed"
                )
        return WordEncoder(vocab, CleaningConfig.from_dict(config["cleaning"]), int(config["max_length"]))

    def load(self, folder: Path, config: dict[str, Any], labels: LabelSet) -> tuple[nn.Module, TextEncoder]:
        encoder = self.load_encoder(folder, config)
        with loading(folder):
            state = load_file(str(folder / WEIGHTS))
            model = build_model(
                config["model"],
                len(labels),
                vocab_size=config["vocab_size"],
                embed_dim=config["embed_dim"],
                **config["model_kwargs"],
            )
            model.load_state_dict(state)
        return model, encoder
