"""Find the Sentiment140 files in a data folder, downloading the official zip when they are missing."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tweetsent.core.errors import UserError
from tweetsent.data.download import SENTIMENT140_URL, DownloadError, download
from tweetsent.data.reader import OFFICIAL_TEST, OFFICIAL_TRAIN

OFFICIAL_ZIP = "trainingandtestdata.zip"
TRAIN_NAMES = (
    OFFICIAL_TRAIN,
    OFFICIAL_TRAIN + ".gz",
    "training.1600000.polarity_text.csv.gz",
    "training.1600000.polarity_text.csv",
)
TEST_NAMES = (OFFICIAL_TEST, OFFICIAL_TEST + ".gz")


@dataclass(frozen=True)
class DataFile:
    path: Path
    member: str | None = None  # the file inside a zip

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)


@dataclass(frozen=True)
class DataFiles:
    train: DataFile
    test: DataFile


def _first(folder: Path, names: tuple[str, ...]) -> DataFile | None:
    return next((DataFile(folder / n) for n in names if (folder / n).is_file()), None)


def _check_zip(path: Path) -> None:
    """The zip's own CRC-32 of every member is the integrity check (Stanford publishes no checksum)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = {n.rsplit("/", 1)[-1] for n in zf.namelist()}
    except zipfile.BadZipFile as e:
        raise UserError(f"{path}: truncated or corrupt zip file ({e})") from None
    if bad is not None:
        raise UserError(f"{path}: CRC check failed for {bad}: the download is damaged; delete it and run again")
    missing = {OFFICIAL_TRAIN, OFFICIAL_TEST} - names
    if missing:
        raise UserError(f"{path}: the zip lacks {', '.join(sorted(missing))}")


def locate(
    folder: Path,
    *,
    train_file: str | Path | None = None,
    test_file: str | Path | None = None,
    allow_download: bool = True,
) -> DataFiles:
    """Training and test files: explicit paths first, then files in `folder`, then the official zip
    (downloaded into `folder` if it is not there and `allow_download`)."""
    train = DataFile(Path(train_file)) if train_file else _first(folder, TRAIN_NAMES)
    test = DataFile(Path(test_file)) if test_file else _first(folder, TEST_NAMES)
    for f in (train, test):
        if f is not None and not f.path.is_file():
            raise UserError(f"{f.path}: file not found")
    if train is not None and test is not None:
        return DataFiles(train, test)

    zip_path = folder / OFFICIAL_ZIP
    if not zip_path.is_file():
        where = f"put {OFFICIAL_ZIP} (or {OFFICIAL_TRAIN} and {OFFICIAL_TEST}) in {folder} or pass --data-dir"
        if not allow_download:
            raise UserError(f"Sentiment140 not found: {where}")
        url = os.environ.get("TWEETSENT_SENTIMENT140_URL", SENTIMENT140_URL)
        try:
            download(url, zip_path)
        except DownloadError as e:
            raise UserError(f"Sentiment140 not found and {e}: {where}") from None
        except OSError as e:
            raise UserError(f"Sentiment140 not found and cannot write to {folder} ({e.strerror}): {where}") from None
    _check_zip(zip_path)
    return DataFiles(
        train or DataFile(zip_path, OFFICIAL_TRAIN),
        test or DataFile(zip_path, OFFICIAL_TEST),
    )
