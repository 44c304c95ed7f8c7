"""The `model/` folder of a BERT run:

model/config.json   ours, as for every model, with "kind": "bert": pretrained source, cleaning, max length,
                    labels, training config
model/encoder/      the fine-tuned model and its tokenizer, written by Hugging Face's `save_pretrained`
                    (it writes its own config.json, hence the subfolder); loadable by transformers alone

`load_artifact` dispatches here on the kind; the Artifact it returns has the same (ids, lengths) model and
an `encode` that uses the saved tokenizer, so predict, serve and evaluate treat it like any other model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.atomic import atomic_dir
from tweetsent.data.bert_tokens import encode_texts
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.prepare import Split
from tweetsent.data.vocab import PAD, UNK, Vocab
from tweetsent.errors import UserError
from tweetsent.evaluation.metrics import LABELS
from tweetsent.inference.artifact import FORMAT_VERSION, Artifact
from tweetsent.models.bert import BertClassifier, load_tokenizer

ENCODER = "encoder"


@dataclass
class BertArtifact(Artifact):
    """An Artifact whose texts go through the saved Hugging Face tokenizer. `vocab` is a placeholder
    (<pad>, <unk>): the word pieces live in `tokenizer`."""

    tokenizer: Any = None

    def encode(self, texts: Sequence[str] | pa.Array) -> Split:
        return encode_texts(self.tokenizer, texts, self.cleaning, self.max_length)


def placeholder_vocab() -> Vocab:
    return Vocab([PAD, UNK], np.zeros(2, dtype=np.int64))


def save_bert_artifact(
    folder: Path,
    *,
    model: BertClassifier,
    tokenizer: Any,
    cleaning: CleaningConfig,
    max_length: int,
    pretrained: str,
    extra: dict[str, Any] | None = None,
) -> None:
    config = {
        "format_version": FORMAT_VERSION,
        "kind": "bert",
        "model": "bert",
        "model_kwargs": {},
        "pretrained": pretrained,
        "encoder": ENCODER,
        "tokenizer_class": type(tokenizer).__name__,
        "pad_id": model.pad_id,
        "cleaning": cleaning.to_dict(),
        "max_length": max_length,
        "labels": list(LABELS),
        **(extra or {}),
    }
    with atomic_dir(folder) as tmp:
        model.save(tmp / ENCODER, tokenizer)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def load_bert_artifact(folder: Path, config: dict[str, Any]) -> BertArtifact:
    encoder = folder / str(config.get("encoder", ENCODER))
    if not (encoder / "config.json").is_file():
        raise UserError(f"{folder}: corrupt or incomplete model artifact (no {encoder.name}/config.json)")
    try:
        tokenizer = load_tokenizer(str(encoder))
        model = BertClassifier(str(encoder))
        model.set_pad_id(int(config.get("pad_id", tokenizer.pad_token_id)))
        cleaning = CleaningConfig.from_dict(config["cleaning"])
        int(config["max_length"])
    except UserError as e:
        raise UserError(f"{folder}: corrupt or incomplete model artifact ({e})") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{folder}: model artifact does not match its config ({first})") from None
    model.eval()
    return BertArtifact(model, placeholder_vocab(), cleaning, config, tokenizer=tokenizer)
