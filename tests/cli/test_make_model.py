"""`make model` without the shared data names the missing file in one line and stops before any work."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_model_names_the_missing_file(tmp_path: Path) -> None:
    (tmp_path / "semeval2017_task4a").mkdir()
    done = subprocess.run(
        ["make", "-C", str(ROOT), "model", f"SHARED={tmp_path}", f"MODEL_RUNS={tmp_path / 'runs'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "***" in line]
    assert len(errors) == 1 and f"{tmp_path}/semeval2017_task4a/twitter-2013dev-A.txt is missing" in errors[0]
    assert not (tmp_path / "runs").exists()
