"""`tweetsent train` and its run folder: one process at a time (fault 4), a run stopped before its first
checkpoint (fault 6), what a killed write left behind (fault 9b), and `--resume` (faults 9c, 9d, 9e)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.reliability.conftest import EVAL_EVERY, TRAIN_STEPS, Cli, assert_one_line_error, copy_run, train_args


def resume_args(run: Path, *extra: str) -> list[str]:
    """`train --resume` with no other settings (a resumed run keeps its own)."""
    return ["train", "lstm", "--out", str(run), "--resume", "--no-progress", *extra]


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a live process (`sleep 60`, standing in for a first `train` still running); killed at the end."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        yield sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_second_train_into_a_locked_run_folder_is_refused(
    run_cli: Cli, data_dir: Path, tmp_path: Path, live_pid: int
) -> None:
    """Fault 4: while `--out/.lock` names a live process, a second `train` into that --out exits 2 saying the
    folder is in use, and leaves the folder (and the lock) as they were."""
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text(f"{live_pid}\n")
    code, _, err = run_cli(*train_args(data_dir, out))
    assert_one_line_error(code, err, 2, "in use")
    assert sorted(p.name for p in out.iterdir()) == [".lock"]
    assert (out / ".lock").read_text().strip() == str(live_pid)


def test_lock_of_a_dead_process_is_taken_over(run_cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    """Fault 4: a lock naming a process that is gone (a killed run) is taken over: training succeeds, and the lock
    naming the dead pid is gone afterwards (released by the run that took it)."""
    out = tmp_path / "run"
    out.mkdir()
    pid = dead_pid()
    (out / ".lock").write_text(f"{pid}\n")
    code, _, err = run_cli(*train_args(data_dir, out))
    assert code == 0, err[-3000:]
    assert (out / "summary.json").is_file() and (out / "model" / "config.json").is_file()
    lock = out / ".lock"
    assert not lock.exists() or lock.read_text().strip() != str(pid), "the dead process's lock was left in place"


def test_run_stopped_before_its_first_checkpoint_starts_over(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 6: a run stopped before step --eval-every has config.json but no checkpoints/last.ckpt. A plain
    restart exits 2 with a message naming --resume, and `train ... --out SAME --resume` (what it says) starts the
    run over and finishes it (the old code had no way on: --resume said there was nothing to resume)."""
    run = copy_run(base_run, tmp_path / "run")
    for name in ("checkpoints", "model", "plots"):
        if (run / name).exists():
            shutil.rmtree(run / name)
    (run / "summary.json").unlink()
    data_dir = Path(json.loads((run / "config.json").read_text())["data"]["data_dir"])

    code, _, err = run_cli(*train_args(data_dir, run))
    assert_one_line_error(code, err, 2, "--resume")
    code, _, err = run_cli(*resume_args(run))
    assert code == 0, err[-3000:]
    assert (run / "summary.json").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    assert json.loads((run / "summary.json").read_text())["steps"] == 10


def test_resume_removes_what_a_killed_write_left(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 9b: a run killed (kill -9) while writing its model folder and summary leaves `.model.*.tmp` and
    `.summary.json.*.tmp` behind; the later `train --resume` that finishes the run removes them."""
    run = copy_run(base_run, tmp_path / "run")
    (run / "summary.json").unlink()
    stale_dir = run / ".model.k9x2z1.tmp"
    shutil.copytree(run / "model", stale_dir)
    (stale_dir / "model.safetensors").write_bytes(b"\0" * 100)  # torn weights
    (run / ".summary.json.a81jz.tmp").write_text('{"mo')
    code, _, err = run_cli(*resume_args(run))
    assert code == 0, err[-3000:]
    assert (run / "summary.json").is_file()
    left = sorted(str(p.relative_to(run)) for p in run.rglob(".*.tmp"))
    assert not left, f"left behind: {left}"


def test_resume_refuses_flags_it_would_ignore(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 9c: `train --resume --lr 0.1` exits 2 naming --lr (the old code resumed and silently ignored it)."""
    run = copy_run(base_run, tmp_path / "run")
    before = (run / "checkpoints" / "last.ckpt").read_bytes()
    code, _, err = run_cli(*resume_args(run, "--lr", "0.1", "--eval-every", str(EVAL_EVERY)))
    assert_one_line_error(code, err, 2, "--lr")
    assert "-> 0.1" in err  # named old -> new; the equal --eval-every is not named
    assert "eval-every" not in err
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == before


def test_resume_accepts_the_runs_own_command(run_cli: Cli, base_run: Path, tmp_path: Path, data_dir: Path) -> None:
    """The first command again with --resume added (every flag equal to the run's settings) continues the run."""
    run = copy_run(base_run, tmp_path / "run")
    code, _, err = run_cli(*train_args(data_dir, run, "--resume", "--max-steps", str(TRAIN_STEPS + 2)))
    assert code == 0, err
    assert json.loads((run / "summary.json").read_text())["steps"] == TRAIN_STEPS + 2


def test_resume_reads_checkpoints_weights_only(
    run_cli: Cli, base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault 9d: `--resume` reads its checkpoints (last.ckpt, then the best one) with weights_only=True, so a
    checkpoint can hold tensors and plain values but nothing that runs code when it is read. The old code left it
    to torch's default for last.ckpt and passed weights_only=False for the best checkpoint."""
    run = copy_run(base_run, tmp_path / "run")
    real_load = torch.load
    calls: list[object] = []

    def load(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("weights_only", "not given"))
        return real_load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch, "load", load)
    code, _, err = run_cli(*resume_args(run, "--max-steps", "11"))
    assert code == 0, err[-3000:]
    assert len(calls) >= 2, f"{len(calls)} checkpoint reads: expected last.ckpt and the best checkpoint"
    assert calls == [True] * len(calls), f"weights_only of each torch.load: {calls}"


def test_fit_seconds_add_up_across_a_resume(run_cli: Cli, base_run: Path, tmp_path: Path) -> None:
    """Fault 9e: summary.json's fit_seconds of a resumed run counts every part: at least the first part's."""
    run = copy_run(base_run, tmp_path / "run")
    first = json.loads((run / "summary.json").read_text())["fit_seconds"]
    code, _, err = run_cli(*resume_args(run, "--max-steps", "11"))
    assert code == 0, err[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 11
    assert summary["fit_seconds"] >= first, (summary["fit_seconds"], first)
