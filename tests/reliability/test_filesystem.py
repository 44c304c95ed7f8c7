"""File-system faults while a command writes (fault 5): a read-only file system, a full disk. The tests run as
root, for whom chmod stops no write, so the faults are simulated in-process: the temporary files and folders that
atomic writes start with cannot be created (read-only), or the final rename fails (full). Every command answers
with one line naming the path and exit 74 (EX_IOERR), and leaves nothing half-written."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from tests.reliability.conftest import Cli, assert_one_line_error, copy_run, train_args

FAULTS = {"read-only": (errno.EROFS, "Read-only file system"), "disk-full": (errno.ENOSPC, "No space left on device")}


def _inside(path: object, root: Path) -> bool:
    if path is None:
        return False
    return os.path.abspath(os.fspath(path)).startswith(os.path.abspath(root) + os.sep) or os.path.abspath(
        os.fspath(path)
    ) == os.path.abspath(root)


def break_writes(monkeypatch: pytest.MonkeyPatch, root: Path, fault: str) -> None:
    """Make every atomic write below `root` fail as `fault` would: no temporary file or folder can be created
    there (read-only), or the rename that publishes it fails (full)."""
    number, text = FAULTS[fault]
    if fault == "read-only":
        for name in ("mkstemp", "mkdtemp"):
            real = getattr(tempfile, name)

            def fake(*args: object, _real: object = real, **kwargs: object) -> object:
                folder = kwargs.get("dir", args[2] if len(args) > 2 else None)
                if _inside(folder, root):
                    raise OSError(number, text, os.fspath(folder))  # type: ignore[arg-type]
                return _real(*args, **kwargs)  # type: ignore[operator]

            monkeypatch.setattr(tempfile, name, fake)
    else:
        real_replace = os.replace

        def replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
            if _inside(dst, root):
                raise OSError(number, text, os.fspath(dst))  # type: ignore[arg-type]
            real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "replace", replace)


def written_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("fault", list(FAULTS))
def test_train(run_cli: Cli, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    """Fault 5: `train` into a folder that cannot be written exits 74 with one line naming it; no file is left
    in the run folder (no config.json, no temporary file, no lock)."""
    out = tmp_path / "run"
    break_writes(monkeypatch, out, fault)
    code, _, err = run_cli(*train_args(data_dir, out))
    assert_one_line_error(code, err, 74, str(out))
    assert written_files(out) == []


@pytest.mark.parametrize("fault", list(FAULTS))
def test_predict_output(
    run_cli: Cli, base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Fault 5: `predict -o FILE` where FILE cannot be written exits 74 with one line naming it (or 2, where the
    check of the output location catches it before any work); FILE is not created, nothing is left beside it."""
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "predictions.csv"
    break_writes(monkeypatch, folder, fault)
    code, _, err = run_cli("predict", str(base_run), "so happy", "so sad", "-f", "csv", "-o", str(target))
    assert code in (2, 74), (code, err[-3000:])
    assert_one_line_error(code, err, code, str(folder))
    assert written_files(folder) == []


@pytest.mark.parametrize("fault", list(FAULTS))
def test_evaluate(
    run_cli: Cli, base_run: Path, eval_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Fault 5: `evaluate --data` whose results folder (RUN/eval/NAME) cannot be written exits 74 with one line
    naming it, and leaves no results folder, no temporary file."""
    run = copy_run(base_run, tmp_path / "run")
    before = written_files(run)
    break_writes(monkeypatch, run / "eval", fault)
    code, _, err = run_cli("evaluate", str(run), "--data", str(eval_file), "--name", "x", "--device", "cpu")
    assert_one_line_error(code, err, 74, str(run / "eval"))
    assert written_files(run) == before


@pytest.mark.parametrize("fault", list(FAULTS))
def test_compare(
    run_cli: Cli, base_run: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """Fault 5: `compare` whose report folder cannot be written exits 74 with one line naming it (after its
    progress lines), and leaves no half-written report (no results.json, report.md or temporary file there)."""
    out = tmp_path / "report"
    break_writes(monkeypatch, out, fault)
    code, _, err = run_cli(
        "compare", "--runs", str(base_run), "--no-baselines", "--out", str(out), "--data-dir", str(data_dir)
    )
    assert_one_line_error(code, err, 74, str(out), progress=True)
    assert written_files(out) == []
