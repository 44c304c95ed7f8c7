"""Token vocabulary: index 0 is padding, 1 unknown; the rest by training frequency (ties by token)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetsent.core.atomic import atomic_path
from tweetsent.core.errors import UserError
from tweetsent.core.splits import Split
from tweetsent.data.cleaning import CleaningConfig, clean_texts
from tweetsent.data.tokenizer import tokenize

PAD, UNK = "<pad>", "<unk>"  # the tokenizer splits '<' and '>' off, so no real token can equal these
PAD_ID, UNK_ID = 0, 1
# Below this many tokens `encode` looks words up in a Python dict; above it, Arrow's vectorised index_in wins.
_DICT_LOOKUP_MAX = 20_000


class Vocab:
    def __init__(self, words: list[str], counts: np.ndarray) -> None:
        if words[:2] != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        self.words = words
        self.counts = np.asarray(counts, dtype=np.int64)
        self._array = pa.array(words, type=pa.string())
        self._dict: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, token_lists: pa.ListArray, min_count: int = 1, max_size: int | None = None) -> Vocab:
        counted = pc.value_counts(token_lists.flatten())
        table = pa.table({"word": counted.field("values"), "count": counted.field("counts")})
        table = table.filter(pc.greater_equal(table["count"], min_count))
        table = table.take(pc.sort_indices(table, [("count", "descending"), ("word", "ascending")]))
        if max_size is not None:
            table = table.slice(0, max(0, max_size - 2))
        n_unk = int(pc.sum(counted.field("counts")).as_py() or 0) - int(pc.sum(table["count"]).as_py() or 0)
        words = [PAD, UNK, *table["word"].to_pylist()]
        counts = np.concatenate([[0, n_unk], table["count"].to_numpy()])
        return cls(words, counts)

    def joined(self, ids: np.ndarray, offsets: np.ndarray) -> list[str]:
        """Tweets of token ids (flat `ids`, `offsets` len + 1) back as lines of their words, space-separated."""
        words = self._array.take(pa.array(ids, type=pa.int64()))
        lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), words)
        return pc.binary_join(lists, " ").to_pylist()

    def extended(self, token_lists: pa.ListArray, min_count: int = 1) -> Vocab:
        """This vocabulary with the words of `token_lists` it lacks appended (those seen `min_count` times or
        more, by frequency): every known word keeps its id, so a model's embedding rows stay valid."""
        counted = pc.value_counts(token_lists.flatten())
        table = pa.table({"word": counted.field("values"), "count": counted.field("counts")})
        table = table.filter(pc.greater_equal(table["count"], min_count))
        table = table.filter(pc.invert(pc.is_in(table["word"], value_set=self._array)))
        table = table.take(pc.sort_indices(table, [("count", "descending"), ("word", "ascending")]))
        if table.num_rows == 0:
            return self
        return Vocab(
            [*self.words, *table["word"].to_pylist()], np.concatenate([self.counts, table["count"].to_numpy()])
        )

    def encode(self, token_lists: pa.ListArray) -> pa.ListArray:
        """list<string> -> list<int32> of the same shape; unknown tokens become UNK_ID."""
        flat = token_lists.flatten()
        if len(flat) <= _DICT_LOOKUP_MAX:
            # `index_in` rebuilds its hash table over the whole vocabulary on every call (~25 ms for 300k
            # words): a served request of a few tokens is far cheaper through a dict built once.
            index = self._index()
            ids = pa.array([index.get(t, UNK_ID) for t in flat.to_pylist()], type=pa.int32())
        else:
            ids = pc.cast(pc.fill_null(pc.index_in(flat, value_set=self._array), UNK_ID), pa.int32())
        offsets = pc.subtract(token_lists.offsets, token_lists.offsets[0])
        return pa.ListArray.from_arrays(offsets, ids)

    def _index(self) -> dict[str, int]:
        if self._dict is None:
            index: dict[str, int] = {}
            for i, w in enumerate(self.words):
                index.setdefault(w, i)  # the first occurrence, as index_in does
            self._dict = index
        return self._dict

    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for w in self.words:
            h.update(w.encode("utf-8") + b"\n")
        return h.hexdigest()

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for w, c in zip(self.words, self.counts, strict=True):
                f.write(f"{w}\t{c}\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        words: list[str] = []
        counts: list[int] = []
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, start=1):
                word, sep, count = line.rstrip("\n").rpartition("\t")
                if not sep or not count.isdigit():
                    raise UserError(f"{path}:{i}: expected 'token<TAB>count'")
                words.append(word)
                counts.append(int(count))
        if words[:2] != [PAD, UNK]:
            raise UserError(f"{path}:1: a vocabulary file starts with {PAD} and {UNK}")
        return cls(words, np.array(counts))


def at_least_one_token(ids: pa.ListArray) -> pa.ListArray:
    """Tweets that clean to nothing still get an answer: they become a single <unk>."""
    lengths = pc.list_value_length(ids).to_numpy(zero_copy_only=False)
    if lengths.min(initial=1) > 0:
        return ids
    return pa.array([x if x else [UNK_ID] for x in ids.to_pylist()], type=pa.list_(pa.int32()))


def encode_words(
    texts: Sequence[str] | pa.Array,
    vocab: Vocab,
    cleaning: CleaningConfig,
    labels: np.ndarray | None = None,
    name: str = "texts",
    html_decoded: bool = False,
) -> Split:
    """Raw texts -> a Split of word ids through the cleaning and tokenizer; a text with no known token becomes one
    UNK token, so every text gets an answer. `html_decoded`: the texts' HTML entities are decoded already (a
    dataset's texts), so the cleaning must not decode them again."""
    column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
    if html_decoded:
        cleaning = dataclasses.replace(cleaning, html_unescape=False)
    ids = at_least_one_token(vocab.encode(tokenize(clean_texts(column, cleaning))))
    flat = ids.values.to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = ids.offsets.to_numpy().astype(np.int64)
    labels = np.zeros(len(column), dtype=np.int8) if labels is None else np.asarray(labels)
    return Split(name, flat, offsets - offsets[0], labels, column)


def pad_rows(split: Split, rows: np.ndarray, width: int | None, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (len(rows), T) padded with PAD_ID, and the true lengths (capped at `max_length`).
    T is `width` if given, else the longest capped length among the rows."""
    starts = split.offsets[rows].astype(np.int64)
    lengths = np.minimum(split.offsets[rows + 1] - starts, max_length if width is None else min(width, max_length))
    t = int(width if width is not None else max(1, lengths.max(initial=1)))
    positions = starts[:, None] + np.arange(t)[None, :]
    mask = np.arange(t)[None, :] < lengths[:, None]
    ids = np.where(mask, split.ids[np.minimum(positions, len(split.ids) - 1)], PAD_ID)
    return ids, lengths


def by_length(split: Split, batch_size: int, max_length: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, ids, lengths) for batches of `batch_size` rows of similar length (little padding), in length order:
    how a runtime without PyTorch's batching walks a split."""
    order = np.argsort(np.diff(split.offsets), kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, lengths = pad_rows(split, rows, None, max_length)
        yield rows, ids, lengths
