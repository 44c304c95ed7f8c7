import math
from pathlib import Path

import pytest

from tweetsent.core.errors import UserError
from tweetsent.core.runs import MetricsRow, RunFolder


def test_paths_keep_the_names_of_a_run_folder(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    assert run.path == tmp_path
    assert run.config == tmp_path / "config.json"
    assert run.summary == tmp_path / "summary.json"
    assert run.metrics == tmp_path / "metrics.csv"
    assert run.model == tmp_path / "model"
    assert run.checkpoints == tmp_path / "checkpoints"
    assert run.last_checkpoint == tmp_path / "checkpoints" / "last.ckpt"
    assert run.best_checkpoint == tmp_path / "checkpoints" / "best.ckpt"
    assert run.logs == tmp_path / "logs"
    assert run.plots == tmp_path / "plots"
    assert run.results == tmp_path / "results.json"
    assert run.eval("semeval") == tmp_path / "eval" / "semeval"
    assert RunFolder(str(tmp_path)).path == tmp_path  # a str is taken too


def test_write_and_read_round_trip_and_state(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    assert not run.started and not run.finished
    config = {"train": {"model": "lstm", "epochs": 1.5}, "command": ["tweetsent", "train"]}
    run.write_config(config)  # creates the folder
    assert run.started and not run.finished
    assert run.read_config() == config
    summary = {"model": "lstm", "val": {"accuracy": 0.75}}
    run.write_summary(summary)
    assert run.finished and run.read_summary() == summary
    # Written atomically: no temporary left beside the files.
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "summary.json"]


def test_missing_config_is_one_line_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as e:
        RunFolder(tmp_path).read_config()
    message = str(e.value)
    assert message == f"{tmp_path}: not a run directory (no config.json)"


@pytest.mark.parametrize("text", ["{broken", "[1, 2]", "\xff\xfe"])
def test_corrupt_config_is_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    run = RunFolder(tmp_path)
    run.config.write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError) as e:
        run.read_config()
    message = str(e.value)
    assert message.startswith(f"{run.config}: corrupt run config (") and "\n" not in message


def test_missing_or_corrupt_summary(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    with pytest.raises(UserError, match=r"no summary\.json"):
        run.read_summary()
    run.summary.write_text("{")
    with pytest.raises(UserError, match="corrupt run summary"):
        run.read_summary()


def test_read_metrics_rows(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.metrics.write_text(
        "step,epoch,split,loss,accuracy,seconds,accuracy_binary\n"
        "50,0.5000,train,0.693000,0.500000,1.25,0.500000\n"
        "100,1.0000,val,0.600000,0.700000,2.50,0.700000\n"
        "100,1.0000,test,0.650000,0.650000,2.60,nan\n"
    )
    rows = run.read_metrics()
    assert rows[0] == MetricsRow(50, 0.5, "train", 0.693, 0.5, 1.25, 0.5)
    assert [(r.step, r.split) for r in rows] == [(50, "train"), (100, "val"), (100, "test")]
    assert rows[2].accuracy_binary is not None and math.isnan(rows[2].accuracy_binary)


def test_read_metrics_of_an_older_file_without_the_last_columns(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.metrics.write_text("step,epoch,split,loss,accuracy\n10,0.1000,train,1.000000,0.400000\n")
    (row,) = run.read_metrics()
    assert row.seconds is None and row.accuracy_binary is None and row.accuracy == 0.4


def test_read_metrics_errors_are_one_line(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    with pytest.raises(UserError, match=r"no metrics\.csv"):
        run.read_metrics()
    run.metrics.write_text("step,epoch,split,loss,accuracy\n10,0.1,train,oops,0.4\n")
    with pytest.raises(UserError) as e:
        run.read_metrics()
    assert str(e.value).startswith(f"{run.metrics}:2: malformed metrics row") and "\n" not in str(e.value)
