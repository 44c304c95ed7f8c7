"""Where things live: an explicit flag, else an environment variable, else a per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def _folder(explicit: str | Path | None, env: str, default: str) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_cache_dir("tweetsent")) / default


def data_dir(explicit: str | Path | None = None) -> Path:
    """Sentiment140 files: `--data-dir`, else $TWEETSENT_DATA_DIR."""
    return _folder(explicit, "TWEETSENT_DATA_DIR", "sentiment140")


def cache_dir(explicit: str | Path | None = None) -> Path:
    """Prepared datasets and embedding matrices; separate from the data dir, which may be read-only."""
    return _folder(explicit, "TWEETSENT_CACHE_DIR", "prepared")


def packaged_model() -> Path:
    """The model that ships inside the package (`tweetsent.load()` with no argument); $TWEETSENT_PACKAGED_MODEL
    points elsewhere (tests, a rebuilt model not yet copied in)."""
    value = os.environ.get("TWEETSENT_PACKAGED_MODEL")
    return Path(value).expanduser() if value else Path(__file__).resolve().parent.parent / "packaged"


def glove_dir(explicit: str | Path | None = None) -> Path:
    """Downloaded GloVe files."""
    return _folder(explicit, "TWEETSENT_GLOVE_DIR", "glove")
