import pytest

import tweetsent.evaluation.card as card


def test_speed_is_the_best_of_its_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass slowed by another process must not set the figure: the fastest of the repeats does."""
    clock = iter([0.0, 10.0, 10.0, 11.0, 11.0, 13.0])  # timed passes of 10 s, 1 s and 2 s
    monkeypatch.setattr(card.time, "perf_counter", lambda: next(clock))
    calls: list[int] = []
    rate = card.tweets_per_second(lambda texts: calls.append(len(texts)), ["t"] * 100, warmup=10, repeats=3)
    assert calls == [10, 100, 100, 100]  # one warm-up on the first texts, then three timed passes
    assert rate == 100.0
