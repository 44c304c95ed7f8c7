"""Where data and caches live: `--data-dir`, else $TWEETSENT_DATA_DIR, else a per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir(explicit: str | Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("TWEETSENT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tweetsent")) / "sentiment140"


def cache_dir(explicit: str | Path | None = None) -> Path:
    """Prepared datasets and embedding matrices; separate from the data dir, which may be read-only."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("TWEETSENT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tweetsent")) / "prepared"


def glove_dir(explicit: str | Path | None = None) -> Path:
    """Downloaded GloVe files; kept apart from the data dir, which may be read-only."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("TWEETSENT_GLOVE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tweetsent")) / "glove"
