"""Fixtures of the reliability tests. They use only what every tweetsent version has: the command line (in a
subprocess, or in-process through `tweetsent.cli.main.run`), HTTP and files on disk, so the same tests run
against an older tweetsent put first on PYTHONPATH. Hence nothing here imports tests/conftest.py (which imports
modules of the current layout); its small Sentiment140-shaped files are written here the same way."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # the tiny BERT is a local folder; nothing may touch the network
os.environ.setdefault("COLUMNS", "200")

NEG_WORDS = ["sad", "bad", "awful", "hate", "tired", "sick", "miss", "cry", "ugh", "worst"]
POS_WORDS = ["happy", "good", "great", "love", "awesome", "fun", "nice", "thanks", "best", "yay"]
TEST_ROWS = [
    ["4", "3", "d", "kindle2", "u", "I loooove my Kindle2. it&#39;s fantastic &amp; fun"],
    ["0", "4", "d", "q", "u", "so sad and tired today http://bit.ly/x"],
    ["2", "5", "d", "q", "u", "reading the news"],
    ["0", "6", "d", "q", "u", "I hate this, worst day"],
    ["4", "7", "d", "q", "u", "@someone great game www.espn.com"],
    ["2", "8", "d", "q", "u", "going to work"],
]
# A labelled file for `evaluate --data` (header: text,label; the label names as the models know them).
EVAL_ROWS = [
    ["so happy today, love it", "positive"],
    ["I hate mondays. worst day", "negative"],
    ["thanks, this is great", "positive"],
    ["ugh sick and tired", "negative"],
    ["awesome fun", "positive"],
    ["bad awful sad", "negative"],
]
TRAIN_STEPS = 10
EVAL_EVERY = 5
Cli = Callable[..., tuple[int, str, str]]


def tweet_rows(n: int, seed: int = 0) -> list[list[str]]:
    """n alternating negative/positive `polarity,text` rows with a few links, mentions and hashtags."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        polarity = "0" if i % 2 == 0 else "4"
        words = NEG_WORDS if polarity == "0" else POS_WORDS
        text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
        if i % 10 == 3:
            text = f"@friend{i} {text} #day"
        if i % 20 == 7:
            text += " http://t.co/x"
        rows.append([polarity, text])
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", header: list[str] | None = None) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def make_data_dir(folder: Path) -> Path:
    """A Sentiment140-shaped folder: 2,000 two-column training rows (gz) and the 6-row official-style test file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "training.1600000.polarity_text.csv.gz", tweet_rows(2000))
    write_csv(folder / "testdata.manual.2009.06.14.csv", TEST_ROWS, encoding="latin-1")
    return folder


def train_args(data_dir: Path, out: Path, *extra: str, model: str = "lstm", steps: int = TRAIN_STEPS) -> list[str]:
    """`tweetsent train` arguments of a tiny run (flags every version has)."""
    return [
        "train",
        model,
        "--data-dir",
        str(data_dir),
        "--max-steps",
        str(steps),
        "--batch-size",
        "32",
        "--eval-every",
        str(EVAL_EVERY),
        "--precision",
        "32-true",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def tweetsent(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m tweetsent.cli.main ARGS` in a subprocess (the tweetsent that PYTHONPATH selects)."""
    return subprocess.run(
        [sys.executable, "-m", "tweetsent.cli.main", *args],
        env={**os.environ, **(env or {})},
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(code: int, err: str, expected_code: int = 2, *words: str, progress: bool = False) -> None:
    """Exit `expected_code` with one line on stderr (no traceback) that contains every one of `words`; with
    `progress`, the command's progress lines may come before that last line."""
    shown = err.strip()[-3000:]
    assert "Traceback" not in err, f"a traceback instead of one line:\n{shown}"
    assert code == expected_code, f"exit {code}, expected {expected_code}; stderr:\n{shown}"
    lines = [line for line in err.strip().splitlines() if line.strip()]
    if progress:
        lines = lines[-1:] if lines and "error" in lines[-1] else lines
    assert len(lines) == 1, f"{len(lines)} lines on stderr, expected one:\n{shown}"
    for word in words:
        assert word in lines[0], f"{word!r} not in the message: {shown}"


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """This process's umask (which the subprocesses started in the block inherit)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of the subprocesses that build the shared runs: caches of their own."""
    root = tmp_path_factory.mktemp("env")
    return {"TWEETSENT_CACHE_DIR": str(root / "cache"), "TWEETSENT_GLOVE_DIR": str(root / "glove")}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("data") / "s140")


@pytest.fixture(scope="session")
def eval_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("evaldata") / "labelled.csv", EVAL_ROWS, header=["text", "label"])


@pytest.fixture(scope="session")
def base_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, session_env: dict[str, str]) -> Path:
    """A finished 10-step LSTM run (checkpoints at steps 5 and 10), trained once by the command line. Tests copy
    it before they change anything."""
    out = tmp_path_factory.mktemp("base") / "lstm"
    with umask(0o022):
        done = tweetsent(*train_args(data_dir, out), env=session_env)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def bert_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, session_env: dict[str, str]) -> Path:
    """A 4-step run of a tiny randomly initialised BERT (tests/bert_support.py), trained by the command line."""
    from tests.bert_support import make_tiny_bert

    root = tmp_path_factory.mktemp("bert")
    tiny = make_tiny_bert(root / "tiny")
    out = root / "run"
    args = train_args(data_dir, out, model="bert", steps=4)
    args += ["--pretrained", str(tiny), "--train-size", "200", "--val-size", "40", "--max-length", "16"]
    with umask(0o022):
        done = tweetsent(*args, env=session_env)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[None]:
    """Caches of each test's own; the small data folder as the default Sentiment140 folder (an older tweetsent
    looks there when it resumes a run, where the current one reads the run's config)."""
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(tmp_path / "glove"))
    monkeypatch.setenv("TWEETSENT_DATA_DIR", str(data_dir))
    yield


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run the console entry point in-process; returns (exit code, stdout, stderr). An exception that escapes the
    entry point (a traceback for a user) is returned as exit code 1 with the traceback as stderr."""
    import traceback

    from tweetsent.cli.main import run

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["tweetsent", *args])
        monkeypatch.setenv("COLUMNS", "200")
        code, trace = 0, ""
        try:
            run()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception:
            code, trace = 1, traceback.format_exc()
        out, err = capsys.readouterr()
        return code, out, err + trace

    return invoke
