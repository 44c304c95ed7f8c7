"""The neutral band: the decision rule, the exact margin sweep against brute force, calibrate choosing the
margin with the best macro-F1, and the stored margin reaching predict, the API and evaluate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

import tweetsent
from tests.inference.fixtures import make_run
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.labels import decide as decide_labels
from tweetsent.evaluation.neutral import choose_margin, margin_curves, margin_sweep

Cli = Callable[..., tuple[int, str, str]]
TWO = LabelSet(("negative", "positive"))
SPACE = TWO.with_neutral()  # gold labels: 0 negative, 1 neutral, 2 positive


def decide(probs: np.ndarray, margin: float) -> np.ndarray:
    return decide_labels(probs, TWO, margin, SPACE)


def random_probs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of a negative/positive model, and gold labels where neutral tweets sit near the middle."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1, n)
    probs = np.stack([1 - pos, pos], axis=1).astype(np.float32)
    gap = np.abs(probs[:, 1] - probs[:, 0])
    labels = np.where(pos > 0.5, 2, 0)
    labels = np.where((gap < 0.4) & (rng.uniform(size=n) < 0.7), 1, labels)
    flip = rng.uniform(size=n) < 0.1
    labels[flip] = rng.integers(0, 3, flip.sum())
    return probs, labels


def brute_f1(probs: np.ndarray, labels: np.ndarray, margin: float) -> float:
    predicted = decide(probs, margin)
    present = sorted(set(labels.tolist()) | set(predicted.tolist()))
    return float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0))


def test_decide() -> None:
    probs = np.array([[0.6, 0.4], [0.1, 0.9], [0.45, 0.55], [0.5, 0.5]])
    assert decide(probs, 0.0).tolist() == [0, 2, 2, 0]
    assert decide(probs, 0.25).tolist() == [1, 2, 1, 1]
    assert decide(probs, 1.0).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sweep_is_exact_and_choice_is_the_best(seed: int) -> None:
    probs, labels = random_probs(300, seed)
    margins, f1, accuracy = margin_sweep(probs, labels, TWO)
    for m, f, a in list(zip(margins, f1, accuracy, strict=True))[::17]:
        assert f == pytest.approx(brute_f1(probs, labels, m), abs=1e-12)
        assert a == pytest.approx((decide(probs, m) == labels).mean(), abs=1e-12)
    chosen, best = choose_margin(probs, labels, TWO)
    assert best == pytest.approx(brute_f1(probs, labels, chosen), abs=1e-12)
    grid = np.linspace(0, 1, 301)
    assert best >= max(brute_f1(probs, labels, m) for m in grid) - 1e-12
    assert best > brute_f1(probs, labels, 0.0), "a band should help where neutral tweets sit in the middle"


def test_plotted_curves() -> None:
    probs, labels = random_probs(200, 3)
    grid = np.array([0.0, 0.1, 0.37, 0.8, 1.0])
    accuracy, f1 = margin_curves(probs, labels, TWO, grid)
    for m, a, f in zip(grid, accuracy, f1, strict=True):
        assert a == pytest.approx((decide(probs, m) == labels).mean())
        assert f == pytest.approx(brute_f1(probs, labels, m))


def test_ties_in_gaps() -> None:
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    labels = np.array([1, 1, 0, 2])
    margin, f1 = choose_margin(probs, labels, TWO)
    assert f1 == 1.0 and 0 < margin <= 0.8
    assert decide(probs, margin).tolist() == [1, 1, 0, 2]


def write_tsv(path: Path, texts: list[str], labels: list[str]) -> Path:
    path.write_text("".join(f"{i}\t{label}\t{t}\n" for i, (t, label) in enumerate(zip(texts, labels, strict=True))))
    return path


@pytest.fixture
def calibration_set(tmp_path: Path) -> tuple[Path, Path]:
    """A run and a labelled fixture where the model's least decided tweets are labelled neutral."""
    run_dir = make_run(tmp_path / "run", labels=("negative", "positive"))
    rng = np.random.default_rng(0)
    words = ["happy", "sad", "good", "bad", "love", "hate", "day", "work", "ugh", "yay", "meh", "fine"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 6))) for _ in range(120)]
    probs = tweetsent.load(run_dir).predict_proba(texts)
    gap = np.abs(probs[:, 1] - probs[:, 0])
    cut = np.quantile(gap, 0.35)
    labels = [
        "neutral" if g < cut else ("positive" if p[1] > p[0] else "negative") for g, p in zip(gap, probs, strict=True)
    ]
    labels[:6] = ["negative", "positive", "neutral", "positive", "negative", "neutral"]  # some noise
    return run_dir, write_tsv(tmp_path / "cal.tsv", texts, labels)


def test_calibrate_stores_the_best_margin_and_everything_uses_it(
    run_cli: Cli, calibration_set: tuple[Path, Path]
) -> None:
    run_dir, data = calibration_set
    code, out, err = run_cli("calibrate", str(run_dir), "--data", str(data))
    assert code == 0, err
    info = json.loads((run_dir / "model" / "calibration.json").read_text())
    margin = info["neutral_margin"]

    from tweetsent.data.labelled import read_tweets

    rows = read_tweets(data, with_labels=True)
    gold = np.array([SPACE.index(n) for n in rows.labels or []])
    probs = tweetsent.load(run_dir, neutral_margin=0).predict_proba(rows.texts)
    best = max(brute_f1(probs, gold, m) for m in np.linspace(0, 1, 401))
    assert info["with_band"]["macro_f1"] == pytest.approx(brute_f1(probs, gold, margin), abs=1e-9)
    assert info["with_band"]["macro_f1"] >= best - 1e-9
    assert info["with_band"]["macro_f1"] > info["without_band"]["macro_f1"]
    assert f"{margin:.3f}" in out

    # The API, predict and --neutral-margin 0 (disables).
    clf = tweetsent.load(run_dir)
    assert clf.neutral_margin == margin
    labels = [p.label for p in clf.predict(rows.texts)]
    assert labels == [SPACE[k] for k in decide(probs, margin)]
    assert "neutral" in labels
    code, out, _ = run_cli("predict", str(run_dir), *rows.texts[:20], "-f", "jsonl")
    assert [json.loads(line)["label"] for line in out.splitlines()] == labels[:20]
    code, out, _ = run_cli("predict", str(run_dir), *rows.texts[:20], "-f", "jsonl", "--neutral-margin", "0")
    assert [json.loads(line)["label"] for line in out.splitlines()] == [TWO[k] for k in probs[:20].argmax(1)]

    # evaluate --data reports both decision rules.
    code, out, err = run_cli("evaluate", str(run_dir), "--data", str(data), "--name", "cal")
    assert code == 0, err
    metrics = json.loads((run_dir / "eval" / "cal" / "metrics.json").read_text())
    assert metrics["neutral_band"]["margin"] == margin
    assert metrics["neutral_band"]["metrics"]["macro_f1"] == pytest.approx(info["with_band"]["macro_f1"])
    assert metrics["metrics"]["macro_f1"] == pytest.approx(info["without_band"]["macro_f1"])


def test_calibrate_by_hand_and_errors(run_cli: Cli, calibration_set: tuple[Path, Path], tmp_path: Path) -> None:
    run_dir, _ = calibration_set
    assert run_cli("calibrate", str(run_dir), "--margin", "0.25")[0] == 0
    assert tweetsent.load(run_dir).neutral_margin == 0.25
    no_neutral = write_tsv(tmp_path / "polar.tsv", ["good", "bad"], ["positive", "negative"])
    for args, message in [
        ([], "needs --data"),
        (["--margin", "3"], "between 0 and 1"),
        (["--data", str(no_neutral)], "no neutral tweets"),
    ]:
        code, _, err = run_cli("calibrate", str(run_dir), *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    (run_dir / "model" / "calibration.json").write_text('{"neutral_margin": "lots"}')
    with pytest.raises(UserError, match="corrupt calibration"):
        tweetsent.load(run_dir)
    # An explicit margin never reads the corrupt file, so predict can override it and calibrate can replace it.
    assert tweetsent.load(run_dir, neutral_margin=0.1).neutral_margin == 0.1
    assert run_cli("calibrate", str(run_dir), "--margin", "0.3")[0] == 0
    assert tweetsent.load(run_dir).neutral_margin == 0.3
