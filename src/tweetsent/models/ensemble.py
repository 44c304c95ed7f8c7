"""An ensemble of finished runs, loaded like one run: `predict`, `serve`, `evaluate`, `calibrate`, `compare` and
`tweetsent.load` take its folder.

model/config.json      "family": "ensemble", the label names, the combiner and the members' folders
model/members/N/       each member's own model folder, copied (the ensemble does not depend on the runs)

Two combiners. `average`: each label's probability is the mean over the members that have that label (members
may differ in family and label set: labels are matched by name), renormalised. `stacker`: a multinomial
logistic regression, fitted on a labelled file, over every member's probabilities and optionally the VADER
lexicon's four scores; its weights are stored in config.json and applied with numpy (no scikit-learn when
predicting). Predicting costs the sum of the members.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.core.atomic import atomic_dir
from tweetsent.core.errors import UserError
from tweetsent.core.labels import STANDARD, LabelSet, with_prior
from tweetsent.models.artifact import FORMAT_VERSION, LOADERS, Artifact, load_single
from tweetsent.models.lexicon import vader_scores

FAMILY = "ensemble"
MEMBERS = "members"


@dataclass
class Stacker:
    """Softmax(features @ coef.T + intercept), the features being the members' probabilities in order, then VADER's
    scores when `vader`."""

    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray  # (labels,)
    vader: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist(), "vader": self.vader}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stacker:
        return cls(
            np.asarray(d["coef"], dtype=np.float64), np.asarray(d["intercept"], dtype=np.float64), bool(d["vader"])
        )


def union_labels(members: Sequence[Artifact]) -> LabelSet:
    """The members' labels by name: the standard ones in their order, then the others as they come. Labels no two
    members share are kept; members that share none are refused."""
    seen: dict[str, None] = {}
    for m in members:
        seen.update(dict.fromkeys(m.labels))
    shared = set(members[0].labels).intersection(*(set(m.labels) for m in members[1:]))
    if not shared:
        described = "; ".join(f"{m.name}: {', '.join(m.labels)}" for m in members)
        raise UserError(f"the members' label sets have no label in common ({described})")
    standard = [n for n in STANDARD if n in seen]
    return LabelSet((*standard, *(n for n in seen if n not in standard)))


@dataclass
class Ensemble:
    members: list[Artifact]
    labels: LabelSet
    stacker: Stacker | None = None
    config: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    class_bias: np.ndarray | None = None  # as a single model's (`calibrate`)

    @property
    def name(self) -> str:
        return str(self.config.get("model", "ensemble"))

    def to(self, device: str) -> None:
        for m in self.members:
            m.to(device)

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        return with_prior(self._combined(texts, batch_size, html_decoded), self.class_bias)

    def _combined(self, texts: Sequence[str] | pa.Array, batch_size: int, html_decoded: bool) -> np.ndarray:
        if self.stacker is not None:
            features = stack_features(self.members, texts, self.stacker.vader, batch_size, html_decoded)
            logits = features @ self.stacker.coef.T + self.stacker.intercept
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        probs = [m.predict_proba(texts, batch_size, html_decoded) for m in self.members]
        return average(probs, self.members, self.labels)


def stack_features(
    members: Sequence[Artifact],
    texts: Sequence[str] | pa.Array,
    vader: bool,
    batch_size: int = 512,
    html_decoded: bool = False,
) -> np.ndarray:
    """What a stacker reads: every member's probabilities side by side, then VADER's four scores."""
    parts = [m.predict_proba(texts, batch_size, html_decoded) for m in members]
    if vader:
        parts.append(vader_scores(texts, html_decoded))
    return np.concatenate(parts, axis=1)


def average(probs: list[np.ndarray], members: Sequence[Artifact], labels: LabelSet) -> np.ndarray:
    """Each label's mean probability over the members that have it, renormalised to sum to one."""
    n = len(probs[0])
    total, count = np.zeros((n, len(labels))), np.zeros(len(labels))
    for p, m in zip(probs, members, strict=True):
        columns = m.labels.mapping_to(labels)
        total[:, columns] += p
        count[columns] += 1
    mean = total / np.maximum(count, 1)
    return (mean / np.maximum(mean.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)


def fit_stacker(features: np.ndarray, gold: np.ndarray, n_labels: int, vader: bool, seed: int = 0) -> Stacker:
    """Multinomial logistic regression of gold label indices on the features (scikit-learn), as numpy weights."""
    from sklearn.linear_model import LogisticRegression

    present = np.unique(gold)
    if len(present) < 2:
        raise UserError("--fit-data needs tweets of two or more labels to fit the stacker's weights")
    lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    lr.fit(features, gold)
    coef = np.full((n_labels, features.shape[1]), 0.0)
    intercept = np.full(n_labels, -30.0)  # a label absent from the fit data is never predicted
    if len(lr.classes_) == 2:  # scikit-learn keeps one row for two classes: p(second) = sigmoid(x w + b)
        coef[lr.classes_[1]], intercept[lr.classes_[1]] = lr.coef_[0], lr.intercept_[0]
        intercept[lr.classes_[0]] = 0.0
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    return Stacker(coef, intercept, vader)


def save_ensemble(folder: Path, ensemble: Ensemble, extra: dict[str, Any]) -> None:
    """Write model/ atomically, each member's folder copied in."""
    sources = [m.folder for m in ensemble.members]
    config = {
        "format_version": FORMAT_VERSION,
        "family": FAMILY,
        "model": ensemble.name,
        "labels": ensemble.labels.to_list(),
        "combiner": "stacker" if ensemble.stacker else "average",
        "stacker": ensemble.stacker.to_dict() if ensemble.stacker else None,
        "members": [f"{MEMBERS}/{i}" for i in range(len(sources))],
        "member_names": [m.name for m in ensemble.members],
        **extra,
    }
    with atomic_dir(folder) as tmp:
        for i, source in enumerate(sources):
            assert source is not None
            shutil.copytree(source, tmp / MEMBERS / str(i))
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    ensemble.config, ensemble.folder = config, folder


def load_ensemble(folder: Path, config: dict[str, Any]) -> Ensemble:
    try:
        members = [load_single(folder / str(rel)) for rel in config["members"]]
        labels = LabelSet(tuple(config["labels"]))
        stacker = Stacker.from_dict(config["stacker"]) if config.get("stacker") else None
    except UserError as e:
        raise UserError(f"{folder}: a damaged ensemble member ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{folder}: corrupt ensemble config ({type(e).__name__}: {e})") from None
    if len(members) < 2:
        raise UserError(f"{folder}: an ensemble needs two or more members, found {len(members)}")
    if stacker is not None:
        width = sum(len(m.labels) for m in members) + (4 if stacker.vader else 0)
        if stacker.coef.shape != (len(labels), width):
            raise UserError(f"{folder}: the stacker's weights do not fit the members (shape {stacker.coef.shape})")
    return Ensemble(members, labels, stacker, config, folder)


LOADERS[FAMILY] = load_ensemble
