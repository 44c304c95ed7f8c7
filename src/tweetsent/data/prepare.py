"""`tweetsent prepare`: read, clean, tokenize and index Sentiment140 once; cache the result.

The cache is one folder per key, the key being a hash of the data files' bytes and of the preprocessing
config. Each split is an Arrow IPC file (token ids as list<int32>, label, and for evaluation splits the raw
text), memory-mapped on load, so a warm start costs well under a second. A manifest written last holds a
digest of every file: a stale, partial or corrupt cache is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetsent.atomic import atomic_dir
from tweetsent.data.cleaning import CleaningConfig, clean_texts, has_link
from tweetsent.data.reader import RawTweets, read_sentiment140
from tweetsent.data.sources import DataFiles
from tweetsent.data.tokenizer import tokenize
from tweetsent.data.vocab import UNK_ID, Vocab
from tweetsent.errors import UserError

PIPELINE_VERSION = 1  # bump when cleaning, tokenizing or the cache layout changes meaning
SPLITS = ("train", "val", "test", "test_seed")


@dataclass(frozen=True)
class PrepareConfig:
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    min_count: int = 2
    max_vocab: int | None = None
    val_fraction: float = 0.05
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PrepareConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "cleaning"}
        return cls(cleaning=CleaningConfig.from_dict(d.get("cleaning", {})), **known)


PRESETS: dict[str, PrepareConfig] = {
    # The study looked every word up in GloVe: keep every training word.
    "seed": PrepareConfig(min_count=1),
    # Words seen once are mostly typos and handles; dropping them halves the vocabulary.
    "fast": PrepareConfig(min_count=2),
}


@dataclass
class Split:
    """One prepared split: ragged token ids (flat + offsets), labels, optional raw texts."""

    name: str
    ids: np.ndarray  # int32, all tokens of all tweets back to back
    offsets: np.ndarray  # int32/int64, len(tweets) + 1
    labels: np.ndarray  # int8: 0 negative, 1 neutral, 2 positive
    texts: pa.Array | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, rows: np.ndarray) -> Split:
        """A new split of the given rows (ids copied, in order)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        starts = self.offsets[rows].astype(np.int64)
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        texts = self.texts.take(pa.array(rows)) if self.texts is not None else None
        return Split(self.name, self.ids[gather], offsets, self.labels[rows], texts)


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


def seeded_rows(n: int, size: int | None, seed: int) -> np.ndarray | None:
    """The sorted rows of a seeded random subset of `size` out of `n` (None: all of them)."""
    if size is None or size >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def seeded_subset(split: Split, size: int | None, seed: int) -> Split:
    rows = seeded_rows(len(split), size, seed)
    return split if rows is None else split.subset(rows)


def _digest_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()[:32]


def cache_key(files: DataFiles, config: PrepareConfig) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"v": PIPELINE_VERSION, "config": config.to_dict()}, sort_keys=True).encode())
    for f in (files.train, files.test):
        h.update(f"{f.member}:{_digest_file(f.path)}".encode())
    return h.hexdigest()


def _parallel(fn: Any, texts: pa.Array, parts: int = 2) -> Any:
    """Run an Arrow column function on `parts` slices in threads (Arrow kernels release the GIL)."""
    if len(texts) < 100_000:
        return fn(texts)
    bounds = np.linspace(0, len(texts), parts + 1).astype(int)
    with ThreadPoolExecutor(parts) as pool:
        pieces = list(pool.map(lambda ab: fn(texts.slice(ab[0], ab[1] - ab[0])), itertools.pairwise(bounds)))
    return pa.concat_arrays(pieces)


def _tokens(raw: RawTweets, cleaning: CleaningConfig) -> pa.ListArray:
    config = cleaning if raw.html_encoded else CleaningConfig(**{**cleaning.to_dict(), "html_unescape": False})
    return _parallel(lambda t: tokenize(clean_texts(t, config)), raw.texts)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val): `fraction` of each class to validation, chosen by a seeded shuffle."""
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        val.append(rng.permutation(rows)[: round(fraction * len(rows))])
    val_rows = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    keep = np.ones(len(labels), dtype=bool)
    keep[val_rows] = False
    return np.flatnonzero(keep), val_rows


def _split_table(ids: pa.ListArray, labels: np.ndarray, texts: pa.Array | None) -> pa.Table:
    columns: dict[str, Any] = {"tokens": ids, "label": pa.array(labels, type=pa.int8())}
    if texts is not None:
        columns["text"] = texts
    return pa.table(columns)


def at_least_one_token(ids: pa.ListArray) -> pa.ListArray:
    """Evaluation tweets that clean to nothing still get an answer: they become a single <unk>."""
    lengths = pc.list_value_length(ids).to_numpy(zero_copy_only=False)
    if lengths.min(initial=1) > 0:
        return ids
    return pa.array([x if x else [UNK_ID] for x in ids.to_pylist()], type=pa.list_(pa.int32()))


def encode_texts(texts: Sequence[str] | pa.Array, vocab: Vocab, cleaning: CleaningConfig) -> Split:
    """Raw texts -> a Split (labels all zero) through the training cleaning and tokenizer. A text with no known
    token becomes one UNK token, as in prepare, so every text gets an answer."""
    column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
    ids = at_least_one_token(vocab.encode(tokenize(clean_texts(column, cleaning))))
    flat = ids.values.to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = ids.offsets.to_numpy().astype(np.int64)
    return Split("texts", flat, offsets - offsets[0], np.zeros(len(column), dtype=np.int8), column)


def _label_counts(labels: np.ndarray) -> list[int]:
    return np.bincount(labels.astype(np.int64), minlength=3).tolist()


def select_training_rows(
    train_raw: RawTweets, cleaning: CleaningConfig
) -> tuple[np.ndarray, pa.ListArray, dict[str, int]]:
    """The rows of the training file that become training or validation tweets (no link when that rule is on,
    not neutral, not empty after cleaning), their word tokens, and how many rows each rule dropped.
    `build` and the BERT tokenizer cache (which needs the texts of these rows) share it."""
    dropped: dict[str, int] = {}
    keep = np.ones(len(train_raw), dtype=bool)
    if cleaning.drop_link_tweets:
        link = has_link(train_raw.texts)
        dropped["train tweet with a link"] = int(link.sum())
        keep &= ~link
    neutral = train_raw.labels == 1
    if neutral.any():  # the study trains two classes; neutral rows in a training file are set aside
        dropped["train neutral label"] = int((neutral & keep).sum())
        keep &= ~neutral

    kept_rows = np.flatnonzero(keep)
    train_tokens = _tokens(train_raw, cleaning).take(pa.array(kept_rows))
    nonempty = pc.list_value_length(train_tokens).to_numpy(zero_copy_only=False) > 0
    dropped["train empty after cleaning"] = int((~nonempty).sum())
    train_tokens = train_tokens.filter(pa.array(nonempty))
    return kept_rows[nonempty], train_tokens, dropped


def build(files: DataFiles, config: PrepareConfig, out: Path) -> dict[str, Any]:
    """Read, clean, tokenize, split and index; write the split files into `out`. Returns the stats."""
    train_raw = read_sentiment140(files.train.path, files.train.member)
    test_raw = read_sentiment140(files.test.path, files.test.member)
    if len(train_raw) == 0:
        raise UserError(f"{files.train}: no training rows left after skipping bad rows")

    dropped: dict[str, int] = {f"train {k}": v for k, v in train_raw.skipped.items()}
    dropped.update({f"test {k}": v for k, v in test_raw.skipped.items()})
    kept_rows, train_tokens, selection_dropped = select_training_rows(train_raw, config.cleaning)
    dropped.update(selection_dropped)
    labels = train_raw.labels[kept_rows]
    if len(np.unique(labels)) < 2:
        raise UserError(f"{files.train}: training data needs negative and positive tweets")

    train_idx, val_idx = stratified_split(labels, config.val_fraction, config.seed)
    vocab = Vocab.build(train_tokens.take(pa.array(train_idx)), config.min_count, config.max_vocab)
    train_ids = vocab.encode(train_tokens)
    test_ids = at_least_one_token(vocab.encode(_tokens(test_raw, config.cleaning)))
    test_link = has_link(test_raw.texts)
    seed_rows = pa.array(np.flatnonzero(~test_link))

    tables = {
        "train": _split_table(train_ids.take(pa.array(train_idx)), labels[train_idx], None),
        "val": _split_table(
            train_ids.take(pa.array(val_idx)), labels[val_idx], train_raw.texts.take(pa.array(kept_rows[val_idx]))
        ),
        "test": _split_table(test_ids, test_raw.labels, test_raw.texts),
        "test_seed": _split_table(
            test_ids.take(seed_rows), test_raw.labels[~test_link], test_raw.texts.take(seed_rows)
        ),
    }
    for name, table in tables.items():
        with pa.OSFile(str(out / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table.combine_chunks())
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


def _load_split(path: Path, name: str) -> Split:
    table = pa.ipc.open_file(pa.memory_map(str(path / f"{name}.arrow"))).read_all().combine_chunks()
    tokens = table.column("tokens").chunk(0)
    return Split(
        name=name,
        ids=tokens.values.to_numpy(zero_copy_only=True),
        offsets=tokens.offsets.to_numpy(),
        labels=table.column("label").to_numpy(),
        texts=table.column("text").chunk(0) if "text" in table.column_names else None,
    )


def _valid(folder: Path) -> dict[str, Any] | None:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        info: dict[str, Any] = json.loads(manifest.read_text())
        for name, digest in info["digests"].items():
            if _digest_file(folder / name) != digest:
                return None
        return info
    except (OSError, ValueError, KeyError):
        return None


def prepare(files: DataFiles, config: PrepareConfig, cache_root: Path, force: bool = False) -> Prepared:
    """Prepared splits for `files` under `config`, from the cache when it is valid, else built and cached."""
    key = cache_key(files, config)
    folder = cache_root / key
    info = None if force else _valid(folder)
    hit = info is not None
    if info is None:
        with atomic_dir(folder) as tmp:
            stats = build(files, config, tmp)
            digests = {p.name: _digest_file(p) for p in sorted(tmp.iterdir())}
            info = {"key": key, "config": config.to_dict(), "stats": stats, "digests": digests}
            (tmp / "manifest.json").write_text(json.dumps(info, indent=1))
    try:
        splits = {name: _load_split(folder, name) for name in SPLITS}
        vocab = Vocab.load(folder / "vocab.txt")
    except (OSError, pa.ArrowInvalid) as e:
        raise UserError(f"{folder}: cannot read the prepared cache ({e}); run `tweetsent prepare --force`") from None
    return Prepared(folder, config, vocab, splits, info["stats"], cache_hit=hit)
