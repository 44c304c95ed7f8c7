"""The comparison's figures: a confusion-matrix grid per scored set, learning curves of all models against steps
and wall time, binary accuracy against published results, and the word-vector map (the study's Figure 1,
coloured by sentiment)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from tweetsent.comparison.entries import Entry, metrics
from tweetsent.core.runs import MetricsRow
from tweetsent.core.splits import Split
from tweetsent.data.vocab import Vocab
from tweetsent.training.plots import save_figure

COLOURS = [plt.get_cmap("tab10")(i) for i in range(10)]


@dataclass
class Curves:
    """One run's evaluation rows from metrics.csv: per split, arrays of step, seconds, loss, accuracy and
    binary accuracy (NaN where an older metrics.csv lacks the column)."""

    splits: dict[str, dict[str, np.ndarray]]
    seconds_estimated: bool  # metrics.csv had no seconds column: wall time spread evenly over the steps


def run_curves(metrics: list[MetricsRow], steps: int, fit_seconds: float | None) -> Curves:
    """A run's metrics.csv rows as Curves; `steps` and `fit_seconds` (its summary's) spread wall time over the
    steps where the file has no seconds column."""
    rows: dict[str, list[tuple[float, float, float, float, float]]] = {}
    for r in metrics:
        rows.setdefault(r.split, []).append(
            (
                float(r.step),
                r.seconds if r.seconds is not None else math.nan,
                r.loss,
                r.accuracy,
                r.accuracy_binary if r.accuracy_binary is not None else math.nan,
            )
        )
    splits = {}
    estimated = False
    for split, values in rows.items():
        a = np.array(sorted(values), dtype=np.float64).reshape(-1, 5)
        if np.isnan(a[:, 1]).all():
            estimated = True
            a[:, 1] = a[:, 0] / max(steps, 1) * (fit_seconds or 0.0)
        splits[split] = {"step": a[:, 0], "seconds": a[:, 1], "loss": a[:, 2], "accuracy": a[:, 3], "binary": a[:, 4]}
    return Curves(splits, estimated)


def _marker(xs: np.ndarray) -> str | None:
    """Dots on short series, so a run with one or two evaluations still shows."""
    return "." if len(xs) < 40 else None


def confusion_grid(entries: Sequence[Entry], split: str, path: Path) -> None:
    """One set's confusion matrices side by side: counts, coloured by the share of each gold row."""
    n = len(entries)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, entry in zip(axes.flat, entries, strict=False):
        m = metrics(entry, split)
        counts = np.asarray(m["confusion"], dtype=np.float64)
        labels, k = m["labels"], len(m["labels"])
        totals = counts.sum(axis=1, keepdims=True)
        share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    f"{counts[i, j]:.0f}\n{share[i, j]:.0%}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if share[i, j] > 0.6 else "black",
                )
        ax.set_xticks(range(k), labels, fontsize=8, rotation=30 if k > 3 else 0)
        ax.set_yticks(range(k), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"{entry['name']}\naccuracy {m['accuracy']:.1%}, macro-F1 {m['macro_f1']:.3f}", fontsize=10)
    total = int(np.asarray(metrics(entries[0], split)["confusion"]).sum())
    fig.suptitle(f"Confusion on {split} ({total:,} tweets; rows gold, columns predicted)")
    fig.tight_layout()
    save_figure(fig, path)


def learning_curves(entries: Sequence[Entry], curves: dict[str, Curves], x: str, test: str, path: Path) -> None:
    """Validation (solid) and test (dashed) loss and accuracy of every model; x is "step" or "seconds"."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for i, entry in enumerate(entries):
        c = curves.get(entry["name"])
        if c is None:
            continue
        colour = COLOURS[i % len(COLOURS)]
        suffix = " (time estimated)" if x == "seconds" and c.seconds_estimated else ""
        for split, style in (("val", "-"), (test, "--")):
            if split not in c.splits:
                continue
            m = c.splits[split]
            xs = m["step"] if x == "step" else m["seconds"] / 60
            label = f"{entry['name']} {split}{suffix}"
            dots = _marker(xs)
            axes[0].plot(xs, m["loss"], style, color=colour, label=label, linewidth=1.4, marker=dots)
            axes[1].plot(xs, m["accuracy"] * 100, style, color=colour, label=label, linewidth=1.4, marker=dots)
    for ax, name in zip(axes, ("loss (cross-entropy)", "accuracy (%)"), strict=True):
        ax.set_xlabel("training step" if x == "step" else "wall time (minutes since training started)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower right", ncol=2 if len(entries) > 3 else 1)
    fig.suptitle(
        f"Validation (solid) and {test} (dashed) against " + ("training steps" if x == "step" else "wall time")
    )
    fig.tight_layout()
    save_figure(fig, path)


def binary_accuracy(
    entries: Sequence[Entry],
    baselines: Sequence[Entry],
    curves: dict[str, Curves],
    test: str,
    published: list[list[Any]],
    path: Path,
) -> bool:
    """Left: binary accuracy on the test set's negative and positive tweets during training, with baselines and
    published results as lines (only when some metrics.csv has the accuracy_binary column). Right: the final
    numbers of everything, published results included. Returns whether the left panel was drawn."""
    during = []
    for i, entry in enumerate(entries):
        c = curves.get(entry["name"])
        if c is not None and test in c.splits and not np.isnan(c.splits[test]["binary"]).all():
            during.append((i, entry["name"], c.splits[test]))
    drawn = sum(len(m["step"]) for _, _, m in during) > 1  # a single point is no curve
    first = metrics([*entries, *baselines][0], test)
    gold_counts = np.asarray(first["confusion"]).sum(axis=1)
    polar = int(sum(gold_counts[first["labels"].index(n)] for n in ("negative", "positive")))
    if drawn:
        fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.3, 1]})
        _binary_during(left, during, baselines, test, published)
    else:
        fig, right = plt.subplots(figsize=(8, 5))
    bars: list[tuple[str, float, Any]] = [
        (e["name"], metrics(e, test)["accuracy_binary"], COLOURS[i % len(COLOURS)]) for i, e in enumerate(entries)
    ]
    bars += [(b["name"], metrics(b, test)["accuracy_binary"], "0.6") for b in baselines]
    bars += [(name, acc, "firebrick") for name, acc in published]
    bars.sort(key=lambda b: b[1])
    y = np.arange(len(bars))
    right.barh(y, [b[1] * 100 for b in bars], color=[b[2] for b in bars], height=0.65)
    for yi, (_, acc, _) in zip(y, bars, strict=True):
        right.text(acc * 100 + 0.2, yi, f"{acc:.1%}", va="center", fontsize=8)
    right.set_yticks(y, [b[0] for b in bars], fontsize=8)
    low = min(b[1] for b in bars) * 100
    right.set_xlim(max(0.0, math.floor(low / 5) * 5 - 5), 92)
    right.set_xlabel(f"binary accuracy on {test}'s negative and positive tweets (%)")
    right.set_title(f"Binary accuracy on {test} ({polar:,} tweets; published results in red)", fontsize=10)
    right.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    save_figure(fig, path)
    return drawn


def best_at_each_speed(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (speed, score) no other point beats on both (faster and at least as good, or as fast
    and better), from the fastest to the slowest: the best choice at each speed."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front: list[int] = []
    for i in order:
        if not front or points[i][1] > points[front[-1]][1]:
            front.append(i)
    return front


def accuracy_speed(everything: Sequence[Entry], sets: list[str], path: Path) -> None:
    """Macro-F1 on each set against prediction tweets/s (log scale): one point per model and baseline (the mean
    over seeds, with a bar of ± one standard deviation where there are several), the best choices at each speed
    joined."""
    fig, axes = plt.subplots(1, len(sets), figsize=(6.2 * len(sets), 4.6), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        shown = [e for e in everything if e.get("predict_tweets_per_second") and e["scores"].get(name)]
        points = [(float(e["predict_tweets_per_second"] or 0), float(metrics(e, name)["macro_f1"])) for e in shown]
        for i, (e, (x, y)) in enumerate(zip(shown, points, strict=True)):
            baseline = e.get("kind") == "baseline"
            colour = "0.45" if baseline else COLOURS[i % len(COLOURS)]
            ax.scatter([x], [y], color=colour, marker="s" if baseline else "o", s=36, zorder=3)
            sd = (metrics(e, name).get("sd") or {}).get("macro_f1")
            if sd:  # the spread over seeds
                ax.errorbar([x], [y], yerr=[sd], color=colour, capsize=3, lw=1, zorder=3)
            ax.annotate(e["name"], (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        front = best_at_each_speed(points)
        if len(front) > 1:
            ax.plot([points[i][0] for i in front], [points[i][1] for i in front], color="0.3", lw=1, ls="--", zorder=2)
        ax.set_xscale("log")
        ax.set_xlabel("prediction speed (tweets/s, log scale)")
        ax.set_ylabel("macro-F1")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(fig, path)


def _binary_during(
    ax: Any,
    during: list[tuple[int, str, dict[str, np.ndarray]]],
    baselines: Sequence[Entry],
    test: str,
    published: list[list[Any]],
) -> None:
    for i, name, m in during:
        ax.plot(m["step"], m["binary"] * 100, color=COLOURS[i % len(COLOURS)], label=name, linewidth=1.4,
                marker=_marker(m["step"]))  # fmt: skip
    for b in baselines:
        acc = metrics(b, test)["accuracy_binary"] * 100
        ax.axhline(acc, color="0.35", linestyle=":", linewidth=1.2)
        ax.annotate(b["name"], (0.01, acc), xycoords=("axes fraction", "data"), fontsize=7, color="0.3", va="bottom")
    for name, acc in published:
        ax.axhline(acc * 100, color="firebrick", linestyle="--", linewidth=1)
        ax.annotate(name, (0.99, acc * 100), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                    fontsize=7, color="firebrick")  # fmt: skip
    ax.set_xlabel("training step")
    ax.set_ylabel("binary accuracy (%)")
    ax.set_title("During training (every evaluation)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def positive_share(train: Split, vocab_size: int, positive_label: int) -> tuple[np.ndarray, np.ndarray]:
    """Per vocabulary id: the number of training tweets it occurs in, and the positive share of them."""
    offsets = np.asarray(train.offsets, dtype=np.int64)
    rows = np.repeat(np.arange(len(train), dtype=np.int64), offsets[1:] - offsets[:-1])
    # A word repeated in one tweet counts once: unique (tweet, word) pairs. (A plain sort and a diff: numpy's
    # hash-based np.unique takes 30 s on the 22M tokens of the full training split, this takes about one.)
    pairs = np.sort(rows * vocab_size + train.ids.astype(np.int64))
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    words = pairs % vocab_size
    positive = train.labels[pairs // vocab_size] == positive_label
    tweets = np.bincount(words, minlength=vocab_size)
    share = np.bincount(words, weights=positive, minlength=vocab_size) / np.maximum(tweets, 1)
    return tweets, share


def word_map(
    vectors: np.ndarray,
    vocab: Vocab,
    train: Split,
    train_vocab: Vocab,
    positive_label: int,
    path: Path,
    title: str,
    n_words: int = 400,
    n_labels: int = 40,
) -> dict[str, Any]:
    """PCA of the vectors of the `n_words` most frequent words, coloured by the share of positive training
    tweets each occurs in; the most polarised and the most frequent words are labelled. `vocab` indexes
    `vectors`; `train_vocab` indexes `train` (they differ when the model was trained on other prepared data)."""
    from sklearn.decomposition import PCA

    tweets, share = positive_share(train, len(train_vocab), positive_label)
    index = {w: i for i, w in enumerate(train_vocab.words)}
    order = np.argsort(-vocab.counts[2:], kind="stable") + 2  # skip <pad> and <unk>
    chosen = [i for i in order if vocab.words[i] in index and tweets[index[vocab.words[i]]] > 0][:n_words]
    words = [vocab.words[i] for i in chosen]
    shares = np.array([share[index[w]] for w in words])
    pca = PCA(n_components=2, random_state=0)
    xy = pca.fit_transform(np.asarray(vectors[chosen], dtype=np.float64))

    fig, ax = plt.subplots(figsize=(12, 9))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=shares, cmap="RdYlGn", vmin=0, vmax=1, s=22, edgecolors="0.4",
                        linewidths=0.3)  # fmt: skip
    polar = np.argsort(np.abs(shares - 0.5))[::-1][: n_labels * 3 // 4]
    frequent = np.arange(min(len(words), n_labels - len(polar)))
    for k in sorted(set(polar.tolist()) | set(frequent.tolist())):
        ax.annotate(words[k], xy[k], fontsize=8, xytext=(3, 2), textcoords="offset points")
    bar = fig.colorbar(points, ax=ax, shrink=0.8)
    bar.set_label("share of the training tweets containing the word that are positive")
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"principal component 1 ({ratio[0]:.1%} of variance)")
    ax.set_ylabel(f"principal component 2 ({ratio[1]:.1%} of variance)")
    ax.set_title(title)
    ax.grid(alpha=0.2)
    fig.tight_layout()
    save_figure(fig, path)
    # How far each component follows the sentiment of these words.
    corr = [float(np.corrcoef(xy[:, k], shares)[0, 1]) if len(words) > 2 else float("nan") for k in (0, 1)]
    return {"words": len(words), "explained_variance": [float(r) for r in ratio], "share_correlation": corr}
