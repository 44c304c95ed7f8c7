"""One process at a time per run folder: a lock file created atomically (O_EXCL) holding the owner's pid. A lock
left by a process that is gone (killed) is taken over; one held by a live process is a one-line UserError."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tweetsent.core.errors import UserError

LOCK = ".lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip() or "0") or None
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock for the block (re-entrant in one process: an inner block holds nothing more)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _owner(lock)
            if owner == os.getpid():
                yield
                return
            if owner is not None and _alive(owner):
                raise UserError(
                    f"{folder}: in use by another tweetsent process (pid {owner}); wait for it or use another folder"
                ) from None
            lock.unlink(missing_ok=True)  # its owner is gone: take it over
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise UserError(f"{folder}: could not take the lock {lock}")
    try:
        yield
    finally:
        if _owner(lock) == os.getpid():
            lock.unlink(missing_ok=True)
