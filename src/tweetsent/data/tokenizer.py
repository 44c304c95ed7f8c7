"""A tweet tokenizer whose tokens match GloVe's vocabulary: `don't` -> `do n't`, `it's` -> `it 's`,
emoticons such as `:)`, `:-(` or `<3` and runs such as `...` or `!!!` kept whole (all are GloVe words).

Implemented as a handful of compiled RE2 rewrites over a whole Arrow column followed by a whitespace
split, so the full training set tokenizes in a few seconds on two cores.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_W = r"\p{L}\p{M}\p{N}_"
# Emoticons: eyes, optional nose, mouth. Letter mouths need a word boundary so ":Dog" stays ": Dog".
_EMOTICON = r"[:;=][\-o^]?[dDpPxX]\b|[:;=][\-o^]?[\)\]\(\[/\\|*@$]+|[\(\)][\-o^]?[:;=]|</?3+|\^_*\^|-_+-|[xX][dD]\b"
_REWRITES: list[tuple[str, str]] = [
    # Quotes made of apostrophes at the edge of a word ('hello') go; inner ones (it's, o'clock) stay.
    (rf"(^|[^{_W}])'+", r"\1 "),
    (rf"'+([^{_W}]|$)", r" \1"),
    # Contractions split the way GloVe's tokenizer did.
    (rf"(?i)([{_W}])(n't)\b", r"\1 \2"),
    (rf"(?i)([{_W}])('(?:s|m|re|ve|ll|d))\b", r"\1 \2"),
    # Emoticons, runs of . ! ? and any other punctuation mark become tokens of their own.
    (rf"({_EMOTICON}|[.!?]+|[^{_W}\s'])", r" \1 "),
]


def tokenize(texts: pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """Tokenize a string column into a list<string> column (one list per tweet)."""
    out = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    out = pc.fill_null(out, "")
    for pattern, rewrite in _REWRITES:
        out = pc.replace_substring_regex(out, pattern, rewrite)
    lists = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(out))
    # Splitting an empty string yields [""]: drop empty tokens so an empty tweet has no tokens.
    flat = lists.flatten()
    keep = pc.greater(pc.utf8_length(flat), 0)
    if pc.all(keep).as_py() is not False:
        return lists
    parents = pc.list_parent_indices(lists).to_numpy()
    counts = np.bincount(parents[keep.to_numpy(zero_copy_only=False)], minlength=len(lists))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep))


def tokenize_one(text: str) -> list[str]:
    return tokenize(pa.array([text], type=pa.string()))[0].as_py() or []
