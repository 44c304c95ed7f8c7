"""The seeds of `train --seeds N`: N of them from --seed upwards."""

from __future__ import annotations

from tweetsent.training.config import TrainConfig
from tweetsent.training.seeds import seed_list


def test_seeds_count_up_from_the_given_seed_or_the_runs_default() -> None:
    assert seed_list(3, 2) == [3, 4]
    assert seed_list(None, 3) == [TrainConfig(model="lstm").seed + k for k in range(3)]
