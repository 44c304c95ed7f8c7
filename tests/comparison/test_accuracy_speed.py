"""The report's accuracy-against-speed figure: the best choice at each speed, and the drawing itself."""

from __future__ import annotations

from pathlib import Path

from tweetsent.comparison.plots import accuracy_speed, best_at_each_speed


def test_best_at_each_speed_keeps_what_nothing_faster_beats() -> None:
    points = [(100.0, 0.60), (20_000.0, 0.45), (50_000.0, 0.56), (5_000.0, 0.50), (30.0, 0.59), (50_000.0, 0.40)]
    # From the fastest: 50k at 0.56; nothing slower but better until 100/s at 0.60. 20k, 5k and 30/s are beaten by a
    # faster point at least as good; the second 50k point by the first.
    assert best_at_each_speed(points) == [2, 0]
    assert best_at_each_speed([]) == []
    assert best_at_each_speed([(1.0, 0.5)]) == [0]


def test_the_figure_is_drawn_for_models_and_baselines(tmp_path: Path) -> None:
    def entry(name: str, speed: float | None, f1: float, kind: str = "model") -> dict:
        return {"name": name, "kind": kind, "predict_tweets_per_second": speed, "scores": {"test": {"macro_f1": f1}}}

    entries = [entry("bert", 220, 0.71), entry("bag", 36_000, 0.77), entry("VADER", 17_000, 0.72, "baseline")]
    entries.append(entry("unscored", None, 0.9))  # no speed: left out, not an error
    path = tmp_path / "accuracy_speed.png"
    accuracy_speed(entries, ["test"], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
