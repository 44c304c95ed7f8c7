"""Tweets -> a BERT tokenizer's ids, as `Split`s in the prepared splits' row order, cached like them.

The texts go through the foundation's cleaning (the prepare preset's rules, or almost none with
`clean=False`), then the Hugging Face fast tokenizer with its own special tokens ([CLS] ... [SEP]) and
truncation at `max_length`. The prepared `train` split keeps no texts, so the training file is read again
and the same rows selected (`select_training_rows` + the same stratified split) — a cold cost of some
seconds that the cache pays once.

Each cached split is one folder `cache_root/bert/<key>/` (an Arrow file like prepare's plus a manifest of
digests, written atomically). The key covers the prepared cache key (data files + preprocessing), the
tokenizer's full serialized pipeline, the max length, the cleaning, the split and the chosen rows: only
the rows a run uses are tokenized (the seed preset's 10,000 tweets take a fraction of a second; all 1.45M
training tweets about a minute on two cores), and `evaluate` finds the training run's splits again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.atomic import atomic_dir
from tweetsent.data.cleaning import CleaningConfig, clean_texts
from tweetsent.data.prepare import (
    Prepared,
    Split,
    _digest_file,
    _load_split,
    _split_table,
    _valid,
    select_training_rows,
    stratified_split,
)
from tweetsent.data.reader import RawTweets, read_sentiment140
from tweetsent.data.sources import DataFiles
from tweetsent.errors import UserError

CACHE_VERSION = 1  # bump when the meaning of a cached tokenized split changes
_CHUNK = 50_000  # texts per tokenizer call: bounds the Python lists held at once


def bert_cleaning(cleaning: CleaningConfig, clean: bool) -> CleaningConfig:
    """The cleaning a BERT model's texts get: the preset's rules, or with `clean=False` only HTML decoding
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


def encode_texts(
    tokenizer: Any,
    texts: Sequence[str] | pa.Array,
    cleaning: CleaningConfig,
    max_length: int,
    labels: np.ndarray | None = None,
    name: str = "texts",
    keep_texts: bool = True,
) -> Split:
    """Raw texts -> a Split of the tokenizer's ids (special tokens included, at most `max_length` each). An
    empty text still gets [CLS] [SEP], so every tweet has an answer."""
    column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
    cleaned = clean_texts(column, cleaning).to_pylist()
    ids: list[list[int]] = []
    for start in range(0, len(cleaned), _CHUNK):
        encoded = tokenizer(
            cleaned[start : start + _CHUNK],
            truncation=True,
            max_length=max_length,
            add_special_tokens=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        ids.extend(encoded["input_ids"])
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(offsets[-1]))
    labels = np.zeros(len(column), dtype=np.int8) if labels is None else np.asarray(labels, dtype=np.int8)
    return Split(name, flat, offsets, labels, column if keep_texts else None)


def _rows_digest(rows: np.ndarray | None) -> str:
    if rows is None:
        return "all"
    return hashlib.blake2b(np.asarray(rows, dtype=np.int64).tobytes(), digest_size=16).hexdigest()


def cache_key(
    prepared_key: str, tokenizer_id: str, max_length: int, cleaning: CleaningConfig, split: str, rows: np.ndarray | None
) -> str:
    spec = {
        "v": CACHE_VERSION,
        "prepared": prepared_key,
        "tokenizer": tokenizer_id,
        "max_length": max_length,
        "cleaning": cleaning.to_dict(),
        "split": split,
        "rows": _rows_digest(rows),
    }
    return hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(), digest_size=16).hexdigest()


class _TrainingFile:
    """The training file read again, with the rows behind the prepared train and val splits (read lazily:
    only a cache miss on train or val needs it)."""

    def __init__(self, files: DataFiles, prepared: Prepared) -> None:
        self.files = files
        self.prepared = prepared
        self._parts: tuple[RawTweets, dict[str, np.ndarray]] | None = None

    def parts(self) -> tuple[RawTweets, dict[str, np.ndarray]]:
        if self._parts is None:
            raw = read_sentiment140(self.files.train.path, self.files.train.member)
            config = self.prepared.config
            kept, _, _ = select_training_rows(raw, config.cleaning)
            train_idx, val_idx = stratified_split(raw.labels[kept], config.val_fraction, config.seed)
            parts = {"train": kept[train_idx], "val": kept[val_idx]}
            for name, rows in parts.items():
                if not np.array_equal(raw.labels[rows], self.prepared[name].labels):
                    raise UserError(
                        f"{self.files.train}: differs from the prepared cache {self.prepared.path} "
                        "(data changed?): run `tweetsent prepare --force`"
                    )
            self._parts = (raw, parts)
        return self._parts


def _build(
    name: str,
    rows: np.ndarray | None,
    files: DataFiles,
    prepared: Prepared,
    training_file: _TrainingFile,
    tokenizer: Any,
    max_length: int,
    cleaning: CleaningConfig,
) -> Split:
    if name in ("train", "val"):
        raw, parts = training_file.parts()
        source = parts[name] if rows is None else parts[name][rows]
        texts, labels = raw.texts.take(pa.array(source)), raw.labels[source]
        html_encoded = raw.html_encoded
    else:
        split = prepared[name]
        if split.texts is None:
            raise UserError(f"{prepared.path}: the {name} split has no texts")
        texts = split.texts if rows is None else split.texts.take(pa.array(rows))
        labels = split.labels if rows is None else split.labels[rows]
        html_encoded = read_sentiment140(files.test.path, files.test.member).html_encoded
    if not html_encoded:  # the 2-column variant is decoded already: decoding twice would change '&amp;amp;'
        cleaning = dataclasses.replace(cleaning, html_unescape=False)
    return encode_texts(tokenizer, texts, cleaning, max_length, labels, name=name, keep_texts=name != "train")


def tokenized_splits(
    files: DataFiles,
    prepared: Prepared,
    tokenizer: Any,
    max_length: int,
    cleaning: CleaningConfig,
    cache_root: Path,
    rows: dict[str, np.ndarray | None],
) -> dict[str, Split]:
    """For each split named in `rows` (train, val, test, test_seed) the tokenized rows chosen (None: all),
    in the order given, from the cache when it is valid."""
    from tweetsent.models.bert import tokenizer_digest

    tokenizer_id = tokenizer_digest(tokenizer)
    training_file = _TrainingFile(files, prepared)
    out: dict[str, Split] = {}
    for name, chosen in rows.items():
        key = cache_key(prepared.path.name, tokenizer_id, max_length, cleaning, name, chosen)
        folder = cache_root / "bert" / key
        if _valid(folder) is None:
            split = _build(name, chosen, files, prepared, training_file, tokenizer, max_length, cleaning)
            ids = pa.ListArray.from_arrays(pa.array(split.offsets.astype(np.int32)), pa.array(split.ids))
            with atomic_dir(folder) as tmp:
                table = _split_table(ids, split.labels, split.texts).combine_chunks()
                with pa.OSFile(str(tmp / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                    w.write_table(table)
                manifest = {
                    "key": key,
                    "split": name,
                    "tweets": len(split),
                    "tokens": int(split.offsets[-1]),
                    "prepared": prepared.path.name,
                    "tokenizer": tokenizer_id,
                    "max_length": max_length,
                    "cleaning": cleaning.to_dict(),
                    "digests": {f"{name}.arrow": _digest_file(tmp / f"{name}.arrow")},
                }
                (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        try:
            out[name] = _load_split(folder, name)
        except (OSError, pa.ArrowInvalid) as e:
            raise UserError(f"{folder}: cannot read the tokenized cache ({e}); delete the folder") from None
    return out
