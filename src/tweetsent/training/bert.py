"""What a `bert` run needs beyond the shared training loop: the pretrained source, its tokenizer, the
tokenized splits (cached), the model, and the `model/` artifact in Hugging Face's format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent import paths
from tweetsent.data.bert_tokens import bert_cleaning, tokenized_splits
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.prepare import Prepared, Split
from tweetsent.data.sources import DataFiles
from tweetsent.errors import UserError
from tweetsent.inference.bert_artifact import save_bert_artifact
from tweetsent.models import build_model
from tweetsent.models.bert import DEFAULT_NAME, BertClassifier, load_tokenizer, resolve_pretrained
from tweetsent.training.config import TrainConfig


@dataclass
class BertInputs:
    config: TrainConfig
    source: str  # the folder or hub id the weights come from
    tokenizer: Any
    cleaning: CleaningConfig
    splits: dict[str, Split]

    @property
    def model_kwargs(self) -> dict[str, Any]:
        return {"pretrained": self.source, "freeze_encoder": self.config.freeze_encoder}

    @property
    def description(self) -> str:
        """How the run config names the starting point: the packaged default by name, else as given."""
        return f"{DEFAULT_NAME} (packaged)" if self.config.pretrained is None else self.source

    def build_model(self) -> BertClassifier:
        model = build_model("bert", 0, 0, **self.model_kwargs)
        assert isinstance(model, BertClassifier)
        model.set_pad_id(self.tokenizer.pad_token_id)
        return model

    def save(self, folder: Path, model: BertClassifier, extra: dict[str, Any]) -> None:
        save_bert_artifact(
            folder,
            model=model,
            tokenizer=self.tokenizer,
            cleaning=self.cleaning,
            max_length=self.config.max_length,
            pretrained=self.description,
            extra=extra,
        )


def bert_inputs(
    config: TrainConfig, files: DataFiles, prepared: Prepared, rows: dict[str, np.ndarray | None]
) -> BertInputs:
    """Load the tokenizer and tokenize the chosen rows of each split (from the cache when it is valid)."""
    source = resolve_pretrained(config.pretrained)
    tokenizer = load_tokenizer(source)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and config.max_length > limit:
        raise UserError(f"--max-length {config.max_length} exceeds {source}'s limit of {limit} tokens")
    cleaning = bert_cleaning(prepared.config.cleaning, config.clean)
    splits = tokenized_splits(files, prepared, tokenizer, config.max_length, cleaning, paths.cache_dir(), rows)
    return BertInputs(config, source, tokenizer, cleaning, splits)
