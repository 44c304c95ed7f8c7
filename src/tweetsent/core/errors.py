"""User-facing errors: the CLI prints them as one line and exits with code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A mistake in the user's input (file, flag, folder) that the user can fix."""

    exit_code = 2


def at(path: str | Path, line: int | None = None) -> str:
    """Location prefix `file:line: ` used by every input error."""
    return f"{path}:{line}: " if line is not None else f"{path}: "
