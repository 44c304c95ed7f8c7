"""The report's figures: confusion grids, learning curves, binary accuracy and the word map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tweetsent.comparison import plots as compare_plots
from tweetsent.comparison.entries import BaselineEntry, Entry, ModelEntry
from tweetsent.comparison.scoring import ScoreSet
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import Dataset
from tweetsent.models.artifact import Artifact, Predictor


def draw_figures(
    images: Path,
    entries: list[ModelEntry],
    predictors: dict[str, Predictor],
    baselines: list[BaselineEntry],
    sets: list[ScoreSet],
    dataset: Dataset,
) -> tuple[dict[str, str], dict[str, Any] | None, bool]:
    """Draw the figures into `images`: (their names -> paths, the word map's entry, whether the accuracy figure
    has its during-training panel). `predictors` are the entries' by run folder."""
    everything: list[Entry] = [*entries, *baselines]
    figures: dict[str, str] = {}
    for s in sets:
        if s.kind == "val":
            continue
        shown = [e for e in everything if e["scores"].get(s.name)]
        if shown:
            compare_plots.confusion_grid(shown, s.name, images / f"confusion_{s.name}.png")
            figures[f"confusion:{s.name}"] = f"images/confusion_{s.name}.png"
    curves = {}
    for e in entries:
        run = RunFolder(e["run_dir"])
        if run.metrics.is_file():
            curves[e["name"]] = compare_plots.run_curves(run.read_metrics(), e.get("steps") or 0, e.get("fit_seconds"))
    first_test = next((s.name for s in sets if s.kind == "test"), "val")
    if curves:
        compare_plots.learning_curves(entries, curves, "step", first_test, images / "curves_steps.png")
        compare_plots.learning_curves(entries, curves, "seconds", first_test, images / "curves_time.png")
        figures["curves_steps"] = "images/curves_steps.png"
        figures["curves_time"] = "images/curves_time.png"
    during = False
    binary = dataset.references.get("binary")
    polar = [e for e in everything if (e["scores"].get(first_test) or {}).get("accuracy_binary") is not None]
    if polar:
        published = binary["results"] if binary and binary["split"] == first_test else []
        during = compare_plots.binary_accuracy(
            [e for e in entries if e in polar], [b for b in baselines if b in polar], curves, first_test, published,
            images / "accuracy_binary.png",
        )  # fmt: skip
        figures["accuracy"] = "images/accuracy_binary.png"
    scored = [s.name for s in sets if s.kind != "val" and any(e["scores"].get(s.name) for e in everything)]
    if scored:
        compare_plots.accuracy_speed(everything, scored, images / "accuracy_speed.png")
        figures["accuracy_speed"] = "images/accuracy_speed.png"
    word_map = _word_map(entries, predictors, dataset, images / "word_map.png")
    if word_map:
        figures["word_map"] = "images/word_map.png"
    return figures, word_map, during


def _word_map(
    entries: list[ModelEntry], predictors: dict[str, Predictor], dataset: Dataset, path: Path
) -> dict[str, Any] | None:
    """The map of the word vectors of the word-vector model with the best validation accuracy."""
    artifacts = {
        e["name"]: (e, p)
        for e in entries
        if isinstance(p := predictors.get(e["run_dir"]), Artifact) and hasattr(p.model, "embedding")
    }
    if not artifacts or not dataset.classes.polar:
        return None
    best, artifact = max(artifacts.values(), key=lambda ep: (ep[0]["scores"].get("val") or {}).get("accuracy", 0.0))
    weights = artifact.model.embedding.weight.detach().float().cpu().numpy()  # type: ignore[union-attr,operator]
    fine_tuned = bool(artifact.config.get("model_kwargs", {}).get("train_embeddings", True))
    source = artifact.config.get("embeddings", "word vectors")
    title = (
        f"{best['name']}'s {'fine-tuned ' if fine_tuned else ''}word vectors ({source}), first two principal components"
    )
    positive = dataset.labels.index("positive")
    vocab = artifact.encoder.vocab  # type: ignore[attr-defined]
    info = compare_plots.word_map(weights, vocab, dataset["train"], dataset.vocab, positive, path, title)
    return {"run": best["name"], "source": source, "fine_tuned": fine_tuned, **info}
