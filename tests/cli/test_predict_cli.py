"""`tweetsent predict`: every input form (arguments, text/CSV/TSV/JSONL files, stdin), every output format,
atomic --output, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run

Cli = Callable[..., tuple[int, str, str]]
# Non-empty and free of newlines: what every input form can carry.
LINES = [t for t in TEXTS if t]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_matches_api(run_dir: Path, rows: list[dict[str, str]] | list[dict], texts: list[str]) -> None:
    expected = tweetsent.load(run_dir).predict(texts)
    assert [r["text"] for r in rows] == texts
    for row, p in zip(rows, expected, strict=True):
        assert row["label"] == p.label
        probs = row["probabilities"] if "probabilities" in row else {k: row[k] for k in p.probabilities}
        np.testing.assert_allclose(
            [float(probs[k]) for k in p.probabilities], list(p.probabilities.values()), atol=1e-6
        )


def test_texts_as_arguments_csv_and_jsonl_equal_the_api(run_cli: Cli, run_dir: Path) -> None:
    code, out, err = run_cli("predict", str(run_dir), *LINES, "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == "text,label,negative,neutral,positive"
    assert_matches_api(run_dir, parse_csv(out), LINES)
    code, out, err = run_cli("predict", str(run_dir / "model"), *LINES, "-f", "jsonl")
    assert code == 0, err
    assert_matches_api(run_dir, [json.loads(line) for line in out.splitlines()], LINES)


def test_table_output(run_cli: Cli, run_dir: Path) -> None:
    code, out, _ = run_cli("predict", str(run_dir), "so happy today", "I hate mondays")
    assert code == 0
    labels = [p.label for p in tweetsent.load(run_dir).predict(["so happy today", "I hate mondays"])]
    for text, label in zip(["so happy today", "I hate mondays"], labels, strict=True):
        line = next(line for line in out.splitlines() if text in line)
        assert label in line and "%" in line
    assert all(name in out for name in ("negative", "neutral", "positive"))


@pytest.mark.parametrize("form", ["txt", "csv", "csv-named", "tsv", "jsonl", "gz"])
def test_input_files(run_cli: Cli, run_dir: Path, tmp_path: Path, form: str) -> None:
    extra: list[str] = []
    if form in ("txt", "gz"):
        path = tmp_path / "tweets.txt"
        path.write_text("\n".join(LINES[:3]) + "\n\n" + "\n".join(LINES[3:]) + "\n")  # a blank line is skipped
        if form == "gz":
            import gzip

            path = tmp_path / "tweets.txt.gz"
            path.write_bytes(gzip.compress(("\n".join(LINES) + "\n").encode()))
    elif form.startswith("csv"):
        path = tmp_path / "tweets.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "body_of_tweet", "when"])
            writer.writerows([i, t, "today"] for i, t in enumerate(LINES))
        extra = ["--text-column", "body_of_tweet" if form == "csv-named" else "1"]
    elif form == "tsv":
        path = tmp_path / "tweets.tsv"
        path.write_text("".join(f"{i}\t{t}\n" for i, t in enumerate(LINES)))
        extra = ["--text-column", "1"]
    else:
        path = tmp_path / "tweets.jsonl"
        path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(LINES)))
    code, out, err = run_cli("predict", str(run_dir), "--input", str(path), "--format", "csv", *extra)
    assert code == 0, err
    assert_matches_api(run_dir, parse_csv(out), LINES)


def test_text_column_found_without_the_flag(run_cli: Cli, run_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,tweet\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(LINES)))
    code, out, _ = run_cli("predict", str(run_dir), "-i", str(path), "-f", "csv")
    assert code == 0 and [r["text"] for r in parse_csv(out)] == LINES


def test_stdin(run_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TWEETSENT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "tweetsent.cli.main", "predict", str(run_dir), "--input", "-", "--format", "jsonl"],
        input="\n".join(LINES) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert_matches_api(run_dir, [json.loads(line) for line in result.stdout.splitlines()], LINES)


def test_output_file_is_written_atomically(run_cli: Cli, run_dir: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "out" / "predictions.csv"
    code, out, err = run_cli("predict", str(run_dir), *LINES, "-f", "csv", "--output", str(out_file))
    assert code == 0 and out == "" and "written to" in err
    assert_matches_api(run_dir, parse_csv(out_file.read_text()), LINES)
    # A failing run (bad input) leaves the previous file whole and no temporary file behind.
    before = out_file.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{broken\n')
    code, _, err = run_cli("predict", str(run_dir), "-i", str(bad), "-f", "csv", "-o", str(out_file))
    assert code == 2 and f"{bad}:2:" in err
    assert out_file.read_bytes() == before
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["predictions.csv"]


def test_output_failing_midway_leaves_nothing(run_cli: Cli, run_dir: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tweetsent.inference import prediction_files

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(prediction_files, "_table", broken)
    out_file = tmp_path / "o.txt"
    code, _, err = run_cli("predict", str(run_dir), "good day", "-o", str(out_file))
    assert code == 74 and "disk full" in err and len(err.strip().splitlines()) == 1  # EX_IOERR, one line
    assert list(tmp_path.glob("*o.txt*")) == []


def test_large_input_shows_progress_and_keeps_order(
    run_cli: Cli, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweetsent.cli import predict_command
    from tweetsent.inference import classifier

    monkeypatch.setattr(predict_command, "PROGRESS_FROM_BYTES", 10)
    monkeypatch.setattr(predict_command, "STREAM_CHUNK", 11)
    monkeypatch.setattr(classifier, "CHUNK", 7)
    texts = [f"{t} {i}" for i in range(6) for t in LINES]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(texts))
    code, out, err = run_cli("predict", str(run_dir), "-i", str(path), "-f", "csv")
    assert code == 0, err
    assert_matches_api(run_dir, parse_csv(out), texts)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to classify"),
        (["good", "--input", "x.txt"], "not both"),
        (["good", "--format", "xml"], "--format must be"),
        (["good", "--neutral-margin", "2"], "between 0 and 1"),
        (["--input", "missing.txt"], "missing.txt: file not found"),
        (["--input", "t.csv", "--text-column", "nope"], "no column 'nope'"),
        (["--input", "t.csv", "--input-format", "xls"], "--input-format must be"),
    ],
)
def test_user_errors_are_one_line(run_cli: Cli, run_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "t.csv").write_text("id,text\n1,hello\n")
    args = [str(tmp_path / a) if a in ("x.txt", "missing.txt", "t.csv") else a for a in args]
    code, _, err = run_cli("predict", str(run_dir), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_model(run_cli: Cli, run_dir: Path, damage: str) -> None:
    target = run_dir
    if damage == "missing":
        target = run_dir.parent / "no-such-run"
    else:
        (run_dir / "model" / "model.safetensors").write_bytes(b"garbage")
    code, _, err = run_cli("predict", str(target), "good day")
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(target) in err
