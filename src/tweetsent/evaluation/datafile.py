"""A trained model against any labelled tweet file: `evaluate RUN_DIR --data FILE` and `calibrate`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.atomic import atomic_dir, write_json
from tweetsent.data.labelled import TweetRows, read_tweets
from tweetsent.errors import UserError
from tweetsent.evaluation.neutral import (
    band_metrics,
    check_margin,
    choose_margin,
    decide,
    margin_curves,
    plot_margin_curves,
    write_calibration,
)
from tweetsent.inference.artifact import resolve_model_dir
from tweetsent.inference.classifier import Classifier


@dataclass(frozen=True)
class DataOptions:
    """How to read a labelled file (the CLI's --format, --text-column, --label-column, --label-map)."""

    fmt: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    label_map: dict[str, int] | None = None


def read_labelled(data: str | Path, options: DataOptions) -> TweetRows:
    return read_tweets(
        data,
        fmt=options.fmt,
        text_column=options.text_column,
        label_column=options.label_column,
        label_map=options.label_map,
        with_labels=True,
    )


def default_name(data: str | Path) -> str:
    """`../semeval2016_task4a/train.tsv` -> `semeval2016_task4a-train`."""
    if str(data) == "-":
        return "stdin"
    path = Path(data)
    stem = path.name
    for suffix in (".gz", ".zip", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".txt"):
        stem = stem.removesuffix(suffix)
    name = f"{path.parent.name}-{stem}" if path.parent.name else stem
    return safe_name(name)


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    if not cleaned:
        raise UserError(f"--name {name!r}: use letters, digits, '.', '_' or '-'")
    return cleaned


def _data_summary(rows: TweetRows) -> dict[str, Any]:
    assert rows.labels is not None
    return {
        "data": rows.source,
        "rows_read": rows.rows_read,
        "n": len(rows),
        "dropped": rows.dropped,
        "text_column": rows.text_column,
        "label_column": rows.label_column,
        "class_counts": np.bincount(rows.labels.astype(np.int64), minlength=3).tolist(),
    }


def evaluate_file(
    run_dir: str | Path,
    data: str | Path,
    options: DataOptions,
    *,
    name: str | None = None,
    neutral_margin: float | None = None,
    device: str | None = None,
    precision: str = "auto",
) -> tuple[dict[str, Any], Path]:
    """Metrics of the model on a labelled file, with and without its neutral band, written with a confusion
    plot per decision rule and the accuracy-against-margin plot into RUN_DIR/eval/NAME/. Returns the
    metrics and that folder."""
    from tweetsent.evaluation.plots import confusion

    resolve_model_dir(run_dir)  # a wrong run directory is reported first, ...
    rows = read_labelled(data, options)  # ... then a bad data file, before the (slow) model load
    assert rows.labels is not None
    classifier = Classifier.load(run_dir, device=device, neutral_margin=neutral_margin, precision=precision)
    probs = classifier.predict_proba(rows.texts)
    metrics = band_metrics(probs, rows.labels, 0.0)
    margin = classifier.neutral_margin
    name = safe_name(name) if name else default_name(data)
    result: dict[str, Any] = {
        "model": classifier.name,
        "name": name,
        "precision": classifier.precision,
        **_data_summary(rows),
        "label_map": options.label_map,
        "metrics": metrics,
        "neutral_band": {"margin": margin, "metrics": band_metrics(probs, rows.labels, margin)} if margin else None,
    }
    base = classifier.run_dir or (classifier.model_dir or Path(run_dir)).parent
    out = base / "eval" / name
    with atomic_dir(out) as tmp:
        write_json(tmp / "metrics.json", result)
        title = f"{classifier.name} on {name}"
        confusion(metrics["confusion"], f"{title}: accuracy {metrics['accuracy']:.1%}", tmp / "confusion.png")
        if result["neutral_band"]:
            band = result["neutral_band"]["metrics"]
            confusion(
                band["confusion"],
                f"{title}, neutral band {margin:.3f}: accuracy {band['accuracy']:.1%}",
                tmp / "confusion_neutral_band.png",
            )
        plot_margin_curves(
            {name: margin_curves(probs, rows.labels)},
            tmp / "neutral_margin.png",
            title=f"{classifier.name} on {name}: the neutral band",
            chosen=margin,
        )
    return result, out


def calibrate_file(
    run_dir: str | Path,
    data: str | Path | None,
    options: DataOptions,
    *,
    margin: float | None = None,
    device: str | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Choose the neutral margin with the best macro-F1 on a labelled file (or take `margin` as given) and
    store it in the model's calibration.json. Returns what was stored."""
    if data is None and margin is None:
        raise UserError("calibrate needs --data FILE (a labelled set with neutral tweets) or --margin X")
    model_dir = resolve_model_dir(run_dir)
    if data is None:  # a margin set by hand needs no model loaded
        assert margin is not None
        info: dict[str, Any] = {"neutral_margin": check_margin(margin), "method": "set by hand"}
    else:
        rows = read_labelled(data, options)  # a bad data file fails before the (slow) model load
        assert rows.labels is not None
        if not (rows.labels == 1).any():
            raise UserError(f"{rows.source}: no neutral tweets, so there is no band to calibrate")
        classifier = Classifier.load(model_dir, device=device, neutral_margin=0.0, precision=precision)
        probs = classifier.predict_proba(rows.texts)
        chosen, _ = choose_margin(probs, rows.labels) if margin is None else (check_margin(margin), 0.0)
        without, with_band = band_metrics(probs, rows.labels, 0.0), band_metrics(probs, rows.labels, chosen)
        info = {
            "neutral_margin": chosen,
            "method": "maximum macro-F1" if margin is None else "set by hand, measured on the data",
            "precision": classifier.precision,
            **_data_summary(rows),
            "label_map": options.label_map,
            "without_band": {k: without[k] for k in ("accuracy", "macro_f1", "confusion")},
            "with_band": {k: with_band[k] for k in ("accuracy", "macro_f1", "confusion")},
            "neutral_share": float((decide(probs, chosen) == 1).mean()),
        }
    write_calibration(model_dir, info)
    return info
