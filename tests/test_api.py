"""The Python API: the documented example runs as written, and bad settings are one clear error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tweetsent
from tests.training.test_any_data import write_labelled

DOC = Path(__file__).resolve().parents[1] / "docs" / "training.md"


def _example() -> str:
    text = DOC.read_text()
    found = re.search(r"<!-- api-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert found, f"{DOC}: no api-example block"
    return found.group(1)


def test_the_documented_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_labelled(tmp_path / "my_tweets.csv", {"negative": 60, "neutral": 60, "positive": 60}, seed=0)
    write_labelled(tmp_path / "my_test.csv", {"negative": 20, "neutral": 20, "positive": 20}, seed=5)
    exec(compile(_example(), str(DOC), "exec"), {})
    out = capsys.readouterr().out
    run = tmp_path / "runs" / "bilstm-my_tweets"
    assert str(Path("runs") / "bilstm-my_tweets") in out and "Prediction(label=" in out
    for name in ("config.json", "summary.json", "metrics.csv", "model/config.json"):
        assert (run / name).is_file(), name
    assert re.search(r"macro-F1 \d\.\d{3} on 60 tweets", out)
    assert (run / "eval" / "my_test" / "metrics.json").is_file()


def test_train_returns_the_run_it_wrote(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "hand.csv", {"negative": 40, "positive": 40}, seed=1)
    clf = tweetsent.train("lstm", data, out=tmp_path / "run", max_steps=10, eval_every=5, min_count=1, seed=3)
    assert clf.run_dir == tmp_path / "run" and clf.labels.names == ("negative", "positive")
    config = (tmp_path / "run" / "config.json").read_text()
    assert '"max_steps": 10' in config and '"seed": 3' in config


def test_unknown_settings_are_named() -> None:
    with pytest.raises(tweetsent.UserError, match="unknown training settings: epoch, lrate"):
        tweetsent.train("lstm", "x.csv", epoch=3, lrate=0.1)
