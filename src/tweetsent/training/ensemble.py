"""Making an ensemble of finished runs (`tweetsent ensemble`): load the members, match their labels by name, and
either average them or fit a stacker on labelled tweets (models/ensemble.py holds the artifact itself).

OUT/model/        the ensemble's model folder (members copied in)
OUT/config.json   how it was made: members, fit data, and the first member's training and data settings, so
                  `evaluate OUT` scores it on that member's validation rows and test sets
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.runs import RunFolder
from tweetsent.core.versions import package_versions
from tweetsent.data.labelled import TweetRows
from tweetsent.models.artifact import Artifact, load_single
from tweetsent.models.ensemble import Ensemble, fit_stacker, save_ensemble, stack_features, union_labels
from tweetsent.models.lexicon import LABELS as VADER_LABELS
from tweetsent.training.run import read_run_config


def fit_labels(rows: TweetRows, members: Sequence[Artifact], vader: bool) -> tuple[LabelSet, np.ndarray]:
    """The labels a stacker learns (those of the fit data, matched in any case to a member's names, or to VADER's
    negative/neutral/positive when it is a member) and the fit data's gold indices into them."""
    known = set(union_labels(members)) | (set(VADER_LABELS) if vader else set())
    canonical = LabelSet(tuple(sorted(known))).canonical()
    names = [canonical.get(v.lower(), v) for v in rows.labels or []]
    if not names:
        raise UserError(f"{rows.source}: no labelled tweets to fit the stacker on")
    unknown = sorted(set(names) - known)
    if unknown:
        raise UserError(
            f"{rows.source}: label {', '.join(map(repr, unknown))} is predicted by no member "
            f"({', '.join(sorted(known))}); map it with --label-map or leave those tweets out"
        )
    labels = LabelSet.of(names)
    if len(labels) < 2:
        raise UserError(f"{rows.source}: every tweet has the label {labels[0]!r}; the stacker needs two or more")
    return labels, np.array([labels.index(n) for n in names], dtype=np.int64)


def make_ensemble(
    run_dirs: Sequence[Path], out: Path, fit: TweetRows | None = None, vader: bool = False, name: str = "ensemble"
) -> Ensemble:
    """Write OUT/model and OUT/config.json for an ensemble of `run_dirs` (averaged, or stacked on `fit`)."""
    if len(run_dirs) < 2:
        raise UserError(f"an ensemble needs two or more runs, got {len(run_dirs)}")
    if vader and fit is None:
        raise UserError("--vader needs --fit-data: the stacker learns how much to trust the lexicon")
    members = [load_single(d) for d in run_dirs]  # a damaged member fails here, before anything is written
    ensemble = Ensemble(members, union_labels(members), config={"model": name})
    if fit is not None:
        ensemble.labels, gold = fit_labels(fit, members, vader)
        ensemble.stacker = fit_stacker(stack_features(members, fit.texts, vader), gold, len(ensemble.labels), vader)
    first = read_run_config(Path(run_dirs[0]))
    record: dict[str, Any] = {
        "ensemble": {
            "members": [str(Path(d).resolve()) for d in run_dirs],
            "combiner": "stacker" if fit is not None else "average",
            "fit_data": None if fit is None else {"source": fit.source, "tweets": len(fit), "dropped": fit.dropped},
            "vader": vader,
        },
        # `evaluate OUT` rebuilds the first member's dataset and validation rows from these.
        "train": first["train"],
        "data": first.get("data", {}),
        "dataset": first.get("dataset", {}),
        "versions": package_versions(),
        "command": sys.argv,
    }
    out.mkdir(parents=True, exist_ok=True)
    folder = RunFolder(out)
    save_ensemble(folder.model, ensemble, {"sources": record["ensemble"]["members"]})
    folder.write_config(record)
    return ensemble
