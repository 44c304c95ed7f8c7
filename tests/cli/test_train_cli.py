from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "gru"], "unknown model 'gru': choose one of lstm, bilstm, pyramid"),
        (["train", "lstm", "--preset", "slow"], "--preset must be fast, seed, small, distill or a .toml file"),
        (["train", "lstm", "--batch-size", "0"], "--batch-size must be positive"),
        (["train", "lstm", "--epochs", "-1"], "--epochs must be positive"),
        (["train", "lstm", "--accelerator", "tpu"], "--accelerator must be cpu, gpu or auto"),
    ],
)
def test_bad_flags_one_line(run_cli: Cli, args: list[str], message: str) -> None:
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err and err.strip().count("\n") == 0 and "Traceback" not in out + err


def test_missing_or_corrupt_run_dir(run_cli: Cli, tmp_path: Path) -> None:
    code, _, err = run_cli("evaluate", str(tmp_path / "nope"))
    assert code == 2 and "no such run directory" in err
    (tmp_path / "run").mkdir()
    code, _, err = run_cli("evaluate", str(tmp_path / "run"))
    assert code == 2 and "not a run directory" in err
    (tmp_path / "run" / "config.json").write_text("{broken")
    code, _, err = run_cli("evaluate", str(tmp_path / "run"))
    assert code == 2 and "corrupt run config" in err and err.strip().count("\n") == 0


def test_resume_without_checkpoint_and_reuse_of_a_run_dir(run_cli: Cli, tmp_path: Path) -> None:
    code, _, err = run_cli("train", "lstm", "--out", str(tmp_path / "new"), "--resume")
    assert code == 2 and "nothing to resume" in err
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text("{}")
    code, _, err = run_cli("train", "lstm", "--out", str(tmp_path / "old"))
    assert code == 2 and "stopped before its first checkpoint" in err and "--resume" in err
    (tmp_path / "old" / "checkpoints").mkdir()
    (tmp_path / "old" / "checkpoints" / "last.ckpt").write_bytes(b"")
    code, _, err = run_cli("train", "lstm", "--out", str(tmp_path / "old"))
    assert code == 2 and "already holds a run" in err


def test_a_labelled_file_trains_with_the_small_preset_unless_told(run_cli: Cli, tmp_path: Path) -> None:
    """`train --data` defaults to the preset for a few thousand hand-labelled tweets; --preset still decides."""
    import json

    rows = [f"{w} {w} day {i},{label}" for label, w in (("positive", "love"), ("negative", "hate")) for i in range(30)]
    data = tmp_path / "hand.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    tiny = ["--max-steps", "2", "--batch-size", "8", "--precision", "32-true", "--no-progress", "--min-count", "1"]
    for preset, out in ((None, "default"), ("fast", "fast")):
        args = ["train", "lstm", "--data", str(data), "--out", str(tmp_path / out), *tiny]
        code, _, err = run_cli(*args, *(["--preset", preset] if preset else []))
        assert code == 0, err
        config = json.loads((tmp_path / out / "config.json").read_text())["train"]
        assert config["preset"] == (preset or "small")
        assert config["class_weights"] == ("balanced" if preset is None else None)


def test_seeds_train_one_run_each_and_summarize_them(run_cli: Cli, tmp_path: Path) -> None:
    """`train --seeds 2`: OUT/seed3 and OUT/seed4 (from --seed 3), each an ordinary run with its seed, and
    OUT/seeds.json with the mean and sample standard deviation of their figures; the same command again keeps
    the finished runs."""
    import json

    rows = [f"{w} {w} day {i},{label}" for label, w in (("positive", "love"), ("negative", "hate")) for i in range(30)]
    data = tmp_path / "hand.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "runs"
    args = ["train", "lstm", "--data", str(data), "--out", str(out), "--seeds", "2", "--seed", "3", "--max-steps", "3"]
    args += ["--batch-size", "8", "--precision", "32-true", "--no-progress", "--min-count", "1"]
    code, stdout, err = run_cli(*args)
    assert code == 0, err
    assert "mean ± sd over seeds 3, 4" in stdout
    summaries = []
    for seed in (3, 4):
        assert json.loads((out / f"seed{seed}" / "config.json").read_text())["train"]["seed"] == seed
        summaries.append(json.loads((out / f"seed{seed}" / "summary.json").read_text()))
    result = json.loads((out / "seeds.json").read_text())
    assert result["seeds"] == [3, 4] and result["runs"] == [str(out / "seed3"), str(out / "seed4")]
    a, b = (s["val"]["accuracy"] for s in summaries)
    assert result["val"]["accuracy"] == pytest.approx((a + b) / 2)
    assert result["val"]["sd"]["accuracy"] == pytest.approx(abs(a - b) / 2**0.5)
    code, stdout, err = run_cli(*args)
    assert code == 0 and stdout.count("finished run in") == 2
    code, _, err = run_cli("train", "lstm", "--data", str(data), "--out", str(tmp_path / "none"), "--seeds", "0")
    assert code == 2 and "--seeds must be at least 1" in err
