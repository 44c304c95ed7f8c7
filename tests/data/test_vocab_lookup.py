"""Vocab.encode: the dict lookup used for small inputs gives exactly what Arrow's index_in gives."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tweetsent.data import vocab as vocab_module
from tweetsent.data.vocab import UNK_ID, Vocab


def test_small_and_large_lookups_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = Vocab.build(pa.array([["a", "b", "b", "c", "ç", "<3", ":)"]]))
    lists = pa.array([["b", "zzz", "ç"], [], [":)", "a", "<unk>", "c"], ["nope"]], type=pa.list_(pa.string()))
    sliced = lists.slice(1, 3)  # offsets that do not start at 0
    small = [vocab.encode(x).to_pylist() for x in (lists, sliced)]
    monkeypatch.setattr(vocab_module, "_DICT_LOOKUP_MAX", -1)
    large = [vocab.encode(x).to_pylist() for x in (lists, sliced)]
    assert small == large
    assert small[0][0][1] == UNK_ID and small[0][3] == [UNK_ID] and small[0][1] == []
