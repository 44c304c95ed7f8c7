"""`tweetsent.integrations.ray.Predictor`: called directly on pandas, NumPy and pyarrow batches, and inside
`Dataset.map_batches` on a local Ray instance, its labels are `tweetsent.load(model).predict`'s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tweetsent
from tests.conftest import tweet_rows
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.integrations.ray import Predictor

TWEETS = [*TEXTS, *(row[1] for row in tweet_rows(300, seed=3)), "reading the news", "at the airport"]
PROBS = ["p_negative", "p_neutral", "p_positive"]


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor()


@pytest.fixture(scope="module")
def expected() -> list[str]:
    return [p.label for p in tweetsent.load().predict(TWEETS)]


def test_pandas_batch_keeps_its_columns_and_order(predictor: Predictor, expected: list[str]) -> None:
    ids = np.arange(len(TWEETS))[::-1]
    batch = pd.DataFrame({"id": ids, "text": TWEETS, "user": [f"u{i}" for i in ids]}, index=ids)
    out = predictor(batch)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["id", "text", "user", "label", *PROBS]
    assert list(out.index) == list(ids) and list(out["id"]) == list(ids) and list(out["text"]) == TWEETS
    assert list(out["label"]) == expected
    reference = tweetsent.load().predict_proba(TWEETS)
    np.testing.assert_allclose(out[PROBS].to_numpy(), reference, rtol=1e-6)
    assert list(batch.columns) == ["id", "text", "user"]  # the input is left as it was


def test_numpy_batch(predictor: Predictor, expected: list[str]) -> None:
    batch = {"id": np.arange(len(TWEETS)), "text": np.array(TWEETS, dtype=object)}
    out = predictor(batch)
    assert isinstance(out, dict)
    assert list(out) == ["id", "text", "label", *PROBS]
    assert out["label"].tolist() == expected
    assert out["id"].tolist() == list(range(len(TWEETS)))
    assert all(out[name].shape == (len(TWEETS),) and out[name].dtype == np.float32 for name in PROBS)
    np.testing.assert_allclose(sum(out[name] for name in PROBS), 1.0, rtol=1e-5)
    unicode = predictor({"text": np.array(TWEETS)})  # a fixed-width str array, as NumPy builds it from strings
    assert unicode["label"].tolist() == expected


def test_arrow_batch(predictor: Predictor, expected: list[str]) -> None:
    out = predictor(pa.table({"text": TWEETS, "n": list(range(len(TWEETS)))}))
    assert isinstance(out, pa.Table)
    assert out.column_names == ["text", "n", "label", *PROBS]
    assert out.column("label").to_pylist() == expected


def test_arrow_backed_pandas_batch(predictor: Predictor, expected: list[str]) -> None:
    """Ray hands pandas batches with pyarrow dtypes; a null there is pandas' NA."""
    batch = pa.table({"text": TWEETS}).to_pandas(types_mapper=pd.ArrowDtype)
    assert list(predictor(batch)["label"]) == expected
    with pytest.raises(ValueError, match="row 1 of the batch is null"):
        predictor(pa.table({"text": ["fine", None]}).to_pandas(types_mapper=pd.ArrowDtype))


def test_empty_batch(predictor: Predictor) -> None:
    out = predictor(pd.DataFrame({"text": pd.Series([], dtype=object)}))
    assert list(out.columns) == ["text", "label", *PROBS] and len(out) == 0


@pytest.mark.parametrize(
    "batch",
    [pd.DataFrame({"tweet": ["hi"], "id": [1]}), {"tweet": np.array(["hi"]), "id": np.array([1])}],
    ids=["pandas", "numpy"],
)
def test_a_batch_without_text_names_its_columns(predictor: Predictor, batch: Any) -> None:
    with pytest.raises(ValueError, match=r"no 'text' column; its columns are: 'tweet', 'id'") as info:
        predictor(batch)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("batch", "what"),
    [
        (pd.DataFrame({"text": ["fine", None]}), "row 1 of the batch is null"),
        ({"text": np.array(["fine", "ok", None], dtype=object)}, "row 2 of the batch is null"),
        ({"text": np.array([b"bytes"], dtype=object)}, "row 0 of the batch is a value of type bytes"),
        ({"text": np.array([3, 4])}, "row 0 of the batch is a value of type int"),
    ],
)
def test_texts_that_are_not_strings(predictor: Predictor, batch: Any, what: str) -> None:
    with pytest.raises(ValueError, match=what):
        predictor(batch)


def test_output_columns_that_exist_already(predictor: Predictor) -> None:
    with pytest.raises(ValueError, match=r"already has column.*'label'"):
        predictor(pd.DataFrame({"text": ["hi"], "label": ["positive"]}))


def test_not_a_batch(predictor: Predictor) -> None:
    with pytest.raises(TypeError, match="pandas DataFrame, a dict of NumPy arrays or a pyarrow Table"):
        predictor(["a list of texts"])


def test_a_run_directory_with_a_neutral_band(tmp_path: Path) -> None:
    """A negative/positive torch model: the band adds neutral to `label`, not a probability column."""
    run = make_run(tmp_path / "run", labels=("negative", "positive"))
    predictor = Predictor(run, neutral_margin=0.3, batch_size=64)
    out = predictor(pd.DataFrame({"text": TWEETS}))
    assert list(out.columns) == ["text", "label", "p_negative", "p_positive"]
    clf = tweetsent.load(run, neutral_margin=0.3)
    assert list(out["label"]) == [p.label for p in clf.predict(TWEETS)]
    assert "neutral" in set(out["label"])


# On a local Ray instance.


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_map_batches_on_ray(ray_local: Any, expected: list[str], tmp_path: Path) -> None:
    ds = ray_local.data.from_items([{"id": i, "text": t} for i, t in enumerate(TWEETS)])
    scored = ds.map_batches(Predictor, fn_constructor_kwargs={"model": None}, batch_size=100, concurrency=1)
    scored = scored.materialize()  # scored once, read twice below
    rows = sorted(scored.take_all(), key=lambda row: row["id"])
    assert [row["id"] for row in rows] == list(range(len(TWEETS)))
    assert [row["text"] for row in rows] == TWEETS
    assert [row["label"] for row in rows] == expected
    assert list(rows[0]) == ["id", "text", "label", *PROBS]

    out = tmp_path / "scored"
    scored.write_parquet(str(out))
    back = ray_local.data.read_parquet(str(out)).to_pandas().sort_values("id")
    assert list(back.columns) == ["id", "text", "label", *PROBS]
    assert list(back["label"]) == expected
    # Batches of 100 rather than one call: the same probabilities up to float32 rounding.
    reference = tweetsent.load().predict_proba(TWEETS)
    np.testing.assert_allclose(back[PROBS].to_numpy(dtype=np.float32), reference, rtol=1e-4, atol=1e-6)
