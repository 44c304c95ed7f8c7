"""`predict --input` streams: the same rows as the in-memory path whatever the chunk size, Parquet in and out, and
`--resume` after a kill giving the file an uninterrupted run gives."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tweetsent
from tests.inference.fixtures import TEXTS, make_run

Cli = Callable[..., tuple[int, str, str]]
LINES = [f"{t} {i}" for i in range(7) for t in TEXTS if t]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


@pytest.fixture
def tweets(tmp_path: Path) -> Path:
    path = tmp_path / "tweets.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def small_chunks(monkeypatch: pytest.MonkeyPatch, size: int = 5) -> None:
    from tweetsent.cli import predict_command

    monkeypatch.setattr(predict_command, "STREAM_CHUNK", size)


def test_chunked_output_equals_the_api(
    run_cli: Cli, run_dir: Path, tweets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, whole, err = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", "csv")
    assert code == 0, err
    small_chunks(monkeypatch)
    code, chunked, _ = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", "csv")
    assert chunked == whole
    rows = list(csv.DictReader(io.StringIO(chunked)))
    clf = tweetsent.load(run_dir)
    assert [r["text"] for r in rows] == LINES
    assert [r["label"] for r in rows] == [p.label for p in clf.predict(LINES)]
    probs = np.array([[float(r[n]) for n in clf.labels.names] for r in rows])
    np.testing.assert_allclose(probs, clf.predict_proba(LINES), atol=1e-6)


def test_parquet_in_and_out(run_cli: Cli, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_chunks(monkeypatch)
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": list(range(len(LINES))), "tweet": LINES}), source)
    out = tmp_path / "out.parquet"
    code, _, err = run_cli("predict", str(run_dir), "-i", str(source), "-f", "parquet", "-o", str(out))
    assert code == 0 and f"{len(LINES):,} predictions written" in err
    table = pq.read_table(out)
    assert table.column_names == ["text", "label", "negative", "neutral", "positive"]
    assert table.column("text").to_pylist() == LINES
    np.testing.assert_allclose(
        np.stack([table.column(n).to_numpy() for n in ("negative", "neutral", "positive")], 1),
        tweetsent.load(run_dir).predict_proba(LINES),
        atol=1e-6,
    )
    code, _, err = run_cli("predict", str(run_dir), "-i", str(source), "--text-column", "body", "-f", "csv")
    assert code == 2 and "no column 'body'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("predict", str(run_dir), "good day", "-f", "parquet")
    assert code == 2 and "give --output FILE" in err


def test_resume_after_a_kill_gives_the_uninterrupted_file(
    run_cli: Cli, run_dir: Path, tweets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweetsent.inference.prediction_files import PredictionFile, parts_folder

    small_chunks(monkeypatch)
    for fmt in ("csv", "jsonl", "parquet"):
        whole = tmp_path / f"whole.{fmt}"
        assert run_cli("predict", str(run_dir), "-i", str(tweets), "-f", fmt, "-o", str(whole))[0] == 0
        out = tmp_path / f"out.{fmt}"
        write, calls = PredictionFile.write, []

        def killed_after_three(self: PredictionFile, *args: object, write=write, calls=calls) -> None:  # type: ignore[no-untyped-def]
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt  # as a kill: the process stops between two chunks
            write(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(PredictionFile, "write", killed_after_three)
        code, _, _ = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", fmt, "-o", str(out))
        assert code == 130 and not out.exists() and len(list(parts_folder(out).glob("part-*"))) == 3
        monkeypatch.setattr(PredictionFile, "write", write)
        code, _, err = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", fmt, "-o", str(out), "--resume")
        assert code == 0 and "resuming after 15 tweets" in err, err
        assert (
            out.read_bytes() == whole.read_bytes() if fmt != "parquet" else pq.read_table(out) == pq.read_table(whole)
        )
        assert not parts_folder(out).exists()


def test_resume_refuses_another_input_or_format(
    run_cli: Cli, run_dir: Path, tweets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweetsent.inference.prediction_files import PredictionFile

    small_chunks(monkeypatch)
    out = tmp_path / "out.csv"

    def killed(self: PredictionFile, *args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(PredictionFile, "write", killed)
    assert run_cli("predict", str(run_dir), "-i", str(tweets), "-f", "csv", "-o", str(out))[0] == 130
    monkeypatch.undo()
    small_chunks(monkeypatch)
    code, _, err = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", "jsonl", "-o", str(out), "--resume")
    assert code == 2 and "begun with another format" in err and len(err.strip().splitlines()) == 1
    tweets.write_text("\n".join(LINES[:10]) + "\n")
    code, _, err = run_cli("predict", str(run_dir), "-i", str(tweets), "-f", "csv", "-o", str(out), "--resume")
    assert code == 2 and "begun with another input" in err
    code, _, err = run_cli("predict", str(run_dir), "-i", "-", "-o", str(out), "--resume")
    assert code == 2 and "not stdin" in err
