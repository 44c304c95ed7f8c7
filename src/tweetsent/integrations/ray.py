"""Scoring a Ray Dataset: `Predictor` is a callable class for `Dataset.map_batches`.

    import ray
    from tweetsent.integrations.ray import Predictor

    ds = ray.data.read_parquet("tweets.parquet")  # a `text` column
    scored = ds.map_batches(Predictor, fn_constructor_kwargs={"model": None}, batch_size=1024, concurrency=2)
    scored.write_parquet("scored/")

Ray starts `concurrency` actors; each loads the model once (no path: the packaged model) and scores the batches
it is given. Every input column comes back unchanged, with `label` (the decided label, neutral band included) and
one `p_<label>` column per model label. pandas, NumPy (a dict of arrays) and pyarrow batches are accepted, and the
answer has the batch's own kind. Nothing here imports Ray: Ray imports this class in its actors.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from tweetsent.inference.classifier import Classifier

TEXT = "text"
LABEL = "label"

Batch = TypeVar("Batch")


class Predictor:
    """Scores the `text` column of a batch: `label` plus a `p_<label>` probability column per model label.

    `model`: a run directory or its `model/` folder (a path every Ray node can read); None: the packaged model.
    `runtime` (auto, torch, numpy, ...), `neutral_margin` and `batch_size` are `tweetsent.load`'s. One thread per
    actor: Ray's actors are the parallelism."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        runtime: str = "auto",
        neutral_margin: float | None = None,
        batch_size: int = 512,
    ) -> None:
        self.classifier = Classifier.load(
            model, runtime=runtime, neutral_margin=neutral_margin, batch_size=batch_size, workers=1
        )
        self.probability_columns = [f"p_{name}" for name in self.classifier.labels.names]
        self.columns = [LABEL, *self.probability_columns]
        self._decisions = np.asarray(self.classifier.decisions.names, dtype=object)

    def __call__(self, batch: Batch) -> Batch:
        """The batch with `label` and the `p_<label>` columns added after its own (a new object of the same kind:
        a pandas DataFrame, a dict of NumPy arrays or a pyarrow Table)."""
        if isinstance(batch, dict):
            columns = list(batch)
            self._check(columns)
            col = batch[TEXT]
            labels, probs = self._score(col.tolist() if isinstance(col, np.ndarray) else list(col))
            out: dict[str, Any] = dict(batch)
            out[LABEL] = labels
            for j, name in enumerate(self.probability_columns):
                out[name] = probs[:, j]
            return cast(Batch, out)
        if _is_arrow(batch):
            table: Any = batch
            self._check(list(table.column_names))
            labels, probs = self._score(table.column(TEXT).to_pylist())
            import pyarrow as pa

            table = table.append_column(LABEL, pa.array(labels.tolist(), type=pa.string()))
            for j, name in enumerate(self.probability_columns):
                table = table.append_column(name, pa.array(probs[:, j]))
            return cast(Batch, table)
        if _is_pandas(batch):
            frame: Any = batch
            self._check([str(c) for c in frame.columns])
            labels, probs = self._score(frame[TEXT].tolist())
            frame = frame.copy(deep=False)
            frame[LABEL] = labels
            for j, name in enumerate(self.probability_columns):
                frame[name] = probs[:, j]
            return cast(Batch, frame)
        raise TypeError(
            f"a batch must be a pandas DataFrame, a dict of NumPy arrays or a pyarrow Table, not "
            f"{type(batch).__module__}.{type(batch).__name__} (map_batches: batch_format='pandas' or 'numpy')"
        )

    def _check(self, columns: list[str]) -> None:
        if TEXT not in columns:
            raise ValueError(
                f"the batch has no {TEXT!r} column; its columns are: {', '.join(map(repr, columns)) or 'none'} "
                f"(rename the tweets' column to {TEXT!r}, e.g. ds.rename_columns({{'tweet': 'text'}}))"
            )
        taken = [c for c in self.columns if c in columns]
        if taken:
            raise ValueError(
                f"the batch already has column(s) {', '.join(map(repr, taken))}, which the predictions would "
                f"overwrite; rename them first (ds.rename_columns)"
            )

    def _score(self, texts: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(decided labels as an object array, probabilities (N, len(labels)) float32)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(
                    f"column {TEXT!r}: row {i} of the batch is {_describe(text)}, not a string; every text must be a "
                    f"string (drop or fill the others first: ds.filter(lambda row: isinstance(row['text'], str)))"
                )
        probs = self.classifier.predict_proba(texts)
        return self._decisions[self.classifier.decide(probs)], probs

    def __repr__(self) -> str:
        return f"Predictor({self.classifier!r})"


def _describe(value: Any) -> str:
    if (
        value is None
        or type(value).__name__ in ("NAType", "NaTType")
        or (isinstance(value, float) and math.isnan(value))
    ):
        return "null"
    return f"a value of type {type(value).__name__} ({value!r:.40})"


def _is_pandas(batch: object) -> bool:
    pandas = sys.modules.get("pandas")  # not imported: the batch cannot be a DataFrame
    return pandas is not None and isinstance(batch, pandas.DataFrame)


def _is_arrow(batch: object) -> bool:
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(batch, pyarrow.Table)
