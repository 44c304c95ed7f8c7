"""Label sets: the names a model predicts, in a fixed order, and the rule that turns probabilities into labels.

A model predicts over its own label set (the labels of its training data, as the user wrote them). Two label
sets have a special meaning here, because Sentiment140's training data is only negative or positive:
- a set with `negative` and `positive` is *polar*: binary accuracy (negative vs positive) is defined for it;
- the set of exactly `negative` and `positive` is *bandable*: the neutral band adds `neutral`, predicted
  wherever |p(positive) - p(negative)| < margin, and such a model may be measured on data with neutral tweets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tweetsent.core.errors import UserError

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
STANDARD = (NEGATIVE, NEUTRAL, POSITIVE)
# The usual abbreviations of the standard names, accepted wherever a file's labels are matched to a model's.
ABBREVIATIONS = {"neg": NEGATIVE, "neu": NEUTRAL, "pos": POSITIVE}


@dataclass(frozen=True)
class LabelSet:
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f"a label set needs distinct names, not {self.names!r}")

    @classmethod
    def of(cls, values: Iterable[str], order: Sequence[str] | None = None) -> LabelSet:
        """The distinct `values`, in `order` when given (every value must be in it), else the standard names
        first in their usual order, then the rest sorted (numerically when they are all numbers)."""
        distinct = set(values)
        if order is not None:
            return cls(tuple(order))
        standard = [n for n in STANDARD if n in distinct]
        rest = sorted(distinct - set(standard), key=lambda v: (float(v), v) if is_number(v) else (float("inf"), v))
        return cls(tuple(standard + rest))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __getitem__(self, i: int) -> str:
        return self.names[i]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def polar(self) -> bool:
        return NEGATIVE in self and POSITIVE in self

    @property
    def bandable(self) -> bool:
        return set(self.names) == {NEGATIVE, POSITIVE}

    def with_neutral(self) -> LabelSet:
        """The band's decisions: `neutral` inserted before `positive`."""
        names = list(self.names)
        names.insert(names.index(POSITIVE), NEUTRAL)
        return LabelSet(tuple(names))

    def mapping_to(self, other: LabelSet) -> np.ndarray:
        """For each of our names its index in `other`, -1 where `other` lacks it."""
        return np.array([other.names.index(n) if n in other else -1 for n in self.names], dtype=np.int64)

    def canonical(self) -> dict[str, str]:
        """File values matched to these names: the names in any case, plus neg/neu/pos for standard ones."""
        out = {n.lower(): n for n in self.names}
        out.update({short: name for short, name in ABBREVIATIONS.items() if name in self and short not in out})
        return out

    def matching(self, band: bool = False) -> dict[str, str]:
        """File values matched to these names (`canonical`); with `band`, neutral too for a negative/positive
        set (the neutral band predicts it)."""
        return (self.with_neutral() if band and self.bandable else self).canonical()

    def to_list(self) -> list[str]:
        return list(self.names)


def is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def evaluation_space(model: LabelSet, gold: LabelSet, where: str = "") -> LabelSet:
    """The labels a model's decisions are scored in against gold labels `gold`: the model's own, plus
    `neutral` when the model is bandable and the gold data has neutral tweets. Gold labels outside it are a
    UserError (the model can never predict them)."""
    space = model.with_neutral() if model.bandable and NEUTRAL in gold else model
    unknown = [n for n in gold if n not in space]
    if unknown:
        raise UserError(
            f"{where}label {', '.join(map(repr, unknown))} never seen in training "
            f"(the model predicts {', '.join(model.names)})"
        )
    return space


def decide(probs: np.ndarray, labels: LabelSet, margin: float, space: LabelSet | None = None) -> np.ndarray:
    """Label indices into `space` (default: the labels the decisions can take) from probabilities (N, len(labels)):
    the most probable label, except neutral where the model is bandable and |p(positive) - p(negative)| < margin."""
    band = margin > 0 and labels.bandable
    space = space or (labels.with_neutral() if band else labels)
    # float64 as in the margin search, so a margin chosen there splits the tweets exactly the same way here.
    probs = np.asarray(probs, dtype=np.float64)
    predicted = labels.mapping_to(space)[probs.argmax(axis=1)] if len(probs) else np.zeros(0, dtype=np.int64)
    if band and len(probs):
        gap = np.abs(probs[:, labels.index(POSITIVE)] - probs[:, labels.index(NEGATIVE)])
        predicted = np.where(gap < margin, space.index(NEUTRAL), predicted)
    return predicted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities from logits (N, classes), computed stably."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def with_prior(probs: np.ndarray, class_bias: np.ndarray | None, temperature: float = 1.0) -> np.ndarray:
    """(p * exp(bias))^(1/T), renormalised: the same model under other class priors (bias None: unchanged) and at
    another temperature (T > 1 softer, T < 1 sharper)."""
    if (class_bias is None and temperature == 1.0) or not len(probs):
        return probs
    logp = np.log(np.clip(probs.astype(np.float64), 1e-12, 1.0)) + (0.0 if class_bias is None else class_bias)
    logp /= temperature
    return softmax(logp).astype(probs.dtype)
