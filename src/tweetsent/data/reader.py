"""Read Sentiment140 in every form it comes in: the official zip, the 6-column CSVs (latin-1 or UTF-8,
with or without a header), gzip-compressed CSVs, and the 2-column `polarity,text` variant.

Parsing is Arrow's multi-threaded CSV reader; a few malformed rows in a large file are skipped, counted and
reported; a file that is mostly wrong stops with one line naming the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tweetsent.core.errors import UserError, at

SIX_COLUMNS = ["polarity", "id", "date", "query", "user", "text"]
TWO_COLUMNS = ["polarity", "text"]
POLARITY_TO_LABEL = {"0": 0, "2": 1, "4": 2}
OFFICIAL_TRAIN = "training.1600000.processed.noemoticon.csv"
OFFICIAL_TEST = "testdata.manual.2009.06.14.csv"
# A few broken rows in a big file are skipped and reported; more than this share stops the read.
MAX_BAD_ROW_SHARE = 0.001


@dataclass
class RawTweets:
    """Labels (0 negative, 1 neutral, 2 positive) and raw texts of one file, plus what was skipped."""

    source: str
    labels: np.ndarray
    texts: pa.Array
    rows_read: int
    html_encoded: bool  # original 6-column files carry HTML entities; the 2-column variant is decoded
    skipped: dict[str, int] = field(default_factory=dict)
    first_skipped_at: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


# Decompressed input larger than this is refused (a 200 KB gzip bomb can unpack to gigabytes).
MAX_INPUT_BYTES = 2 << 30
_CHUNK = 16 << 20


def _capped(stream: IO[bytes] | gzip.GzipFile, path: Path, limit: int) -> bytes:
    parts, size = [], 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise UserError(f"{at(path)}decompresses to more than {limit / 2**20:,.0f} MB (the limit on input size)")
    return b"".join(parts)


def read_bytes(path: Path, member: str | None = None, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The decompressed bytes of a plain, .gz or .zip file (for a zip, `member` names the file inside), at most
    `max_bytes` of them: more is a UserError, found while decompressing, before the memory is spent."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                name = _zip_member(names, member)
                if name is None:
                    raise UserError(f"{at(path)}no {member or 'CSV'} inside the zip (it holds: {', '.join(names)})")
                with zf.open(name) as stream:
                    return _capped(stream, path, max_bytes)
        with open(path, "rb") as f:
            magic = f.read(2)
        if path.suffix == ".gz" or magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as stream:
                return _capped(stream, path, max_bytes)
        with open(path, "rb") as f:
            return _capped(f, path, max_bytes)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise UserError(f"{at(path)}truncated or corrupt gzip file ({e})") from None
    except zipfile.BadZipFile as e:
        raise UserError(f"{at(path)}truncated or corrupt zip file ({e})") from None


def _zip_member(names: list[str], wanted: str | None) -> str | None:
    csvs = [n for n in names if n.endswith(".csv")]
    if wanted is None:
        return csvs[0] if len(csvs) == 1 else None
    return next((n for n in names if n.rsplit("/", 1)[-1] == wanted), None)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(path: Path, data: bytes, encoding: str, n_columns: int | None) -> bytes:
    """UTF-8 bytes for Arrow. `auto`: UTF-8 if the file is valid UTF-8, else latin-1 for the original 6-column
    files (that is their encoding); the 2-column variant is UTF-8 by definition, so bad bytes there are an error."""
    enc = encoding.lower().replace("_", "-")
    if enc in ("latin-1", "latin1", "iso-8859-1"):
        return data.decode("latin-1").encode("utf-8")
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError as e:
        if enc == "auto" and n_columns == 6:
            return data.decode("latin-1").encode("utf-8")
        raise UserError(
            f"{at(path, _line_of(data, e.start))}undecodable byte 0x{data[e.start]:02x} for UTF-8 "
            f"(expected UTF-8 text; pass --encoding latin-1 if the file is latin-1)"
        ) from None


def _sniff(path: Path, data: bytes) -> tuple[int, bool]:
    """Column count and whether the first line is a header."""
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    row = next(csv.reader([first]))
    n = len(row)
    if n not in (2, 6):
        raise UserError(
            f"{at(path, 1)}expected 2 columns (polarity,text) or 6 columns "
            f"(polarity,id,date,query,user,text), found {n}"
        )
    has_header = not row[0].strip().lstrip("-").isdigit()
    return n, has_header


def _first_bad_line(data: bytes, n_columns: int, header: bool, bad_label: bool) -> tuple[int, str]:
    """Slow path, used only to name the line of an error: rescan with Python's csv module."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")))
    for i, row in enumerate(reader, start=1):
        if header and i == 1:
            continue
        if not bad_label and len(row) != n_columns:
            return reader.line_num, f"expected {n_columns} columns, found {len(row)}"
        if bad_label and len(row) == n_columns and row[0].strip() not in POLARITY_TO_LABEL:
            return reader.line_num, f"unknown polarity {row[0]!r} (expected 0, 2 or 4)"
    return 0, "unknown"


def _parse(label: str, data: bytes, names: list[str], has_header: bool) -> tuple[pa.Table, list[int | None]]:
    """The polarity and text columns, and the line numbers of malformed rows (skipped, counted by the caller)."""
    malformed: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        malformed.append(row.number)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=int(has_header), block_size=16 << 20),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=["polarity", "text"],
                column_types={"polarity": pa.string(), "text": pa.string()},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as e:
        raise UserError(f"{label}: not a readable CSV ({str(e).splitlines()[0]})") from None
    return table, malformed


def read_sentiment140(path: str | Path, member: str | None = None, encoding: str = "auto") -> RawTweets:
    """Read one Sentiment140 CSV in any of its forms; raises UserError with file and line on bad input."""
    path = Path(path)
    data = read_bytes(path, member)
    label = f"{path}!{member}" if member and path.suffix == ".zip" else str(path)
    if not data.strip():
        raise UserError(f"{label}: empty file (expected Sentiment140 CSV rows: polarity,...,text)")
    n_columns, has_header = _sniff(Path(label), data)
    data = _decode(Path(label), data, encoding, n_columns)
    table, malformed = _parse(label, data, SIX_COLUMNS if n_columns == 6 else TWO_COLUMNS, has_header)
    polarity = pc.utf8_trim_whitespace(table.column("polarity"))
    known = pc.is_in(polarity, value_set=pa.array(list(POLARITY_TO_LABEL))).to_numpy(zero_copy_only=False)
    n_unknown = int((~known).sum())
    rows_read = table.num_rows + len(malformed)
    n_bad = len(malformed) + n_unknown
    if n_bad and n_bad > MAX_BAD_ROW_SHARE * rows_read:
        line, what = _first_bad_line(data, n_columns, has_header, bad_label=not malformed)
        raise UserError(f"{at(label, line)}{what} ({n_bad:,} bad rows of {rows_read:,})")

    skipped: dict[str, int] = {}
    first: dict[str, str] = {}
    if malformed:
        skipped["malformed row"] = len(malformed)
        numbered = [n for n in malformed if n is not None and n > 0]
        first_line = numbered[0] if numbered else _first_bad_line(data, n_columns, has_header, bad_label=False)[0]
        first["malformed row"] = f"{label}:{first_line}"
    if n_unknown:
        skipped["unknown label"] = n_unknown
        line, _ = _first_bad_line(data, n_columns, has_header, bad_label=True)
        first["unknown label"] = f"{label}:{line}"
        table = table.filter(pa.array(known))
        polarity = polarity.filter(pa.array(known))

    # '0' -> 0, '2' -> 1, '4' -> 2: the digit's code point minus '0', halved.
    codes = pc.cast(polarity, pa.int8()).to_numpy(zero_copy_only=False)
    labels = (codes // 2).astype(np.int8)
    return RawTweets(
        source=label,
        labels=labels,
        texts=table.column("text").combine_chunks(),
        rows_read=rows_read,
        html_encoded=n_columns == 6,
        skipped=skipped,
        first_skipped_at=first,
    )
