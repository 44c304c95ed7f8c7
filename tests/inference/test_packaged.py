"""The packaged model: `tweetsent.load()`, `tweetsent predict "text"` and `tweetsent serve` use it when no run folder
is given; `package` writes a folder with float16 weights, figures and a card; and the model that ships scores on
SemEval-2016 test what its card says."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import tweetsent
from tests.conftest import invoke_cli, module_caches
from tests.training.test_any_data import invoke, labelled_rows, write_labelled
from tweetsent.core import paths
from tweetsent.evaluation.card import RESULTS, scores

SHIPPED = paths.packaged_model()
COMMON = ["--batch-size", "16", "--eval-every", "20", "--precision", "32-true", "--min-count", "1", "--no-progress"]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tiny `bag` run packaged as `make model` packages the real one."""
    folder = tmp_path_factory.mktemp("packaged")
    with module_caches(folder):
        write_labelled(folder / "hand.csv", {"negative": 60, "neutral": 60, "positive": 60}, seed=0)
        write_labelled(folder / "test.csv", {"negative": 20, "neutral": 20, "positive": 20}, seed=5)
        (folder / "speed.txt").write_text("\n".join(t for _, t in labelled_rows({"neutral": 600}, seed=3)))
        assert invoke("train", "bag", "--data", str(folder / "hand.csv"), "--max-steps", "80", *COMMON,
                      "--out", str(folder / "run")) == 0  # fmt: skip
        code, _, err = invoke_cli("package", str(folder / "run"), "--out", str(folder / "model"), "--eval-data",
                                    str(folder / "test.csv"), "--speed-data", str(folder / "speed.txt"))  # fmt: skip
        assert code == 0, err
        yield folder / "model"


@pytest.fixture
def as_shipped(packaged: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWEETSENT_PACKAGED_MODEL", str(packaged))
    return packaged


def test_package_writes_half_weights_figures_and_a_card(packaged: Path) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(packaged / "model.safetensors"))
    assert {v.dtype for v in weights.values()} == {np.dtype("float16")}
    results = json.loads((packaged / RESULTS).read_text())
    (name,) = results["sets"]  # the file's short name, as `compare` and `evaluate` name it
    assert name.endswith("-test") and 0 <= results["sets"][name]["student"]["macro_f1"] <= 1
    assert results["speed"]["tweets"] == 600 and results["speed"]["vader"] > 0
    card = (packaged / "README.md").read_text()
    assert "## Data and licence" in card and f"{results['sets'][name]['student']['macro_f1']:.3f}" in card


def test_load_without_a_path_is_the_packaged_model(as_shipped: Path) -> None:
    clf = tweetsent.load()
    assert clf.model_dir == as_shipped and clf.name == "bag"
    run = tweetsent.load(as_shipped.parent / "run")  # a run folder given works as before
    texts = ["happy joy", "sad cry tears"]
    assert np.allclose(clf.predict_proba(texts), run.predict_proba(texts), atol=1e-2)  # float16 weights


def test_predict_without_a_run_folder(as_shipped: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli("predict", "happy joy", "sad cry tears", "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == ["happy joy", "sad cry tears"]
    code, out, err = run_cli("predict", str(as_shipped.parent / "run"), "happy joy", "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == 1
    code, _, err = run_cli("predict", "runs/not-there", "happy joy")
    assert code == 2 and "runs/not-there: no such run directory" in err


def test_serve_without_a_run_folder(as_shipped: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    code, _, err = run_cli("serve", "--workers", "1")
    assert code == 0, err
    model = TestClient(served[0]).get("/model").json()  # type: ignore[arg-type]
    assert model["name"] == "bag"


def test_no_packaged_model_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TWEETSENT_PACKAGED_MODEL", str(tmp_path / "none"))
    code, _, err = run_cli("predict", "happy")
    assert code == 2 and "no packaged model" in err and len(err.strip().splitlines()) == 1


def test_the_shipped_model_scores_what_its_card_says(shared_data_dir: Path) -> None:
    """The model inside the package against its card: macro-F1 on SemEval-2016 test at most 0.005 below."""
    if os.environ.get("TWEETSENT_PACKAGED_MODEL"):
        pytest.skip("TWEETSENT_PACKAGED_MODEL points elsewhere")
    assert (SHIPPED / RESULTS).is_file(), f"no packaged model in {SHIPPED} (make model builds it)"
    card = json.loads((SHIPPED / RESULTS).read_text())["sets"]["semeval2016_task4a-test"]["student"]
    clf = tweetsent.load()
    got = scores(clf.predict_proba, clf.labels, shared_data_dir / "semeval2016_task4a" / "test.tsv")
    assert got["n"] == card["n"] == 1797
    assert got["macro_f1"] >= card["macro_f1"] - 0.005


def test_shipped_binaries_stay_small() -> None:
    binaries = [p for p in SHIPPED.rglob("*") if p.is_file() and p.suffix not in (".json", ".md", ".txt")]
    assert sum(p.stat().st_size for p in binaries) <= 8 << 20


def test_evaluate_without_a_run_folder(
    as_shipped: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    results = json.loads((as_shipped / RESULTS).read_text())
    ((name, entry),) = results["sets"].items()
    code, _, err = run_cli("evaluate", "--data", entry["file"])
    assert code == 0, err
    metrics = json.loads((tmp_path / "runs" / "packaged" / "eval" / name / "metrics.json").read_text())["metrics"]
    assert metrics["macro_f1"] == pytest.approx(entry["student"]["macro_f1"])
    code, _, err = run_cli("evaluate")
    assert code == 2 and "give a run directory" in err


def test_compare_takes_a_packaged_model(packaged: Path, real_data_dir: Path, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """`make run` puts the packaged model beside the study's models: compare scores a packaged folder like a run."""
    out = tmp_path / "cmp"
    code, _, err = run_cli(
        "compare", "--runs", str(packaged), "--no-baselines", "--val-size", "200", "--out", str(out), "--no-progress"
    )
    assert code == 0, err
    (entry,) = json.loads((out / "results.json").read_text())["models"]
    assert entry["name"] == "packaged bag" and entry["scores"]["test"]["accuracy"] > 0
