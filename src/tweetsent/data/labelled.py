"""Tweets from any file a user has: plain lines, CSV, TSV or JSON lines, with or without labels.

Used by `predict --input` (texts only), by `train --data` and by `evaluate --data` / `calibrate --data`
(texts and labels).
The format comes from the file name (`.csv`, `.tsv`, `.jsonl`, `.txt`; `.gz` and `.zip` are unpacked) or
`--input-format`. A CSV/TSV header is recognised by its column names; without one, columns are numbered from 0.
The text and label columns are found by name (text, tweet, label, sentiment, ...) or by content (the longest
column is the text; the column whose values are labels, or failing that the one with the fewest distinct
values, is the label) unless given. Labels are kept as written, or mapped with a label map
(`negative=0,neutral=1,positive=2`: a label name = the file's value); with a map, rows whose value is not in it
are dropped and counted, never silently mislabelled.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np

from tweetsent.core.errors import UserError, at
from tweetsent.core.labels import STANDARD, LabelSet, is_number

FORMATS = ("lines", "csv", "tsv", "jsonl")
# Values that look like labels of the usual three classes: they tell a header-less first row from a header.
_STANDARD_VALUES = LabelSet(STANDARD).canonical()
TEXT_NAMES = ("text", "tweet", "tweettext", "tweet_text", "content", "message", "sentence", "body")
LABEL_COLUMN_NAMES = ("label", "labels", "sentiment", "polarity", "target", "class", "category")
ID_COLUMN_NAMES = ("id", "ids", "tweet_id", "tweetid", "status_id", "id_str")
_SNIFF_ROWS = 200
# A label column has few distinct values: more than this in the sniffed rows and a column is not one.
_MAX_LABEL_VALUES = 50
# More malformed rows than this share means the format guess (or the file) is wrong: stop instead of skipping.
_MAX_BAD_SHARE = 0.05


@dataclass
class TweetRows:
    """Texts of a file (in file order), plus their labels when the file has them."""

    source: str
    texts: list[str]
    labels: list[str] | None = None  # label names: as written, or mapped by the label map
    rows_read: int = 0
    text_column: str | None = None
    label_column: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    ids: list[str] | None = None  # the tweet ids, where the file has an id column
    repaired: dict[str, int] = field(default_factory=dict)  # records read after a repair, by kind

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class ReadOptions:
    """How a labelled file is read: `--input-format`, `--text-column`, `--label-column`, `--label-map`."""

    input_format: str | None = field(
        default=None, metadata={"help": "lines, csv, tsv or jsonl (default: from the file name)"}
    )
    text_column: str | None = field(default=None, metadata={"help": "column (name or 0-based number) of the text"})
    label_column: str | None = field(default=None, metadata={"help": "column (name or 0-based number) of the label"})
    label_map: str | None = field(
        default=None, metadata={"help": "label name = the file's value, e.g. negative=0,neutral=2,positive=4"}
    )
    encoding: str = field(default="utf-8", metadata={"help": "text encoding of the files: utf-8, or latin-1"})
    encoding_errors: str = field(
        default="strict", metadata={"help": "strict (a bad byte is an error naming its line) or replace"}
    )
    max_input_mb: int = field(default=512, metadata={"help": "refuse files that decompress to more than this"})


def parse_label_map(spec: str | None) -> dict[str, str] | None:
    """`negative=0,neutral=1,positive=2` -> {"0": "negative", "1": "neutral", "2": "positive"} (values matched in
    any case). A label may take several values (`negative=0,negative=-1`); a value may not mean two labels."""
    if spec is None or not spec.strip():
        return None
    out: dict[str, str] = {}
    for item in spec.split(","):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip().lower()
        if not sep or not value or not name:
            raise UserError(f"--label-map: expected NAME=VALUE items like negative=0,positive=4, got {item!r}")
        if out.get(value, name) != name:
            raise UserError(f"--label-map: value {value!r} given for both {out[value]} and {name}")
        out[value] = name
    return out


def parse_labels(spec: str | None) -> tuple[str, ...] | None:
    """`--labels negative,neutral,positive` -> the names in that order."""
    if spec is None:
        return None
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserError(f"--labels: expected two or more distinct names separated by commas, got {spec!r}")
    return names


def guess_format(path: str | Path) -> str | None:
    name = Path(path).name.lower()
    for suffix in (".gz", ".zip"):
        name = name.removesuffix(suffix)
    suffix = Path(name).suffix
    return {
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".txt": "lines",
    }.get(suffix)


ENCODINGS = ("utf-8", "latin-1")


def _read_text(path: str | Path, options: ReadOptions) -> tuple[str, str]:
    """(label for messages, decoded text) of a file or `-` (stdin). Empty and binary input are refused; a byte
    that is not UTF-8 is an error naming its line, unless `encoding_errors` is "replace"."""
    if options.encoding not in ENCODINGS or options.encoding_errors not in ("strict", "replace"):
        raise UserError("--encoding must be utf-8 or latin-1 and --encoding-errors strict or replace")
    limit = options.max_input_mb << 20
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        label = "<stdin>"
        if len(data) > limit:
            raise UserError(f"<stdin>: more than {options.max_input_mb:,} MB (--max-input-mb)")
    else:
        from tweetsent.data.reader import read_bytes

        p = Path(path)
        if p.is_dir():
            raise UserError(f"{p}: is a folder, not a file")
        data = read_bytes(p, max_bytes=limit)
        label = str(p)
    if not data.strip():
        raise UserError(f"{label}: empty input (expected tweets: one per line, or CSV, TSV or JSON lines)")
    head = data[:65536]
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if b"\x00" in head or controls > len(head) / 20:
        raise UserError(f"{label}: binary data, not text (UTF-16 files: save them as UTF-8)")
    if options.encoding == "latin-1":
        return label, data.decode("latin-1")
    try:
        return label, data.decode("utf-8-sig", errors=options.encoding_errors)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UserError(
            f"{at(label, line)}byte 0x{data[e.start]:02x} is not UTF-8 (pass --encoding-errors replace to replace "
            "such bytes, or --encoding latin-1 for a latin-1 file)"
        ) from None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    # Split on newlines only: str.splitlines would also cut a tweet at \x0b, \x1c or U+2028.
    for i, line in enumerate(text.split("\n"), start=1):
        yield i, line.removesuffix("\r")


@dataclass
class _Table:
    columns: list[str]
    rows: list[list[str | None]]
    line_numbers: list[int]
    malformed: int = 0
    first_malformed: int | None = None
    rejoined: int = 0  # records split over two lines by a raw line break, read as one
    header: bool = False  # the first row named the columns


def _read_delimited(source: str, text: str, fmt: str, wanted: list[str], label_values: set[str]) -> _Table:
    # TSV has no quoting (tweets in SemEval's TSV contain unbalanced '"'); CSV follows RFC 4180.
    tsv = fmt == "tsv"
    raw = list(raw_rows(source, io.StringIO(text, newline=""), tsv))
    if not raw:
        raise UserError(f"{source}: empty file")
    return delimited_table(source, raw, tsv, wanted, label_values)


def raw_rows(source: str, stream: TextIO, tsv: bool) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of every non-blank row of a CSV or TSV text stream."""
    delimiter = "\t" if tsv else ","
    reader = csv.reader(stream, delimiter=delimiter, quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
    csv.field_size_limit(1 << 30)
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip()):
                yield reader.line_num, row
    except csv.Error as e:
        raise UserError(f"{at(source, reader.line_num)}not readable as {_kind(delimiter)} ({e})") from None


def delimited_table(
    source: str, raw: list[tuple[int, list[str]]], tsv: bool, wanted: list[str], label_values: set[str]
) -> _Table:
    """The table of a file's rows (or of its first rows: the width, the header and the columns come from them)."""
    delimiter = "\t" if tsv else ","
    # A CSV's first row (its header) sets the width; a TSV's is the width most of its first rows have (the first
    # row alone may be a record broken over two lines).
    widths = Counter(len(r) for _, r in raw[:_SNIFF_ROWS])
    width = max(widths, key=lambda w: (widths[w], w == len(raw[0][1]))) if tsv else len(raw[0][1])
    table = _rejoined(raw, width, tsv)
    total = len(table.rows) + table.malformed
    if table.malformed > _MAX_BAD_SHARE * total or not table.rows:
        raise UserError(
            f"{at(source, table.first_malformed)}expected {width} {_kind(delimiter)} columns like line "
            f"{table.line_numbers[0] if table.line_numbers else 1}, found another count ({table.malformed:,} of "
            f"{total:,} rows); is --input-format right?"
        )
    first = table.rows[0]
    header = _is_header(first, table.rows[1 : _SNIFF_ROWS + 1], wanted, label_values)  # type: ignore[arg-type]
    if header:
        table.columns = [(c or "").strip() for c in first]
        table.header = True
        del table.rows[0], table.line_numbers[0]
    return table


def records(
    raw: Iterable[tuple[int, list[str]]], width: int, tsv: bool
) -> Iterator[tuple[int, list[str] | None, bool]]:
    """(line, row, rejoined) for each record of `width` fields, row None for a malformed one: in a TSV, a short row
    followed by one that completes it is one record whose text holds a raw line break (SemEval's has one); other
    rows of another width are malformed."""
    pending: tuple[int, list[str]] | None = None
    for line, row in raw:
        if pending is not None and len(pending[1]) + len(row) - 1 == width:
            head = pending[1]
            yield pending[0], [*head[:-1], f"{head[-1]} {row[0]}", *row[1:]], True
            pending = None
            continue
        if pending is not None:
            yield pending[0], None, False
            pending = None
        if len(row) == width:
            yield line, list(row), False
        elif tsv and len(row) < width:
            pending = (line, row)
        else:
            yield line, None, False
    if pending is not None:
        yield pending[0], None, False


def _rejoined(raw: list[tuple[int, list[str]]], width: int, tsv: bool) -> _Table:
    """The records of `raw` as a table, the malformed ones counted."""
    table = _Table([str(i) for i in range(width)], [], [])
    for line, row, rejoined in records(raw, width, tsv):
        if row is None:
            table.malformed += 1
            table.first_malformed = table.first_malformed or line
            continue
        cells: list[str | None] = list(row)
        table.rows.append(cells)
        table.line_numbers.append(line)
        table.rejoined += rejoined
    return table


def _kind(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def _is_header(first: list[str], sample: list[list[str]], wanted: list[str], label_values: set[str]) -> bool:
    """Whether the first row names the columns: it holds a requested or well-known column name, or a column
    that is numeric in every other row is not numeric there (as csv.Sniffer decides)."""
    cells = [c.strip().lower() for c in first]
    if any(w.lower() in cells for w in wanted if w and not w.isdigit()):
        return True
    if any(c in label_values for c in cells):
        return False
    if any(c in TEXT_NAMES or c in LABEL_COLUMN_NAMES for c in cells):
        return True
    return bool(sample) and any(
        not is_number(first[j]) and all(is_number(r[j]) for r in sample) for j in range(len(first))
    )


def json_records(source: str, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, dict[str, object]]]:
    """(line number, object) of every non-blank line of a JSON-lines text; one that is not an object is an error."""
    for i, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise UserError(f"{at(source, i)}not valid JSON ({e})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{at(source, i)}expected a JSON object per line, found {type(obj).__name__}")
        yield i, obj


def _read_jsonl(source: str, text: str) -> _Table:
    columns: dict[str, None] = {}
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    for i, obj in json_records(source, _lines(text)):
        records.append(obj)
        numbers.append(i)
        for key in obj:
            columns.setdefault(str(key), None)
    if not records:
        raise UserError(f"{source}: empty file")
    names = list(columns)
    rows = [[_cell(r.get(n)) for n in names] for r in records]
    return _Table(names, rows, numbers)


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None  # lists and objects are neither texts nor labels


def _column(table: _Table, name: str | None, source: str, flag: str) -> int | None:
    if name is None:
        return None
    if name in table.columns:
        return table.columns.index(name)
    lowered = [c.lower() for c in table.columns]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit() and int(name) < len(table.columns):
        return int(name)
    shown = ", ".join(repr(c) for c in table.columns[:12])
    raise UserError(f"{source}: no column {name!r} for {flag} (columns: {shown})")


def _by_name(table: _Table, names: tuple[str, ...], exclude: int | None = None) -> int | None:
    lowered = [c.lower() for c in table.columns]
    for n in names:
        if n in lowered and lowered.index(n) != exclude:
            return lowered.index(n)
    return None


def _text_column(table: _Table, source: str, label_index: int | None) -> int:
    found = _by_name(table, TEXT_NAMES, exclude=label_index)
    if found is not None:
        return found
    sample = table.rows[:_SNIFF_ROWS]
    best, best_len = None, -1.0
    for j in range(len(table.columns)):
        if j == label_index:
            continue
        values = [r[j] for r in sample]
        if any(v is None for v in values):
            continue
        mean = float(np.mean([len(v or "") for v in values])) if values else 0.0
        if mean > best_len:
            best, best_len = j, mean
    if best is None:
        raise UserError(f"{source}: no text column found; pass --text-column (columns: {', '.join(table.columns)})")
    return best


def _label_column(table: _Table, source: str, label_map: dict[str, str] | None, text_index: int | None) -> int:
    """By name; else the column whose values are most often labels (of the map, or the usual names); else the
    column with the fewest distinct values that is not the text."""
    found = _by_name(table, LABEL_COLUMN_NAMES, exclude=text_index)
    if found is not None:
        return found
    sample = table.rows[:_SNIFF_ROWS]
    candidates = [j for j in range(len(table.columns)) if j != text_index]
    known = label_map if label_map is not None else _STANDARD_VALUES
    scores = {j: sum((r[j] or "").strip().lower() in known for r in sample) for j in candidates}
    if scores and max(scores.values()) > 0:
        return max(scores, key=lambda j: scores[j])
    if label_map is None:
        text = text_index if text_index is not None else _text_column(table, source, None)
        distinct = {j: len({(r[j] or "").strip() for r in sample}) for j in candidates if j != text}
        fits = {j: n for j, n in distinct.items() if 2 <= n <= _MAX_LABEL_VALUES}
        if fits:
            return min(fits, key=lambda j: fits[j])
    raise UserError(
        f"{source}: no column looks like labels; pass --label-column (and --label-map) "
        f"(columns: {', '.join(table.columns)})"
    )


def _kept_rows(
    table: _Table,
    text_index: int,
    label_index: int | None,
    label_map: dict[str, str] | None,
    id_index: int | None = None,
) -> tuple[list[str], list[str], Counter[str], list[str] | None]:
    """The rows with a text (and a label the map knows), the others counted by why they were left out, and the
    kept rows' ids (with `id_index`)."""
    dropped: Counter[str] = Counter()
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] | None = [] if id_index is not None else None
    for row in table.rows:
        value = row[text_index]
        if value is None:
            dropped["text missing or not a string"] += 1
            continue
        if label_index is not None:
            raw = (row[label_index] or "").strip()
            label = raw if label_map is None else label_map.get(raw.lower())
            if not label:
                dropped[f"label {raw!r} not in the label map" if raw else "label missing"] += 1
                continue
            labels.append(label)
        texts.append(value)
        if ids is not None:
            ids.append((row[id_index] or "").strip())  # type: ignore[index]
    return texts, labels, dropped, ids


def _id_column(table: _Table, taken: tuple[int | None, ...]) -> int | None:
    """The tweet-id column: by name, or a column of long numbers that differ row to row (SemEval's first)."""
    found = _by_name(table, ID_COLUMN_NAMES)
    if found is not None and found not in taken:
        return found
    sample = table.rows[:_SNIFF_ROWS]
    for j in range(len(table.columns)):
        values = [(r[j] or "").strip() for r in sample]
        if j not in taken and values and all(_TWEET_ID.fullmatch(v) for v in values) and len(set(values)) > 1:
            return j
    return None


_TWEET_ID = re.compile(r"[0-9]{6,20}")
# Literal escapes left by a JSON round trip (`It\u2019s`, `\"quoted\"`): SemEval's 2013 and 2015 files have them.
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\([\"'/\\])")


def _unwrap(text: str) -> str:
    """A TSV text as its author wrote it: a CSV-style wrapping quote removed (inner quotes undoubled) and literal
    escapes decoded."""
    if len(text) > 1 and text[0] == '"' and (text[-1] == '"' or '""' in text or text.count('"') % 2):
        text = text[1:-1] if text[-1] == '"' else text[1:]
        text = text.replace('""', '"')
    if "\\" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else m[2], text).replace('""', '"')
        if any("\ud800" <= c <= "\udfff" for c in text):  # an emoji escaped as a surrogate pair: join the halves
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _unwrap_all(texts: list[str]) -> tuple[list[str], dict[str, int]]:
    out = [_unwrap(t) for t in texts]
    changed = sum(a != b for a, b in zip(texts, out, strict=True))
    return out, ({"quotes or escapes decoded": changed} if changed else {})


def read_tweets(
    path: str | Path,
    *,
    fmt: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    label_map: dict[str, str] | None = None,
    with_labels: bool = False,
    read: ReadOptions | None = None,
) -> TweetRows:
    """Read texts (and, with `with_labels`, labels: as written, or mapped through `label_map`, a file value in
    lower case -> a label name) from a file or `-` (stdin). `read` gives the encoding and the size limit (and the
    format and columns where those are not given)."""
    read = read or ReadOptions()
    fmt, text_column, label_column = (
        fmt or read.input_format,
        text_column or read.text_column,
        label_column or read.label_column,
    )
    fmt = fmt or guess_format(path) or ("lines" if str(path) == "-" or not with_labels else None)
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--input-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    source, text = _read_text(path, read)
    fmt = _sniffed(fmt, text, with_labels, read.input_format is not None)
    if fmt == "lines":
        if with_labels:
            raise UserError(f"{source}: plain lines have no labels; use a CSV, TSV or JSONL file (--input-format)")
        lines = [line for _, line in _lines(text) if line.strip()]
        if not lines:
            raise UserError(f"{source}: no tweets found (only blank lines)")
        return TweetRows(source, lines, rows_read=len(lines))

    wanted = [c for c in (text_column, label_column) if c]
    values = set(label_map) if label_map is not None else set(_STANDARD_VALUES)
    table = _read_jsonl(source, text) if fmt == "jsonl" else _read_delimited(source, text, fmt, wanted, values)
    text_index, label_index = _columns(table, source, text_column, label_column, label_map, with_labels)
    id_index = _id_column(table, (text_index, label_index)) if with_labels else None
    texts, labels, dropped, ids = _kept_rows(table, text_index, label_index, label_map, id_index)
    repaired = {"record broken over two lines, rejoined": table.rejoined} if table.rejoined else {}
    if fmt == "tsv":
        texts, unwrapped = _unwrap_all(texts)
        repaired.update(unwrapped)
    if table.malformed:
        dropped["malformed row"] += table.malformed
    rows_read = len(table.rows) + table.malformed
    if not texts:
        _no_tweets(source, table, label_index if with_labels else None)
    return TweetRows(
        source,
        texts,
        labels if label_index is not None else None,
        rows_read=rows_read,
        text_column=table.columns[text_index],
        label_column=table.columns[label_index] if label_index is not None else None,
        dropped=dict(dropped.most_common()),
        ids=ids,
        repaired=repaired,
    )


def _columns(
    table: _Table,
    source: str,
    text_column: str | None,
    label_column: str | None,
    label_map: dict[str, str] | None,
    with_labels: bool,
) -> tuple[int, int | None]:
    """The text column and (`with_labels`) the label column: as named, else found by their contents."""
    text_index = _column(table, text_column, source, "--text-column")
    label_index = _column(table, label_column, source, "--label-column") if with_labels else None
    if with_labels and label_index is None:
        label_index = _label_column(table, source, label_map, text_index)
    if text_index is None:
        text_index = _text_column(table, source, label_index)
    if text_index == label_index:
        raise UserError(f"{source}: the text and label columns are the same ({table.columns[text_index]!r})")
    return text_index, label_index


def _sniffed(fmt: str | None, text: str, with_labels: bool, format_given: bool) -> str:
    """The format of a file whose name did not tell, from its first line."""
    first_line = text.split("\n", 1)[0]
    if with_labels and fmt == "lines" and not format_given and "\t" in first_line:
        return "tsv"  # a labelled .txt with tabs (SemEval's files)
    if fmt is None:  # a labelled file with an unknown suffix
        return "jsonl" if text.lstrip()[:1] == "{" else "tsv" if "\t" in first_line else "csv"
    return fmt


def _no_tweets(source: str, table: _Table, label_index: int | None) -> NoReturn:
    """The error for a file of which no row was kept: the labels it has when none was in the map."""
    if label_index is not None:
        seen = sorted({(r[label_index] or "").strip() for r in table.rows[:10_000]})[:8]
        raise UserError(
            f"{source}: no row has a label in the label map (labels seen: {', '.join(map(repr, seen))}); "
            "pass --label-map NAME=VALUE,... (e.g. negative=0,positive=4)"
        )
    raise UserError(f"{source}: no tweets found")


def read_labelled_file(path: str | Path, options: ReadOptions, label_map: dict[str, str] | None) -> TweetRows:
    """`read_tweets` with labels, the file read as `options` say (the label map given parsed, or a default)."""
    return read_tweets(path, label_map=label_map, with_labels=True, read=options)
