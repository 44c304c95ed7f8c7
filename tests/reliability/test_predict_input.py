"""What `tweetsent predict --input` reads and what it writes (fault 8), and what a killed `predict -o` left beside
its output file (fault 9b)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.reliability.conftest import Cli, assert_one_line_error

CAFE = ["café au lait, love it", "so sad, no café today"]
# C0 controls but tab and newline, and DEL: a terminal or a CSV reader may act on them.
CONTROLS = {chr(c) for c in [*range(0, 9), *range(11, 32), 127]}


def predict(run_cli: Cli, run: Path, source: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("predict", str(run), "--input", str(source), "-f", "csv", "--device", "cpu", *extra)


def csv_texts(out: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(out)))
    assert rows and rows[0][:2] == ["text", "label"], out[:500]
    return [row[0] for row in rows[1:]]


@pytest.fixture
def bad_byte_file(tmp_path: Path) -> Path:
    """Three lines of UTF-8 text; the second holds one byte that is not UTF-8."""
    path = tmp_path / "tweets.txt"
    path.write_bytes(CAFE[0].encode() + b"\n" + b"one bad \xff byte\n" + CAFE[1].encode() + b"\n")
    return path


def test_invalid_utf8_names_its_line(run_cli: Cli, base_run: Path, bad_byte_file: Path) -> None:
    """Fault 8a: one byte that is not UTF-8 is an error naming its line (exit 2), not a reason to read the whole
    file as latin-1 (which turned every "café" into "cafÃ©")."""
    code, out, err = predict(run_cli, base_run, bad_byte_file)
    assert "cafÃ©" not in out
    assert_one_line_error(code, err, 2, f"{bad_byte_file}:2")


def test_invalid_utf8_replaced_on_request(run_cli: Cli, base_run: Path, bad_byte_file: Path) -> None:
    """Fault 8a: with `--encoding-errors replace` the bad byte is replaced and the valid lines come out intact."""
    code, out, err = predict(run_cli, base_run, bad_byte_file, "--encoding-errors", "replace")
    assert code == 0, err[-3000:]
    assert csv_texts(out) == [CAFE[0], "one bad \ufffd byte", CAFE[1]]


@pytest.mark.parametrize("kind", ["executable", "nul-bytes"])
def test_binary_input_is_refused(run_cli: Cli, base_run: Path, tmp_path: Path, kind: str) -> None:
    """Fault 8b: a binary file (an executable, or text full of NUL bytes) is refused as binary (exit 2), not
    predicted line by line."""
    path = tmp_path / "input.txt"
    if kind == "executable":
        shutil.copyfile(shutil.which("ls") or "/bin/ls", path)
    else:
        path.write_bytes(b"happy\x00days\x00\x00\n" * 200)
    code, _, err = predict(run_cli, base_run, path)
    assert_one_line_error(code, err, 2, "binary")


def test_empty_input_is_an_error(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 8c: an empty input file is an error (exit 2), not zero predictions and exit 0."""
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    code, _, err = predict(run_cli, base_run, path)
    assert_one_line_error(code, err, 2, str(path))


def test_decompression_bomb_is_refused(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 8d: a small gzip that decompresses to more than --max-input-mb (here 1 MB; 5 MB of zeros and newlines
    in a 5 KB file) is refused with exit 2 naming the limit, found while decompressing. (The default limit, 256 MB,
    is not exercised: a 300 MB payload is too slow for this suite.)"""
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress((b"0" * 1023 + b"\n") * 5 * 1024, compresslevel=9))
    assert path.stat().st_size < 64 * 1024
    code, _, err = predict(run_cli, base_run, path, "--max-input-mb", "1")
    assert_one_line_error(code, err, 2, str(path), "1 MB")


def test_control_characters_are_not_copied_to_the_output(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 8e: NUL and other control characters in the texts (here from JSON escapes) are stripped from the CSV
    output; the rest of each text is kept."""
    texts = ["nul\u0000 inside", "\u001b[31mred\u001b[0m happy", "bell\u0007 and\u0008 back", "del\u007f sad"]
    path = tmp_path / "tweets.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    code, out, err = predict(run_cli, base_run, path)
    assert code == 0, err[-3000:]
    got = csv_texts(out)
    assert len(got) == len(texts)
    assert not CONTROLS & set(out), sorted(hex(ord(c)) for c in CONTROLS & set(out))
    assert got == ["nul inside", "[31mred[0m happy", "bell and back", "del sad"]


def test_predict_output_removes_what_a_killed_write_left(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 9b: a `predict -o OUT` killed mid-write (kill -9) leaves `.OUT.*.tmp` beside OUT; the next
    `predict -o OUT` removes it."""
    folder = tmp_path / "out"
    folder.mkdir()
    stale = folder / ".out.csv.x81kq2.tmp"
    stale.write_text("text,label,negative,positive\nhalf a ro")
    code, _, err = run_cli("predict", str(base_run), "so happy", "-f", "csv", "-o", str(folder / "out.csv"))
    assert code == 0, err[-3000:]
    assert (folder / "out.csv").is_file()
    assert sorted(p.name for p in folder.iterdir()) == ["out.csv"]
