"""`tweetsent prepare`: read, clean, tokenize and index Sentiment140 once; cache the result.

The cache is one folder per key, the key being a hash of the data files' bytes and of the preprocessing
config. Each split is an Arrow IPC file (token ids as list<int32>, label, and the text as read, HTML entities
decoded), memory-mapped on load, so a warm start costs well under a second. A manifest written last holds a
digest of every file: a stale, partial or corrupt cache is detected and rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetsent.core.atomic import atomic_dir
from tweetsent.core.errors import UserError
from tweetsent.core.labels import STANDARD
from tweetsent.core.splits import Split, stratified_split
from tweetsent.data.cleaning import CleaningConfig, clean_texts, has_link, unescape_html
from tweetsent.data.reader import RawTweets, read_sentiment140
from tweetsent.data.sources import DataFiles
from tweetsent.data.tokenizer import tokenize
from tweetsent.data.vocab import UNK_ID, Vocab, at_least_one_token

PIPELINE_VERSION = 2  # bump when cleaning, tokenizing or the cache layout changes meaning
SPLITS = ("train", "val", "test", "test_seed")
# Sentiment140's polarity codes 0 / 2 / 4, as read by the reader: indices into these names.
LABELS = STANDARD


@dataclass(frozen=True)
class PrepareConfig:
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    min_count: int = 2
    max_vocab: int | None = None
    val_fraction: float = 0.05
    split_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    path: Path
    config: PrepareConfig
    vocab: Vocab
    splits: dict[str, Split]
    stats: dict[str, Any]
    cache_hit: bool = False

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]


def digest_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()[:32]


def cache_key(files: DataFiles, config: PrepareConfig) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"v": PIPELINE_VERSION, "config": config.to_dict()}, sort_keys=True).encode())
    for f in (files.train, files.test):
        h.update(f"{f.member}:{digest_file(f.path)}".encode())
    return h.hexdigest()


def _parallel(fn: Any, texts: pa.Array, parts: int = 2) -> Any:
    """Run an Arrow column function on `parts` slices in threads (Arrow kernels release the GIL)."""
    if len(texts) < 100_000:
        return fn(texts)
    bounds = np.linspace(0, len(texts), parts + 1).astype(int)
    with ThreadPoolExecutor(parts) as pool:
        pieces = list(pool.map(lambda ab: fn(texts.slice(ab[0], ab[1] - ab[0])), itertools.pairwise(bounds)))
    return pa.concat_arrays(pieces)


def decoded_texts(raw: RawTweets, cleaning: CleaningConfig) -> pa.Array:
    """The texts with HTML entities decoded once: the original 6-column files carry them, the 2-column variant
    is decoded already (decoding it again would turn a tweet's literal '&amp;' into '&')."""
    if raw.html_encoded and cleaning.html_unescape:
        return _parallel(unescape_html, raw.texts)
    return raw.texts


def word_tokens(texts: pa.Array, cleaning: CleaningConfig) -> pa.ListArray:
    """Word tokens of decoded texts (see `decoded_texts`) under `cleaning`."""
    decoded = dataclasses.replace(cleaning, html_unescape=False)
    return _parallel(lambda t: tokenize(clean_texts(t, decoded)), texts)


def split_table(ids: pa.ListArray, labels: np.ndarray, texts: pa.Array) -> pa.Table:
    return pa.table({"tokens": ids, "label": pa.array(labels, type=pa.int8()), "text": texts})


def _label_counts(labels: np.ndarray) -> list[int]:
    return np.bincount(labels.astype(np.int64), minlength=3).tolist()


def select_training_rows(
    train_raw: RawTweets, texts: pa.Array, cleaning: CleaningConfig
) -> tuple[np.ndarray, pa.ListArray, dict[str, int]]:
    """The rows of the training file that become training or validation tweets (no link when that rule is on,
    not neutral, not empty after cleaning), their word tokens, and how many rows each rule dropped."""
    dropped: dict[str, int] = {}
    keep = np.ones(len(train_raw), dtype=bool)
    if cleaning.drop_link_tweets:
        link = has_link(texts)
        dropped["train tweet with a link"] = int(link.sum())
        keep &= ~link
    neutral = train_raw.labels == 1
    if neutral.any():  # the study trains two classes; neutral rows in a training file are set aside
        dropped["train neutral label"] = int((neutral & keep).sum())
        keep &= ~neutral

    kept_rows = np.flatnonzero(keep)
    train_tokens = word_tokens(texts, cleaning).take(pa.array(kept_rows))
    nonempty = pc.list_value_length(train_tokens).to_numpy(zero_copy_only=False) > 0
    dropped["train empty after cleaning"] = int((~nonempty).sum())
    train_tokens = train_tokens.filter(pa.array(nonempty))
    return kept_rows[nonempty], train_tokens, dropped


def write_table(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())


def build(files: DataFiles, config: PrepareConfig, out: Path) -> dict[str, Any]:
    """Read, clean, tokenize, split and index; write the split files into `out`. Returns the stats."""
    train_raw = read_sentiment140(files.train.path, files.train.member)
    test_raw = read_sentiment140(files.test.path, files.test.member)
    if len(train_raw) == 0:
        raise UserError(f"{files.train}: no training rows left after skipping bad rows")

    dropped: dict[str, int] = {f"train {k}": v for k, v in train_raw.skipped.items()}
    dropped.update({f"test {k}": v for k, v in test_raw.skipped.items()})
    train_texts = decoded_texts(train_raw, config.cleaning)
    kept_rows, train_tokens, selection_dropped = select_training_rows(train_raw, train_texts, config.cleaning)
    dropped.update(selection_dropped)
    labels = train_raw.labels[kept_rows]
    if len(np.unique(labels)) < 2:
        raise UserError(f"{files.train}: training data needs negative and positive tweets")

    train_idx, val_idx = stratified_split(labels, config.val_fraction, config.split_seed)
    vocab = Vocab.build(train_tokens.take(pa.array(train_idx)), config.min_count, config.max_vocab)
    train_ids = vocab.encode(train_tokens)
    test_texts = decoded_texts(test_raw, config.cleaning)
    test_ids = at_least_one_token(vocab.encode(word_tokens(test_texts, config.cleaning)))
    test_link = has_link(test_raw.texts)
    seed_rows = pa.array(np.flatnonzero(~test_link))

    def rows_of(indices: np.ndarray) -> pa.Array:
        return train_texts.take(pa.array(kept_rows[indices]))

    tables = {
        "train": split_table(train_ids.take(pa.array(train_idx)), labels[train_idx], rows_of(train_idx)),
        "val": split_table(train_ids.take(pa.array(val_idx)), labels[val_idx], rows_of(val_idx)),
        "test": split_table(test_ids, test_raw.labels, test_texts),
        "test_seed": split_table(test_ids.take(seed_rows), test_raw.labels[~test_link], test_texts.take(seed_rows)),
    }
    for name, table in tables.items():
        write_table(table, out / f"{name}.arrow")
    vocab.save(out / "vocab.txt")

    lengths = pc.list_value_length(tables["train"]["tokens"]).to_numpy(zero_copy_only=False)
    return {
        "files": {"train": str(files.train), "test": str(files.test)},
        "rows_read": {"train": train_raw.rows_read, "test": test_raw.rows_read},
        "first_skipped_at": {**train_raw.first_skipped_at, **test_raw.first_skipped_at},
        "dropped": dropped,
        "test_seed_link_tweets_removed": int(test_link.sum()),
        "class_counts": {
            name: _label_counts(np.asarray(t["label"].to_numpy(), dtype=np.int8)) for name, t in tables.items()
        },
        "vocab_size": len(vocab),
        "train_tokens": int(lengths.sum()),
        "unk_share_train": float(vocab.counts[UNK_ID] / max(1, vocab.counts.sum())),
        "length_percentiles": {
            "mean": float(lengths.mean()),
            **{f"p{q}": float(np.percentile(lengths, q)) for q in (50, 90, 99)},
            "max": int(lengths.max()),
        },
    }


def load_split(path: Path, name: str) -> Split:
    table = pa.ipc.open_file(pa.memory_map(str(path / f"{name}.arrow"))).read_all().combine_chunks()
    tokens = table.column("tokens").chunk(0)
    return Split(
        name=name,
        ids=tokens.values.to_numpy(zero_copy_only=True),
        offsets=tokens.offsets.to_numpy(),
        labels=table.column("label").to_numpy(),
        texts=table.column("text").chunk(0),
    )


def valid_cache(folder: Path) -> dict[str, Any] | None:
    """The manifest of a cache folder whose files all match their digests; None otherwise."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        info: dict[str, Any] = json.loads(manifest.read_text())
        for name, digest in info["digests"].items():
            if digest_file(folder / name) != digest:
                return None
        return info
    except (OSError, ValueError, KeyError):
        return None


def prepare(files: DataFiles, config: PrepareConfig, cache_root: Path, force: bool = False) -> Prepared:
    """Prepared splits for `files` under `config`, from the cache when it is valid, else built and cached."""
    key = cache_key(files, config)
    folder = cache_root / key
    info = None if force else valid_cache(folder)
    hit = info is not None
    if info is None:
        with atomic_dir(folder) as tmp:
            stats = build(files, config, tmp)
            digests = {p.name: digest_file(p) for p in sorted(tmp.iterdir())}
            info = {"key": key, "config": config.to_dict(), "stats": stats, "digests": digests}
            (tmp / "manifest.json").write_text(json.dumps(info, indent=1))
    try:
        splits = {name: load_split(folder, name) for name in SPLITS}
        vocab = Vocab.load(folder / "vocab.txt")
    except (OSError, pa.ArrowInvalid, KeyError) as e:
        raise UserError(f"{folder}: cannot read the prepared cache ({e}); run `tweetsent prepare --force`") from None
    return Prepared(folder, config, vocab, splits, info["stats"], cache_hit=hit)
