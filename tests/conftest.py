"""Shared fixtures: small Sentiment140-shaped files the tests write, and the real data when it is there."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.data.prepare import PrepareConfig, Prepared, prepare
from tweetsent.data.sources import DataFiles, locate

NEG_WORDS = ["sad", "bad", "awful", "hate", "tired", "sick", "miss", "cry", "ugh", "worst"]
POS_WORDS = ["happy", "good", "great", "love", "awesome", "fun", "nice", "thanks", "best", "yay"]


def tweet_rows(n: int, six_columns: bool = False, seed: int = 0) -> list[list[str]]:
    """n alternating negative/positive rows with a few links, mentions and hashtags."""
    import random

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
        rows.append(
            [polarity, str(1000 + i), "Mon May 11 2009", "NO_QUERY", f"user{i}", text]
            if six_columns
            else [polarity, text]
        )
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


TEST_ROWS = [
    ["4", "3", "d", "kindle2", "u", "I loooove my Kindle2. it&#39;s fantastic &amp; fun"],
    ["0", "4", "d", "q", "u", "so sad and tired today http://bit.ly/x"],
    ["2", "5", "d", "q", "u", "reading the news"],
    ["0", "6", "d", "q", "u", "I hate this, worst day"],
    ["4", "7", "d", "q", "u", "@someone great game www.espn.com"],
    ["2", "8", "d", "q", "u", "going to work"],
]


def write_small_data_dir(folder: Path) -> Path:
    """`folder` with a 2,000-row 2-column training file (gz) and a 6-row official-style test file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "training.1600000.polarity_text.csv.gz", tweet_rows(2000))
    write_csv(folder / "testdata.manual.2009.06.14.csv", TEST_ROWS, encoding="latin-1")
    return folder


@pytest.fixture
def small_data_dir(tmp_path: Path) -> Path:
    """A Sentiment140-shaped data folder of the fixture's tweets (see `write_small_data_dir`)."""
    return write_small_data_dir(tmp_path / "s140")


@contextlib.contextmanager
def module_caches(folder: Path) -> Iterator[Path]:
    """For module-scoped fixtures: caches under `folder` (the autouse fixture is per test), and one torch thread
    (the machine's cores are shared: one is faster here, and the same maths)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWEETSENT_CACHE_DIR", str(folder / "cache"))
        mp.setenv("TWEETSENT_GLOVE_DIR", str(folder / "glove"))
        yield folder
    torch.set_num_threads(threads)


@pytest.fixture
def small_prepared(small_data_dir: Path, tmp_path: Path) -> Prepared:
    return prepare(locate(small_data_dir), PrepareConfig(min_count=1), tmp_path / "cache")


@pytest.fixture
def small_dataset(small_data_dir: Path, tmp_path: Path) -> Dataset:
    """The fixture files as a Sentiment140 dataset (every word kept)."""
    return load_dataset(DataConfig(data_dir=str(small_data_dir), min_count=1), tmp_path / "cache")


def _real_dir() -> Path | None:
    value = os.environ.get("TWEETSENT_DATA_DIR")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real Sentiment140 folder; skipped when absent, a failure under TWEETSENT_REQUIRE_DATA=1."""
    folder = _real_dir()
    needed = ["training.1600000.polarity_text.csv.gz", "testdata.manual.2009.06.14.csv"]
    if folder is None or not all((folder / n).is_file() for n in needed):
        message = f"real Sentiment140 files ({', '.join(needed)}) not found in TWEETSENT_DATA_DIR={folder}"
        if os.environ.get("TWEETSENT_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def shared_data_dir(real_data_dir: Path) -> Path:
    """The shared data folder above Sentiment140's (SemEval-2016 and Sanders beside it); each test names its
    files, which must be there under TWEETSENT_REQUIRE_DATA=1."""
    folder = real_data_dir.parent
    for name in (
        "semeval2016_task4a/train.tsv",
        "semeval2016_task4a/test.tsv",
        "sanders_twitter_corpus/full-corpus.csv",
    ):
        if not (folder / name).is_file():
            message = f"{folder / name} not found (the shared data beside TWEETSENT_DATA_DIR)"
            if os.environ.get("TWEETSENT_REQUIRE_DATA") == "1":
                pytest.fail(message)
            pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def real_prepared(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The full training set prepared once per test session (about 15 s cold)."""
    return prepare(locate(real_data_dir, allow_download=False), PrepareConfig(), tmp_path_factory.mktemp("cache"))


def invoke_cli(*args: str) -> tuple[int, str, str]:
    """The console entry point, in-process: (exit code, stdout, stderr). For module-scoped fixtures; tests take
    the `run_cli` fixture."""
    from contextlib import redirect_stderr, redirect_stdout

    from tweetsent.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        mp.setattr("sys.argv", ["tweetsent", *args])
        mp.setenv("COLUMNS", "200")
        try:
            run()
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    from tweetsent.cli.main import run

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["tweetsent", *args])
        monkeypatch.setenv("COLUMNS", "200")
        code = 0
        try:
            run()
        except SystemExit as e:
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(tmp_path / "glove"))
    yield


__all__ = ["DataFiles", "invoke_cli", "module_caches", "tweet_rows", "write_csv", "write_small_data_dir"]
