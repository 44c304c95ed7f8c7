from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., tuple[int, str, str]]


def test_prepare_prints_summary_and_hits_cache(run_cli: Cli, small_data_dir: Path, tmp_path: Path) -> None:
    args = ("prepare", "--data-dir", str(small_data_dir), "--cache-dir", str(tmp_path / "c"))
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "rows read (train)" in out and "2,000" in out and "built" in out
    assert "dropped: train tweet with a link" in out
    code, out, _ = run_cli(*args, "--json")
    summary = json.loads(out)
    assert summary["cache_hit"] is True
    assert summary["class_counts"]["test"] == [2, 2, 2]
    assert summary["embeddings"]["source"] == "glove.6B.50d" and summary["embeddings"]["dim"] == 50
    assert 0 < summary["embeddings"]["token_coverage"] <= 1


def test_cleaning_switches_reach_the_config(run_cli: Cli, small_data_dir: Path, tmp_path: Path) -> None:
    code, out, err = run_cli(
        "prepare",
        "--data-dir",
        str(small_data_dir),
        "--cache-dir",
        str(tmp_path / "c"),
        "--no-drop-links",
        "--min-count",
        "1",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert "train tweet with a link" not in summary["dropped"]
    assert sum(summary["class_counts"]["train"]) + sum(summary["class_counts"]["val"]) == 2000


def test_missing_data_dir_is_one_line_exit_2(run_cli: Cli, tmp_path: Path) -> None:
    code, out, err = run_cli("prepare", "--data-dir", str(tmp_path / "none"), "--no-download")
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("error: Sentiment140 not found")
    assert "Traceback" not in err + out


def test_bad_file_through_the_installed_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('"0","a","b"\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tweetsent.cli.main",
            "prepare",
            "--train-file",
            str(bad),
            "--test-file",
            str(bad),
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:1: expected 2 columns" in lines[0]


def test_bad_preset(run_cli: Cli) -> None:
    code, _, err = run_cli("prepare", "--preset", "slow")
    assert code == 2 and "--preset must be fast, seed, small, distill or a .toml file" in err
