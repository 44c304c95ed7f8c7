"""A wall-time budget (TrainConfig.max_minutes, what `compare --budget-minutes` gives each model): the learning
rate decays by whichever ends first, steps or time; a run the budget stops still writes every artifact."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import Timer

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig, load_dataset
from tweetsent.models import build_model
from tweetsent.training.config import make_config
from tweetsent.training.run import train
from tweetsent.training.system import SentimentSystem


def schedule(max_minutes: float | None, elapsed: list[float], total: int = 1000, warmup: int = 10) -> object:
    config = make_config("lstm", "fast", max_minutes=max_minutes, warmup_steps=warmup)
    timer = Timer(duration={"minutes": max_minutes or 1})
    timer.time_elapsed = lambda stage=None: elapsed[0]  # type: ignore[method-assign]
    system = SentimentSystem(build_model("lstm", 2, vocab_size=50, embed_dim=8), config, 2, timer=timer)
    system.trainer = SimpleNamespace(estimated_stepping_batches=total)  # type: ignore[assignment]
    return system.configure_optimizers()["lr_scheduler"]["scheduler"].lr_lambdas[0]


def test_learning_rate_decays_with_the_budget() -> None:
    elapsed = [0.0]
    factor = schedule(10, elapsed)
    assert factor(4) == pytest.approx(0.5)  # warm-up is by steps
    by_steps = factor(505)
    assert by_steps == pytest.approx(0.5)  # halfway through the steps, no time spent
    elapsed[0] = 8 * 60
    assert factor(505) == pytest.approx(0.2)  # 80 % of the budget spent: time decides
    elapsed[0] = 10 * 60
    assert factor(505) == 0.0
    unbudgeted = schedule(None, [10**6])
    assert unbudgeted(505) == pytest.approx(by_steps)  # without a budget time plays no part


def test_budget_must_be_positive() -> None:
    with pytest.raises(UserError, match="--max-minutes must be positive"):
        make_config("lstm", "fast", max_minutes=0)


def test_budget_stops_a_run_cleanly(small_data_dir: Path, tmp_path: Path) -> None:
    config = make_config(
        "lstm", "fast", epochs=10_000, max_minutes=0.05, batch_size=32, eval_every=20, log_every=5, precision="32-true"
    )
    summary = train(config, load_dataset(DataConfig(data_dir=str(small_data_dir))), tmp_path / "run", progress=False)
    assert summary is not None
    assert summary["stopped_by_budget"] and 0 < summary["steps"] < summary["max_steps"]
    assert summary["budget_minutes"] == 0.05
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["steps"] == summary["steps"] and "accuracy" in on_disk["test"]
    for name in ("model/model.safetensors", "checkpoints/best.ckpt", "metrics.csv", "plots/confusion_test.png"):
        assert (tmp_path / "run" / name).is_file(), name
