"""The Python API: train, load and evaluate in a few lines, with the command line's settings and run folders.

import tweetsent

clf = tweetsent.train("bilstm", data="my_tweets.csv", epochs=3)   # any `tweetsent train` flag by name
clf.run_dir                                                       # the run folder, as `train` writes it
clf.predict(["what a great day"])
tweetsent.evaluate(clf, "test.csv")["macro_f1"]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import load_dataset
from tweetsent.data.labelled import ReadOptions
from tweetsent.evaluation.datafile import evaluate_file
from tweetsent.inference.classifier import Classifier
from tweetsent.training.config import configure, run_defaults, unknown_settings
from tweetsent.training.run import train as train_run

PathLike = str | Path


def train(
    model: str,
    data: PathLike | Sequence[PathLike] | None = None,
    *,
    preset: str | None = None,
    out: PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
    **settings: Any,
) -> Classifier:
    """Train `model` (a registered name: lstm, bilstm, pyramid, bert, bag, ...) on labelled files (`data`: one or
    several paths or globs; None: Sentiment140) and return it loaded, its run folder as `.run_dir`.
    `settings` are `tweetsent train`'s flags by their names (epochs=3, max_steps=500, test_data=["test.csv"],
    label_map="negative=0,positive=4", ...); `preset` and `out` default as for `train`."""
    flags = dict(settings)
    unknown = unknown_settings(flags)
    if unknown:
        raise UserError(f"unknown training settings: {', '.join(unknown)} (see `tweetsent train --help`)")
    if data is not None:
        flags["data"] = tuple(str(p) for p in ([data] if isinstance(data, str | Path) else data))
    preset, default_dir = run_defaults(model, preset, flags.get("data"))
    run_dir = Path(out) if out is not None else default_dir
    config, data_config = configure(model, preset, flags)
    train_run(config, load_dataset(data_config), run_dir, resume=resume, progress=progress)
    return Classifier.load(run_dir)


def evaluate(model: Classifier | PathLike | None, data: PathLike, **read: Any) -> dict[str, Any]:
    """Accuracy, macro-F1 and the rest of `tweetsent evaluate --data` for a model (a Classifier, a run folder, or
    None: the packaged model) on a labelled file; `read` as ReadOptions (text_column, label_map, ...). The figures
    are also written to the run folder's eval/NAME/ (the packaged model: runs/packaged/eval/NAME/)."""
    folder = model.model_dir if isinstance(model, Classifier) else model
    result, _ = evaluate_file(folder, data, ReadOptions(**read))
    return {**result["metrics"], "n": result["n"], "data": result["data"]}
