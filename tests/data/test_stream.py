"""The streaming reader gives the same texts as the whole-file reader, in constant memory, for every format."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tweetsent.core.errors import UserError
from tweetsent.data.labelled import ReadOptions, read_tweets
from tweetsent.data.stream import open_tweets

TEXTS = [
    "what a great day",
    'she said "no way", then left',
    "line one\nline two",
    "comma, inside",
    "emoji 😀 and ünïcode",
    "  leading spaces",
]


def streamed(path: Path, chunk: int = 2, **options: object) -> list[str]:
    stream = open_tweets(path, ReadOptions(**options))  # type: ignore[arg-type]
    return [t for c in stream.chunks(chunk) for t in c]


def write_csv(path: Path, header: bool) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(["id", "text"])
        writer.writerows([[i, t] for i, t in enumerate(TEXTS)])


@pytest.mark.parametrize("header", [True, False])
def test_csv_matches_the_whole_file_reader(tmp_path: Path, header: bool) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, header)
    assert streamed(path) == read_tweets(path).texts
    assert streamed(path)[2] == "line one\nline two"  # a quoted line break stays inside its record


def test_tsv_with_a_broken_record_and_wrapping_quotes(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    rows = ['1\t"quoted tweet"\tpositive', "2\tbroken", "over two lines\tnegative", "3\tplain \\u2019s\tneutral"]
    path.write_text("\n".join(rows) + "\n")
    assert streamed(path, text_column="1") == read_tweets(path, text_column="1").texts
    assert streamed(path, text_column="1") == ["quoted tweet", "broken over two lines", "plain \u2019s"]


def test_jsonl_lines_and_gzip(tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(TEXTS)))
    assert streamed(jsonl) == TEXTS
    lines = tmp_path / "t.txt.gz"
    with gzip.open(lines, "wt", encoding="utf-8") as f:
        f.write("one\r\n\ntwo\rstill two\nthree")
    assert streamed(lines) == read_tweets(lines).texts == ["one", "two\rstill two", "three"]


def test_a_zip_of_one_file(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner/tweets.txt", "\n".join(TEXTS[:2]) + "\n")
    assert streamed(path, input_format="lines") == TEXTS[:2]


def test_parquet_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"tweet": [*TEXTS, None], "n": list(range(len(TEXTS) + 1))}), path)
    stream = open_tweets(path, ReadOptions())
    assert [t for c in stream.chunks(3) for t in c] == TEXTS and stream.dropped["text missing or not a string"] == 1
    with pytest.raises(UserError, match=r"no column 'body' \(columns: tweet, n\)"):
        open_tweets(path, ReadOptions(text_column="body"))
    with pytest.raises(UserError, match="holds int64, not text"):
        open_tweets(path, ReadOptions(text_column="n"))


def test_skip_resumes_after_the_texts_already_done(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("\n".join(f"tweet {i}" for i in range(10)))
    stream = open_tweets(path, ReadOptions())
    assert list(stream.chunks(4, skip=6)) == [["tweet 6", "tweet 7", "tweet 8", "tweet 9"]]


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"ha\n" * (1 << 20))  # 3 MB that compress to a few KB
    stream = open_tweets(path, ReadOptions(max_input_mb=1))
    with pytest.raises(UserError, match="decompression bomb"):
        list(stream.chunks(100_000))
    assert len(streamed(path, chunk=100_000, max_input_mb=0)) == 1 << 20  # the default guard: 100x, at least 1 GiB


def test_bad_bytes_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(UserError, match=r"t.txt:3: byte 0xff is not UTF-8"):
        streamed(path)
    assert streamed(path, encoding_errors="replace")[2] == "bad \ufffd byte"
