"""A trained model against any labelled tweet file: `evaluate RUN_DIR --data FILE` and `calibrate`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.core.atomic import atomic_dir, write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEUTRAL, LabelSet, decide, evaluation_space
from tweetsent.core.model_folder import check_margin, read_model_config, resolve_model_dir, write_calibration
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import SENTIMENT140, DataConfig, file_name, sentiment140_tests
from tweetsent.data.labelled import ReadOptions, TweetRows, parse_label_map, read_labelled_file
from tweetsent.evaluation.neutral import band_metrics, choose_margin, margin_curves, plot_margin_curves
from tweetsent.evaluation.priors import choose_class_bias
from tweetsent.inference.classifier import Classifier
from tweetsent.training.plots import confusion


@dataclass
class LabelledSet:
    """A labelled file read for a model: texts, gold indices into `space`, and what was read and dropped."""

    rows: TweetRows
    space: LabelSet
    gold: np.ndarray

    def summary(self) -> dict[str, Any]:
        counts = np.bincount(self.gold, minlength=len(self.space))
        return {
            "data": self.rows.source,
            "rows_read": self.rows.rows_read,
            "n": len(self.rows),
            "dropped": self.rows.dropped,
            "text_column": self.rows.text_column,
            "label_column": self.rows.label_column,
            "class_counts": {n: int(c) for n, c in zip(self.space, counts, strict=True)},
        }


def read_labelled(data: str | Path, options: ReadOptions, labels: LabelSet) -> LabelledSet:
    """A labelled file's rows whose labels a model with `labels` can be scored on (others dropped, counted);
    `sentiment140`: its 498 official test tweets (from $TWEETSENT_DATA_DIR)."""
    if str(data) == SENTIMENT140:
        rows = sentiment140_tests(DataConfig())["test"]
    else:
        rows = read_labelled_file(data, options, parse_label_map(options.label_map) or labels.matching(band=True))
    names = rows.labels or []
    seen = set(names)
    order = dict.fromkeys([*labels.matching(band=True).values(), *names])
    present = LabelSet(tuple(n for n in order if n in seen))
    space = evaluation_space(labels, present, where=f"{rows.source}: ")
    return LabelledSet(rows, space, np.array([space.index(n) for n in names], dtype=np.int64))


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    if not cleaned:
        raise UserError(f"--name {name!r}: use letters, digits, '.', '_' or '-'")
    return cleaned


def evaluate_file(
    run_dir: str | Path | None,
    data: str | Path,
    options: ReadOptions,
    *,
    name: str | None = None,
    **load: Any,
) -> tuple[dict[str, Any], Path]:
    """Metrics of the model on a labelled file, with and without its neutral band, written with a confusion
    plot per decision rule and the accuracy-against-margin plot into RUN_DIR/eval/NAME/ (the packaged model, `run_dir`
    None: runs/packaged/eval/NAME/ under the working folder). Returns the metrics and that folder. `load`: how to
    load the model (Classifier.load's options: neutral_margin, device, precision, runtime)."""
    resolve_model_dir(run_dir)  # a wrong run directory is reported first, ...
    classifier = Classifier.load(run_dir, **load)
    labelled = read_labelled(data, options, classifier.labels)
    probs = classifier.predict_proba(labelled.rows.texts)
    labels, space, gold = classifier.labels, labelled.space, labelled.gold
    metrics = band_metrics(probs, gold, labels, space, 0.0)
    margin = classifier.neutral_margin if labels.bandable and NEUTRAL in space else 0.0
    name = safe_name(name) if name else file_name(data)
    result: dict[str, Any] = {
        "model": classifier.name,
        "name": name,
        "precision": classifier.precision,
        "runtime": classifier.runtime,
        **labelled.summary(),
        "label_map": options.label_map,
        "metrics": metrics,
        "neutral_band": {"margin": margin, "metrics": band_metrics(probs, gold, labels, space, margin)}
        if margin
        else None,
    }
    base = (
        Path("runs/packaged")
        if run_dir is None
        else classifier.run_dir or (classifier.model_dir or Path(run_dir)).parent
    )
    out = RunFolder(base).eval(name)
    with atomic_dir(out) as tmp:
        write_json(tmp / "metrics.json", result)
        title = f"{classifier.name} on {name}"
        confusion(
            metrics["confusion"], space.to_list(), f"{title}: accuracy {metrics['accuracy']:.1%}", tmp / "confusion.png"
        )
        if result["neutral_band"]:
            band = result["neutral_band"]["metrics"]
            confusion(
                band["confusion"],
                space.to_list(),
                f"{title}, neutral band {margin:.3f}: accuracy {band['accuracy']:.1%}",
                tmp / "confusion_neutral_band.png",
            )
        if labels.bandable and NEUTRAL in space:
            plot_margin_curves(
                {name: margin_curves(probs, gold, labels)},
                tmp / "neutral_margin.png",
                title=f"{classifier.name} on {name}: the neutral band",
                chosen=margin,
            )
    return result, out


def calibrate_prior(
    model_dir: Path, data: str | Path | None, options: ReadOptions, *, device: str | None, precision: str
) -> dict[str, Any]:
    """Choose the class log-offsets with the best macro-F1 on a labelled file, or on the run's own validation
    split when no file is given, and store them in the model's calibration.json."""
    classifier = Classifier.load(model_dir, device=device, precision=precision)
    classifier.predictor.class_bias = None  # chosen from the model's own probabilities, not a previous choice
    labels = classifier.labels
    if data is None:
        from tweetsent.evaluation.evaluate import run_dataset

        if not RunFolder(model_dir.parent).started:
            raise UserError(f"{model_dir}: not inside a run folder, so there is no validation split; use --data FILE")
        dataset, _ = run_dataset(model_dir.parent)
        val = dataset["val"]
        texts: Any = val.texts
        gold = dataset.labels.mapping_to(labels)[val.labels]
        summary = {"data": "validation split", "n": len(gold)}
        probs = classifier.predict_proba(texts.to_pylist(), html_decoded=True)
    else:
        labelled = read_labelled(data, options, labels)
        gold, summary = labelled.space.mapping_to(labels)[labelled.gold], labelled.summary()
        probs = classifier.predict_proba(labelled.rows.texts)
    if (gold < 0).any():
        raise UserError(f"{summary['data']}: labels the model does not predict; calibrate on its own labels")
    bias, before, after = choose_class_bias(probs, gold)
    info = {
        "class_bias": dict(zip(labels, bias.tolist(), strict=True)),
        "method": "maximum macro-F1",
        "precision": classifier.precision,
        **summary,
        "macro_f1_before": before,
        "macro_f1_after": after,
    }
    write_calibration(model_dir, info)
    return info


def calibrate_file(
    run_dir: str | Path,
    data: str | Path | None,
    options: ReadOptions,
    *,
    margin: float | None = None,
    device: str | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Choose the neutral margin with the best macro-F1 on a labelled file (or take `margin` as given) and
    store it in the model's calibration.json; for a model that predicts neutral itself, the class prior
    correction instead (evaluation/priors.py). Returns what was stored."""
    model_dir = resolve_model_dir(run_dir)
    if margin is None and not LabelSet(tuple(read_model_config(model_dir).get("labels") or ())).bandable:
        return calibrate_prior(model_dir, data, options, device=device, precision=precision)
    if data is None and margin is None:
        raise UserError("calibrate needs --data FILE (a labelled set with neutral tweets) or --margin X")
    if data is None:  # a margin set by hand needs no model loaded
        assert margin is not None
        info: dict[str, Any] = {"neutral_margin": check_margin(margin), "method": "set by hand"}
        write_calibration(model_dir, info)
        return info
    classifier = Classifier.load(model_dir, device=device, neutral_margin=0.0, precision=precision)
    labels = classifier.labels
    if not labels.bandable:
        raise UserError(
            f"{run_dir}: the neutral band applies to negative/positive models; this one predicts "
            f"{', '.join(labels.names)}"
        )
    labelled = read_labelled(data, options, labels)
    if NEUTRAL not in labelled.space:
        raise UserError(f"{labelled.rows.source}: no neutral tweets, so there is no band to calibrate")
    probs = classifier.predict_proba(labelled.rows.texts)
    space, gold = labelled.space, labelled.gold
    chosen, _ = choose_margin(probs, gold, labels) if margin is None else (check_margin(margin), 0.0)
    without, with_band = band_metrics(probs, gold, labels, space, 0.0), band_metrics(probs, gold, labels, space, chosen)
    info = {
        "neutral_margin": chosen,
        "method": "maximum macro-F1" if margin is None else "set by hand, measured on the data",
        "precision": classifier.precision,
        **labelled.summary(),
        "label_map": options.label_map,
        "without_band": {k: without[k] for k in ("accuracy", "macro_f1", "confusion")},
        "with_band": {k: with_band[k] for k in ("accuracy", "macro_f1", "confusion")},
        "neutral_share": float((decide(probs, labels, chosen, space) == space.index(NEUTRAL)).mean()),
    }
    write_calibration(model_dir, info)
    return info
