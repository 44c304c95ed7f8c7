"""Training tweets from several labelled files (`train --data A --data B ...`).

Each file is read as it is (its own layout, columns and repairs, see labelled.py); label names are matched across
files by name (any case, neg/neu/pos); a tweet that occurs more than once (the same id where the file has an id
column, else the same text once decoded, lower-cased and with spaces collapsed) is kept once, and an id or text
given different labels is dropped altogether. Tweets that are also in a test file are left out of training.
Every count lands in `UnionStats`, which the run's config.json and summary record.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tweetsent.core.errors import UserError
from tweetsent.core.labels import ABBREVIATIONS
from tweetsent.data.labelled import ReadOptions, TweetRows, read_labelled_file

_SPACES = re.compile(r"\s+")


@dataclass
class UnionStats:
    files: list[dict[str, Any]] = field(default_factory=list)  # per file: rows read, kept, dropped, repaired
    duplicates: int = 0  # later copies of a tweet already kept (same label)
    conflicting_tweets: int = 0  # ids (or texts) given different labels: every copy dropped
    conflicting_rows: int = 0
    in_test_files: int = 0  # training tweets also in a --test-data file
    tweets: int = 0  # what is left to split into train and validation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalized(text: str) -> str:
    """The form two copies of a tweet share: entities decoded, lower case, runs of white space as one space."""
    return _SPACES.sub(" ", html.unescape(text)).strip().lower()


def tweet_keys(rows: TweetRows) -> list[str]:
    """One key per row: `id:...` where the file has ids, else `text:...`."""
    if rows.ids is not None:
        return [f"id:{i}" if i else f"text:{normalized(t)}" for i, t in zip(rows.ids, rows.texts, strict=True)]
    return [f"text:{normalized(t)}" for t in rows.texts]


def _canonical(value: str) -> str:
    return ABBREVIATIONS.get(value.lower(), value.lower())


def _match_labels(parts: Sequence[TweetRows]) -> list[list[str]]:
    """Every file's labels spelled one way (the standard names, else the first spelling seen). A file whose
    labels share none with the files before it cannot be matched: `0/1/2` beside `negative/neutral/positive`."""
    spelling: dict[str, str] = {}
    seen: set[str] = set()
    out: list[list[str]] = []
    for rows in parts:
        values = rows.labels or []
        mine = {_canonical(v) for v in values}
        if seen and not mine & seen:
            raise UserError(
                f"{rows.source}: its labels ({', '.join(sorted(set(values))[:6])}) match none of the other files' "
                f"({', '.join(sorted(spelling[c] for c in seen)[:6])}); pass --label-map NAME=VALUE,... to map them"
            )
        for v in values:
            spelling.setdefault(_canonical(v), v)
        seen |= mine
        out.append([spelling[_canonical(v)] for v in values])
    return out


def read_training_files(
    paths: Sequence[str], options: ReadOptions, label_map: dict[str, str] | None
) -> tuple[TweetRows, UnionStats]:
    """The files' labelled tweets as one set, in file order, duplicates and conflicts removed."""
    parts = [read_labelled_file(p, options, label_map) for p in paths]
    stats = UnionStats()
    for rows in parts:
        stats.files.append(
            {
                "file": rows.source,
                "rows_read": rows.rows_read,
                "kept": len(rows),
                "dropped": rows.dropped,
                "repaired": rows.repaired,
            }
        )
    texts = [t for rows in parts for t in rows.texts]
    labels = [label for names in _match_labels(parts) for label in names]
    keys = [k for rows in parts for k in tweet_keys(rows)]
    by_key: dict[str, set[str]] = defaultdict(set)
    for key, label in zip(keys, labels, strict=True):
        by_key[key].add(label)
    conflicting = {k for k, names in by_key.items() if len(names) > 1}
    keep: list[int] = []
    taken: set[str] = set()
    for i, key in enumerate(keys):
        if key in conflicting:
            stats.conflicting_rows += 1
        elif key in taken:
            stats.duplicates += 1
        else:
            taken.add(key)
            keep.append(i)
    stats.conflicting_tweets = len(conflicting)
    stats.tweets = len(keep)
    has_ids = all(rows.ids is not None for rows in parts)
    source = parts[0].source if len(parts) == 1 else f"{parts[0].source} and {len(parts) - 1} more"
    union = TweetRows(
        source,
        [texts[i] for i in keep],
        [labels[i] for i in keep],
        rows_read=sum(r.rows_read for r in parts),
        text_column=parts[0].text_column,
        label_column=parts[0].label_column,
        dropped=_dropped(parts, stats),
        ids=[keys[i].removeprefix("id:") for i in keep] if has_ids else None,
    )
    if not union.texts:
        raise UserError(f"{source}: no tweets left once duplicates and conflicting labels are removed")
    return union, stats


def _dropped(parts: Sequence[TweetRows], stats: UnionStats) -> dict[str, int]:
    total: Counter[str] = Counter()
    for rows in parts:
        total.update(rows.dropped)
    if stats.duplicates:
        total["duplicate tweet"] += stats.duplicates
    if stats.conflicting_rows:
        total["tweet given different labels"] += stats.conflicting_rows
    return dict(total.most_common())


def without_tests(rows: TweetRows, tests: Iterable[TweetRows], stats: UnionStats) -> TweetRows:
    """`rows` less the tweets (same id, or same text) that a test file holds: a test set is never trained on."""
    held: set[str] = set()
    for test in tests:
        held.update(f"id:{i}" for i in test.ids or [] if i)
        held.update(f"text:{normalized(t)}" for t in test.texts)
    texts = [normalized(t) for t in rows.texts]
    ids = rows.ids or [""] * len(rows.texts)
    keep = [
        i for i, (t, d) in enumerate(zip(texts, ids, strict=True)) if f"text:{t}" not in held and f"id:{d}" not in held
    ]
    stats.in_test_files = len(rows.texts) - len(keep)
    stats.tweets = len(keep)
    if not stats.in_test_files:
        return rows
    labels = rows.labels or []
    return TweetRows(
        rows.source,
        [rows.texts[i] for i in keep],
        [labels[i] for i in keep] if rows.labels is not None else None,
        rows_read=rows.rows_read,
        text_column=rows.text_column,
        label_column=rows.label_column,
        dropped={**rows.dropped, "also in a test file": stats.in_test_files},
        ids=[ids[i] for i in keep] if rows.ids is not None else None,
    )
