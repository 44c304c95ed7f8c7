"""PNG plots of a run: learning curves from metrics.csv and confusion matrices."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from tweetsent.core.atomic import atomic_path
from tweetsent.core.runs import MetricsRow, RunFolder


def split_curves(metrics: list[MetricsRow]) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv's rows -> {split: {"step", "loss", "accuracy": arrays}}."""
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for row in metrics:
        rows.setdefault(row.split, []).append((float(row.step), row.loss, row.accuracy))
    out = {}
    for split, values in rows.items():
        arr = np.array(sorted(values))
        out[split] = {"step": arr[:, 0], "loss": arr[:, 1], "accuracy": arr[:, 2]}
    return out


def save_figure(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def curves(metrics: dict[str, dict[str, np.ndarray]], splits: tuple[str, ...], title: str, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for split in splits:
        if split not in metrics:
            continue
        m = metrics[split]
        axes[0].plot(m["step"], m["loss"], label=split, marker="." if len(m["step"]) < 40 else None)
        axes[1].plot(m["step"], m["accuracy"] * 100, label=split, marker="." if len(m["step"]) < 40 else None)
    for ax, name in zip(axes, ("loss (cross-entropy)", "accuracy (%)"), strict=True):
        ax.set_xlabel("training step")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # a run too short for a train row has no line to name
            ax.legend()
    fig.suptitle(title)
    save_figure(fig, path)


def confusion(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    """Counts and row-normalised percentages side by side; rows gold, columns predicted."""
    counts = np.asarray(matrix, dtype=np.float64)
    k = len(labels)
    totals = counts.sum(axis=1, keepdims=True)
    percent = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) * 100
    fig, axes = plt.subplots(1, 2, figsize=(5 + 1.7 * k, 1.3 + 0.9 * k))
    for ax, data, fmt, name in ((axes[0], counts, "{:.0f}", "counts"), (axes[1], percent, "{:.1f}%", "% of gold row")):
        ax.imshow(data, cmap="Blues", vmin=0)
        ax.set_xticks(range(k), labels, rotation=30 if k > 3 else 0)
        ax.set_yticks(range(k), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(name)
        top = data.max() or 1
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    fmt.format(data[i, j]),
                    ha="center",
                    va="center",
                    color="white" if data[i, j] > 0.6 * top else "black",
                )
    fig.suptitle(title)
    save_figure(fig, path)


def write_run_plots(run_dir: Path, summary: dict) -> list[Path]:
    """All plots of a run into run_dir/plots; returns their paths."""
    folder = RunFolder(run_dir)
    plots = folder.plots
    plots.mkdir(parents=True, exist_ok=True)
    written = []
    if folder.metrics.is_file():
        metrics = split_curves(folder.read_metrics())
        name = summary.get("model", "")
        curves(metrics, ("train",), f"{name}: training loss and accuracy", plots / "train_curves.png")
        evaluated = ("val", *summary.get("tests", ["test"]))
        curves(metrics, evaluated, f"{name}: validation and test loss and accuracy", plots / "eval_curves.png")
        written += [plots / "train_curves.png", plots / "eval_curves.png"]
    for split in ("val", *summary.get("tests", ["test", "test_seed"])):
        block = summary.get(split)
        if isinstance(block, dict) and "confusion" in block:
            confusion(
                block["confusion"],
                block.get("labels") or ["negative", "neutral", "positive"],
                f"{summary.get('model', '')} {split}: accuracy {block['accuracy'] * 100:.1f}%",
                plots / f"confusion_{split}.png",
            )
            written.append(plots / f"confusion_{split}.png")
    return written
