"""The `bag` student (models/students.py) run by NumPy, for prediction on a CPU without importing PyTorch.

Why by hand: `tweetsent predict "text"` with the packaged model spends about 2 s of its start-up importing
PyTorch (docs/ready-model.md: 1.8-2.3 s of a 2.6-3.7 s start here), while the model is a few table look-ups and
two small matrix products. The same folder, weights and tokenizer; the forward pass is models/students.py's
BagClassifier line for line (tests/inference/test_numpy_bag.py holds them to the same probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, softmax, with_prior
from tweetsent.core.model_folder import class_bias
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.data.vocab import Vocab, by_length, encode_words

PAIR_PRIME = 1_000_003  # as models/students.py mixes a pair's first word into its bucket
WEIGHTS, VOCAB = "model.safetensors", "vocab.txt"


def runs_in_numpy(config: dict[str, Any]) -> bool:
    """Whether a model folder's config.json describes a `bag` model this module runs."""
    return (
        config.get("family") == "word"
        and config.get("model") == "bag"
        and not config.get("model_kwargs", {}).get("dropout")
    )


class NumpyBag:
    """A `Predictor` (models/artifact.py) for a `bag` model folder: label names, and texts to probabilities."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        self.folder: Path | None = folder
        self.config = config
        self.labels = LabelSet(tuple(config["labels"]))
        self.vocab = Vocab.load(folder / VOCAB)
        if len(self.vocab) != config.get("vocab_size") or self.vocab.digest() != config.get("vocab_digest"):
            raise UserError(f"{folder}: {VOCAB} does not match config.json (the folder is damaged or mixed)")
        try:
            w = {k: v.astype(np.float32) for k, v in load_file(str(folder / WEIGHTS)).items()}
        except (OSError, SafetensorError) as e:
            raise UserError(f"{folder}/{WEIGHTS}: cannot read the weights ({e})") from None
        self.words, self.pairs = w["embedding.weight"], w["pairs.weight"]
        self.hidden_w, self.hidden_b = w["hidden.weight"].T.copy(), w["hidden.bias"]
        self.head_w, self.head_b = w["head.weight"].T.copy(), w["head.bias"]
        self.cleaning = CleaningConfig.from_dict(config["cleaning"])
        self.max_length = int(config["max_length"])
        self.class_bias = class_bias(folder, self.labels)

    @property
    def name(self) -> str:
        return str(self.config.get("model", "bag"))

    def to(self, device: str) -> None:
        if device != "cpu":
            raise UserError(f"the NumPy runtime predicts on the CPU, not {device}")

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        """Probabilities (N, len(labels)), as the PyTorch model gives them (up to float rounding)."""
        split = encode_words(texts, self.vocab, self.cleaning, html_decoded=html_decoded)
        probs = np.zeros((len(split), len(self.labels)), dtype=np.float32)
        # NumPy's per-call overhead wants larger batches than PyTorch's
        for rows, ids, lengths in by_length(split, max(batch_size, 4096), self.max_length):
            probs[rows] = softmax(self._logits(ids, lengths))
        return with_prior(probs, self.class_bias)

    def _logits(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """BagClassifier.forward on padded ids (B, T): a tweet without words reads as one padding token."""
        lengths = np.maximum(lengths, 1)[:, None].astype(np.float32)
        mask = (np.arange(ids.shape[1])[None, :] < lengths)[..., None]
        words = self.words[ids]
        mean = (words * mask).sum(axis=1) / lengths
        top = np.where(mask, words, -np.inf).max(axis=1)
        if ids.shape[1] > 1:
            buckets = (ids[:, :-1] * PAIR_PRIME + ids[:, 1:]) % len(self.pairs)
            pairs = (self.pairs[buckets] * mask[:, 1:]).sum(axis=1) / np.maximum(lengths - 1, 1)
        else:
            pairs = np.zeros_like(mean)
        hidden = np.maximum(np.concatenate([mean, top, pairs], axis=1) @ self.hidden_w + self.hidden_b, 0.0)
        return hidden @ self.head_w + self.head_b
