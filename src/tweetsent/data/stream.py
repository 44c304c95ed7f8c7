"""Tweets from a file of any size, chunk by chunk, in constant memory: what `predict --input` reads.

The formats and rules are data/labelled.py's (plain lines, CSV, TSV, JSON lines; a header and the text column found
the same way, from the first rows), plus Parquet (`--text-column`, default: a column named like a text). A `.gz` or
`.zip` file is decompressed as it is read; one that expands past `max_input_mb` (default: 100 times its own size,
at least 1 GiB) is refused as a decompression bomb. `position()` tells how far into the file reading has got, for a
progress bar.
"""

from __future__ import annotations

import gzip
import io
import itertools
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from tweetsent.core.errors import UserError, at
from tweetsent.data.labelled import (
    _STANDARD_VALUES,
    ENCODINGS,
    TEXT_NAMES,
    ReadOptions,
    _cell,
    _columns,
    _read_jsonl,
    _unwrap,
    delimited_table,
    guess_format,
    json_records,
    raw_rows,
    records,
)

STREAM_FORMATS = ("lines", "csv", "tsv", "jsonl", "parquet")
_SAMPLE_ROWS = 1000  # the rows the header, the width and the text column are decided on
_BOMB_RATIO = 100


@dataclass
class TweetStream:
    """An open input: its name, format and text column, and counts of what was skipped so far."""

    source: str
    fmt: str
    text_column: str | None
    size: int | None  # bytes on disk (None: stdin)
    dropped: Counter[str] = field(default_factory=Counter)
    _raw: IO[bytes] | None = None
    _texts: Iterator[str] = field(default_factory=lambda: iter(()))

    def position(self) -> int:
        """Bytes of the file read so far (of the compressed file, for a .gz or .zip)."""
        try:
            return self._raw.tell() if self._raw is not None else 0
        except (OSError, ValueError):
            return 0

    def chunks(self, size: int, skip: int = 0) -> Iterator[list[str]]:
        """The texts in lists of `size`, in file order, after the first `skip` of them."""
        texts = itertools.islice(self._texts, skip, None)
        while chunk := list(itertools.islice(texts, size)):
            yield chunk


def open_tweets(path: str | Path, read: ReadOptions) -> TweetStream:
    """Open `path` (or `-`, stdin) for reading its texts; format, header and column errors are raised here."""
    fmt = read.input_format or guess_format(path) or ("parquet" if str(path).endswith(".parquet") else "lines")
    if fmt not in STREAM_FORMATS:
        raise UserError(f"--input-format must be one of {', '.join(STREAM_FORMATS)}, not {fmt!r}")
    if str(path) != "-" and Path(path).is_dir():
        raise UserError(f"{path}: is a folder, not a file")
    if str(path) != "-" and not Path(path).exists():
        raise UserError(f"{path}: file not found")
    if fmt == "parquet":
        return _open_parquet(Path(path), read.text_column)
    source = "<stdin>" if str(path) == "-" else str(path)
    raw, data = _open_bytes(path, read)
    text = _decoded(source, data, read)
    stream = TweetStream(source, fmt, None, None if raw is sys.stdin.buffer else Path(path).stat().st_size, _raw=raw)
    if fmt == "lines":
        stream._texts = _line_texts(source, text)
    elif fmt == "jsonl":
        stream._texts = _jsonl_texts(stream, text, read.text_column)
    else:
        stream._texts = _delimited_texts(stream, text, read.text_column)
    return stream


def _open_bytes(path: str | Path, read: ReadOptions) -> tuple[IO[bytes], IO[bytes]]:
    """(the file as stored, its decompressed bytes)."""
    if str(path) == "-":
        return sys.stdin.buffer, sys.stdin.buffer
    p = Path(path)
    raw = open(p, "rb")  # noqa: SIM115 (stays open while the stream is read)
    magic = raw.read(2)
    raw.seek(0)
    if p.suffix not in (".gz", ".zip") and magic != b"\x1f\x8b":
        return raw, raw
    cap = read.max_input_mb << 20 if read.max_input_mb else max(1 << 30, _BOMB_RATIO * p.stat().st_size)
    try:
        inner: Any
        if p.suffix == ".zip":
            archive = zipfile.ZipFile(raw)  # stays open while its member is read
            members = [n for n in archive.namelist() if not n.endswith("/")]
            if len(members) != 1:
                raise UserError(f"{p}: a zip of one file is read; this one holds {len(members)}")
            inner = archive.open(members[0])
        else:
            inner = gzip.GzipFile(fileobj=raw)
    except zipfile.BadZipFile as e:
        raise UserError(f"{at(p)}truncated or corrupt zip file ({e})") from None
    return raw, io.BufferedReader(_Capped(inner, str(p), cap), 1 << 20)


class _Capped(io.RawIOBase):
    """A decompressed stream refused past `cap` bytes, and its decompression errors as one line."""

    def __init__(self, inner: IO[bytes], source: str, cap: int) -> None:
        self.inner, self.source, self.cap, self.seen = inner, source, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as e:
            raise UserError(f"{at(self.source)}truncated or corrupt compressed file ({e})") from None
        self.seen += len(data)
        if self.seen > self.cap:
            raise UserError(
                f"{self.source}: decompresses to more than {self.cap >> 20:,} MB (a decompression bomb?); "
                "raise --max-input-mb to read it"
            )
        buffer[: len(data)] = data
        return len(data)


def _decoded(source: str, data: IO[bytes], read: ReadOptions) -> io.TextIOWrapper:
    if read.encoding not in ENCODINGS or read.encoding_errors not in ("strict", "replace"):
        raise UserError("--encoding must be utf-8 or latin-1 and --encoding-errors strict or replace")
    buffered = data if isinstance(data, io.BufferedReader) else io.BufferedReader(cast(Any, data), 1 << 20)
    head = buffered.peek(65536)[:65536]
    if not head.strip():
        raise UserError(f"{source}: empty input (expected tweets: one per line, or CSV, TSV or JSON lines)")
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if b"\x00" in head or controls > len(head) / 20:
        raise UserError(f"{source}: binary data, not text (UTF-16 files: save them as UTF-8)")
    encoding = "latin-1" if read.encoding == "latin-1" else "utf-8-sig"
    # newline="": the csv module needs the raw line ends; the lines format splits on "\n" only.
    return io.TextIOWrapper(buffered, encoding=encoding, errors=read.encoding_errors, newline="")


def _numbered_lines(source: str, text: io.TextIOWrapper) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) split on "\\n" only, as data/labelled.py splits."""
    number = 0
    pending = ""
    try:
        for piece in text:  # newline="" splits on \r too: join what a lone \r cut
            pending += piece
            if not pending.endswith("\n"):
                continue
            number += 1
            yield number, pending[:-1].removesuffix("\r")
            pending = ""
    except UnicodeDecodeError as e:  # in the block after the lines read: count the block's own
        line = number + 1 + bytes(e.object[: e.start]).count(b"\n")
        raise UserError(
            f"{at(source, line)}byte 0x{e.object[e.start]:02x} is not UTF-8 (pass --encoding-errors replace to "
            "replace such bytes, or --encoding latin-1 for a latin-1 file)"
        ) from None
    if pending:
        yield number + 1, pending.removesuffix("\r")


def _line_texts(source: str, text: io.TextIOWrapper) -> Iterator[str]:
    return (line for _, line in _numbered_lines(source, text) if line.strip())


def _jsonl_texts(stream: TweetStream, text: io.TextIOWrapper, text_column: str | None) -> Iterator[str]:
    lines = _numbered_lines(stream.source, text)
    sample = list(itertools.islice(lines, _SAMPLE_ROWS))
    table = _read_jsonl(stream.source, "\n".join(line for _, line in sample))
    name = table.columns[_columns(table, stream.source, text_column, None, None, False)[0]]
    stream.text_column = name

    def texts() -> Iterator[str]:
        for _, obj in json_records(stream.source, itertools.chain(sample, lines)):
            value = _cell(obj.get(name))
            if value is None:
                stream.dropped["text missing or not a string"] += 1
                continue
            yield value

    return texts()


def _delimited_texts(stream: TweetStream, text: io.TextIOWrapper, text_column: str | None) -> Iterator[str]:
    tsv = stream.fmt == "tsv"
    rows = raw_rows(stream.source, text, tsv)
    sample = list(itertools.islice(rows, _SAMPLE_ROWS))
    if not sample:
        raise UserError(f"{stream.source}: empty file")
    wanted = [text_column] if text_column else []
    table = delimited_table(stream.source, list(sample), tsv, wanted, set(_STANDARD_VALUES))
    index = _columns(table, stream.source, text_column, None, None, False)[0]
    stream.text_column = table.columns[index]

    def texts() -> Iterator[str]:
        body = itertools.chain(sample[1:] if table.header else sample, rows)
        for _, row, _ in records(body, len(table.columns), tsv):
            if row is None:
                stream.dropped["malformed row"] += 1
                continue
            yield _unwrap(row[index]) if tsv else row[index]

    return texts()


def _open_parquet(path: Path, text_column: str | None) -> TweetStream:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"{path}: not a readable Parquet file ({e})") from None
    names = parquet.schema_arrow.names
    name = text_column or next((n for n in names if n.lower() in TEXT_NAMES), None)
    if name is None or name not in names:
        wanted = f"no column {text_column!r}" if text_column else "no text column"
        raise UserError(f"{path}: {wanted} (columns: {', '.join(names)}); pass --text-column NAME")
    if not pa.types.is_string(parquet.schema_arrow.field(name).type) and not pa.types.is_large_string(
        parquet.schema_arrow.field(name).type
    ):
        raise UserError(f"{path}: column {name!r} holds {parquet.schema_arrow.field(name).type}, not text")
    stream = TweetStream(str(path), "parquet", name, None)

    def texts() -> Iterator[str]:
        for batch in parquet.iter_batches(batch_size=8192, columns=[name]):
            for value in batch.column(0).to_pylist():
                if value is None:
                    stream.dropped["text missing or not a string"] += 1
                    continue
                yield value

    stream._texts = texts()
    return stream
