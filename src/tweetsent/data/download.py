"""Resumable downloads with a progress bar, size/checksum checks and an atomic final rename."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from tweetsent.core.errors import UserError

SENTIMENT140_URL = "https://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip"
CHUNK = 1 << 20


class DownloadError(UserError):
    pass


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _receive(
    response: Any, url: str, part: Path, have: int, expected: int | None, what: str, show_progress: bool
) -> None:
    """The response's bytes appended to `part` (a 206 answer to a Range request) or written over it."""
    resumed = response.status == 206
    if not resumed:
        have = 0
    length = response.headers.get("Content-Length")
    total = have + int(length) if length is not None else expected
    with (
        open(part, "ab" if resumed else "wb") as f,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            disable=not show_progress,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task(what, total=total, completed=have)
        try:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                progress.advance(task, len(chunk))
        except OSError as e:
            raise DownloadError(f"download of {url} interrupted ({e}); run again to resume") from None


def download(
    url: str,
    dest: str | Path,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    timeout: float = 30.0,
    show_progress: bool = True,
) -> Path:
    """Fetch `url` to `dest`. Bytes go to `dest.part` first; a re-run continues it with an HTTP Range request
    (or starts over if the server ignores ranges); `dest` appears only after the size and checksum match."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part is already complete
            response = None
        else:
            raise DownloadError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"download of {url} failed: {reason}") from None
    if response is not None:
        with response:
            _receive(response, url, part, have, expected_size, f"downloading {dest.name}", show_progress)
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        if size > expected_size:
            part.unlink()
        raise DownloadError(f"download of {url}: got {size:,} bytes, expected {expected_size:,}; run again")
    if sha256 is not None and _sha256(part) != sha256:
        part.unlink()
        raise DownloadError(f"download of {url}: sha256 mismatch (file removed); run again")
    os.replace(part, dest)
    return dest
