"""Package versions recorded in every run's config.json and in comparison reports."""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform

__version__ = "0.1.0"
PACKAGES = ("torch", "lightning", "pyarrow", "numpy", "scikit-learn", "vaderSentiment", "matplotlib", "transformers")


def package_versions() -> dict[str, str]:
    """tweetsent, Python and the installed PACKAGES, from package metadata: importing Lightning only to read its
    version costs seconds."""
    out = {"tweetsent": __version__, "python": platform.python_version()}
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[package] = importlib.metadata.version(package)
    return out
