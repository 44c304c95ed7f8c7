from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TEST_ROWS, tweet_rows, write_csv
from tweetsent.core.errors import UserError
from tweetsent.data.reader import OFFICIAL_TEST, OFFICIAL_TRAIN, SIX_COLUMNS, read_sentiment140


def test_six_column_latin1_official_layout(tmp_path: Path) -> None:
    rows = [*TEST_ROWS, ["0", "9", "d", "q", "u", "na\u00efve caf\u00e9"]]
    raw = read_sentiment140(write_csv(tmp_path / "t.csv", rows, encoding="latin-1"))
    assert raw.rows_read == 7
    assert raw.labels.tolist() == [2, 0, 1, 0, 2, 1, 0]  # 0 -> 0, 2 -> 1, 4 -> 2
    assert raw.texts[-1].as_py() == "na\u00efve caf\u00e9"  # latin-1 bytes decoded, not mangled
    assert raw.html_encoded


def test_six_column_utf8_with_header(tmp_path: Path) -> None:
    rows = tweet_rows(10, six_columns=True)
    rows[0][5] = "\u00fcber \u2603"
    path = write_csv(tmp_path / "s.csv", rows, header=["target", "ids", "date", "flag", "user", "text"])
    raw = read_sentiment140(path)
    assert raw.rows_read == 10
    assert raw.texts[0].as_py() == "\u00fcber \u2603"


def test_two_column_gzip(tmp_path: Path) -> None:
    raw = read_sentiment140(write_csv(tmp_path / "t.csv.gz", tweet_rows(50)))
    assert raw.rows_read == 50
    assert np.bincount(raw.labels).tolist() == [25, 0, 25]
    assert not raw.html_encoded


def test_official_zip_members(tmp_path: Path) -> None:
    train = write_csv(tmp_path / OFFICIAL_TRAIN, tweet_rows(40, six_columns=True), encoding="latin-1")
    test = write_csv(tmp_path / OFFICIAL_TEST, TEST_ROWS, encoding="latin-1")
    archive = tmp_path / "trainingandtestdata.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(train, OFFICIAL_TRAIN)
        zf.write(test, OFFICIAL_TEST)
    assert read_sentiment140(archive, OFFICIAL_TRAIN).rows_read == 40
    assert read_sentiment140(archive, OFFICIAL_TEST).labels.tolist() == [2, 0, 1, 0, 2, 1]


def error_of(path: Path, **kw: str) -> str:
    with pytest.raises(UserError) as info:
        read_sentiment140(path, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("\n")
    assert "empty file" in error_of(tmp_path / "e.csv")


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in error_of(tmp_path / "nope.csv")


def test_wrong_column_count(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", [["0", "x", "text"], ["4", "y", "more"]])
    assert error_of(path) == f"{path}:1: expected 2 columns (polarity,text) or 6 columns " + (
        "(polarity,id,date,query,user,text), found 3"
    )


def test_unknown_label_in_small_file_names_the_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u.csv", [["0", "a"], ["4", "b"], ["7", "c"]])
    assert error_of(path) == f"{path}:3: unknown polarity '7' (expected 0, 2 or 4) (1 bad rows of 3)"


def test_a_few_bad_rows_in_a_large_file_are_skipped_and_reported(tmp_path: Path) -> None:
    rows = tweet_rows(3000)
    rows[100] = ["9", "unknown label"]
    path = tmp_path / "big.csv"
    write_csv(path, rows)
    with open(path, "a") as f:
        f.write('"4","two","extra"\n')  # one malformed row, last line
    raw = read_sentiment140(path)
    assert raw.rows_read == 3001
    assert len(raw) == 2999
    assert raw.skipped == {"malformed row": 1, "unknown label": 1}
    assert raw.first_skipped_at == {"malformed row": f"{path}:3001", "unknown label": f"{path}:101"}


def test_mostly_malformed_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('"0","a"\n"4","b","c"\n"4","d","e"\n')
    assert error_of(path).startswith(f"{path}:2: expected 2 columns, found 3")


def test_undecodable_bytes_in_utf8_two_column_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b'"0","fine"\n"4","caf\xe9 broken"\n')
    assert error_of(path).startswith(f"{path}:2: undecodable byte 0xe9 for UTF-8")
    assert read_sentiment140(path, encoding="latin-1").texts[1].as_py() == "caf\u00e9 broken"


def test_undecodable_bytes_with_explicit_utf8_on_six_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "six.csv", [*TEST_ROWS, ["0", "1", "d", "q", "u", "café"]], encoding="latin-1")
    assert error_of(path, encoding="utf-8").startswith(f"{path}:7: undecodable byte")


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b'"0","hello"\n' * 1000)
    path = tmp_path / "t.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt gzip" in error_of(path)


def test_truncated_zip(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(OFFICIAL_TEST, '"0","hello"\n' * 1000)
    archive.write_bytes(archive.read_bytes()[:200])
    assert "truncated or corrupt zip" in error_of(archive, member=OFFICIAL_TEST)


def test_zip_without_the_member(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("other.csv", '"0","hello"\n')
    assert "no testdata.manual.2009.06.14.csv inside the zip" in error_of(archive, member=OFFICIAL_TEST)


def test_column_names_are_the_official_ones() -> None:
    assert SIX_COLUMNS == ["polarity", "id", "date", "query", "user", "text"]
