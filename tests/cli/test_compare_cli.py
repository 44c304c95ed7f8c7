"""`tweetsent compare` end to end on a small real subset (two models on tiny budgets, both baselines), the
report's content, re-use of finished runs, and one-line errors."""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tweetsent.evaluation.compare_plots import PUBLISHED
from tweetsent.evaluation.report import STUDY, pct

Cli = Callable[..., tuple[int, str, str]]
MODELS = ("lstm", "bilstm")
SUBSET_ROWS = 4000
VAL_SIZE = 150  # of the subset's 5 % (about 200)


@pytest.fixture(scope="module")
def subset_dir(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real test file and the first rows of the real 20k random training sample (both classes)."""
    source = real_data_dir / "training_random20k_6col.csv"
    if not source.is_file():
        pytest.skip(f"{source} not found")
    folder = tmp_path_factory.mktemp("s140-subset")
    with open(source, encoding="utf-8") as f:
        lines = [next(f) for _ in range(SUBSET_ROWS + 1)]  # with its header row
    (folder / "training.1600000.processed.noemoticon.csv").write_text("".join(lines), encoding="utf-8")
    shutil.copy(real_data_dir / "testdata.manual.2009.06.14.csv", folder)
    return folder


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("caches")


def _use(monkeypatch: pytest.MonkeyPatch, caches: Path) -> None:
    """One cache folder for this module's compares: the second one finds the first one's baselines."""
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(caches / "prepared"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(caches / "glove"))


@pytest.fixture(scope="module")
def compared(subset_dir: Path, caches: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`compare --models lstm,bilstm` with a budget that stops both long before their (many) epochs."""
    from tweetsent.cli.main import run

    out = tmp_path_factory.mktemp("compare") / "out"
    args = ["compare", "--models", ",".join(MODELS), "--budget-minutes", "0.12", "--epochs", "100"]
    args += ["--val-size", str(VAL_SIZE), "--out", str(out), "--data-dir", str(subset_dir), "--no-progress"]
    with pytest.MonkeyPatch.context() as mp:
        _use(mp, caches)
        mp.setattr("sys.argv", ["tweetsent", *args])
        mp.setenv("COLUMNS", "200")
        started = time.perf_counter()
        try:
            run()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        seconds = time.perf_counter() - started
    assert code == 0
    yield {"out": out, "results": json.loads((out / "results.json").read_text()), "seconds": seconds}


class Page(HTMLParser):
    """Every table (as lists of row cells) and every image source of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_budgeted_models_and_baselines_in_results(compared: dict[str, Any]) -> None:
    results = compared["results"]
    assert [m["model"] for m in results["models"]] == list(MODELS)
    assert [b["model"] for b in results["baselines"]] == ["tfidf", "vader"]
    for m in results["models"]:
        # The budget, not the 100 epochs, ended each run; its artifacts are all there.
        assert m["budget_minutes"] == pytest.approx(0.06)
        assert m["stopped_by_budget"] and 0 < m["steps"] < m["max_steps"]
        assert 0 < m["epochs"] < 100 and m["train_seconds"] < 0.06 * 60 + 5
        run_dir = Path(m["run_dir"])
        for name in ("summary.json", "metrics.csv", "model/model.safetensors", "checkpoints/best.ckpt"):
            assert (run_dir / name).is_file(), name
        assert m["predict_tweets_per_second"] > 0 and m["artifact_bytes"] > 0 and m["parameters"] > 0
        assert m["split_note"] is None  # trained on the comparison's own split
    # Models and baselines saw the same training rows and were scored on the same test tweets.
    train_rows = results["data"]["splits"]["train"]
    assert results["data"]["train_tweets_baselines"] == train_rows
    assert all(m["train_tweets"] == train_rows for m in results["models"])
    assert results["data"]["val_tweets"] == VAL_SIZE < results["data"]["splits"]["val"]
    for entry in results["models"] + results["baselines"]:
        assert sum(map(sum, entry["val"]["confusion"])) == VAL_SIZE
    for entry in results["models"] + results["baselines"]:
        assert sum(map(sum, entry["test"]["confusion"])) == results["data"]["splits"]["test"]
        assert sum(map(sum, entry["test_seed"]["confusion"])) == results["data"]["splits"]["test_seed"]


def test_report_html_has_every_row_and_image(compared: dict[str, Any]) -> None:
    out, results = compared["out"], compared["results"]
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    main, study = page.tables[0], page.tables[1]
    rows = {r[0]: r for r in main[1:]}
    entries = results["models"] + results["baselines"]
    assert len(main) - 1 == len(entries) + len(PUBLISHED)
    for m in results["models"]:
        assert rows[m["name"]][3] == pct(m["test"]["accuracy_binary"])
        assert rows[m["name"]][1] == pct(m["test"]["accuracy"])
    for b in results["baselines"]:
        assert rows[f"{b['name']} (baseline)"][3] == pct(b["test"]["accuracy_binary"])
    for name, acc in PUBLISHED:
        assert rows[f"{name} (published)"][3] == pct(acc, 1)
    assert len(study) - 1 == len(STUDY) + len(entries)
    assert {r[0] for r in study[1:]} >= {f"{name} (study)" for name, *_ in STUDY}

    figures = results["figures"]
    assert set(figures) == {"confusion", "curves_steps", "curves_time", "accuracy", "word_map"}
    assert len(page.images) == len(figures)
    for src in page.images:  # self-contained: every image is an embedded PNG
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text(encoding="utf-8")
    for rel in figures.values():
        assert f"]({rel})" in md and (out / rel).stat().st_size > 0
    for entry in entries:
        assert entry["name"] in md
    assert results["command"].startswith("tweetsent compare --models lstm,bilstm")
    assert results["command"] in md and results["versions"]["torch"] in md


def test_compare_of_finished_runs_reuses_them(
    compared: dict[str, Any], caches: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _use(monkeypatch, caches)
    runs = [m["run_dir"] for m in compared["results"]["models"]]
    before = {r: (Path(r) / "summary.json").stat().st_mtime_ns for r in runs}
    data_dir = compared["results"]["data"]["files"]["train"].rsplit("/", 1)[0]
    out = tmp_path / "again"
    started = time.perf_counter()
    args = ["--runs", runs[0], runs[1], "--val-size", str(VAL_SIZE), "--out", str(out), "--data-dir", data_dir]
    code, stdout, err = run_cli("compare", *args)
    seconds = time.perf_counter() - started
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert [m["run_dir"] for m in results["models"]] == runs
    assert not (out / "runs").exists()  # nothing trained
    assert all((Path(r) / "summary.json").stat().st_mtime_ns == t for r, t in before.items())
    assert all(b["cached"] for b in results["baselines"])
    for m, first in zip(results["models"], compared["results"]["models"], strict=True):
        assert m["test"] == first["test"] and m["steps"] == first["steps"]
    assert "lstm" in stdout and "VADER" in stdout and (out / "report.html").is_file()
    assert seconds < 30


def test_same_out_again_reuses_its_runs(compared: dict[str, Any], caches: Path, run_cli: Cli, monkeypatch: Any) -> None:
    _use(monkeypatch, caches)
    out = compared["out"]
    data_dir = compared["results"]["data"]["files"]["train"].rsplit("/", 1)[0]
    args = ["--models", "lstm", "--out", str(out), "--data-dir", data_dir, "--no-baselines"]
    code, _, err = run_cli("compare", *args)
    assert code == 0, err
    assert f"lstm: finished run found in {out / 'runs' / 'lstm'}, reused" in err
    results = json.loads((out / "results.json").read_text())
    assert results["baselines"] == [] and [m["model"] for m in results["models"]] == ["lstm"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "lstm,gru"], "unknown model 'gru': choose one of"),
        (["--runs", "{tmp}/nope"], "no such run directory"),
        (["--runs", "{tmp}/unfinished"], "not a finished run (no summary.json)"),
        (["--models", "lstm", "--budget-minutes", "0"], "--budget-minutes must be positive"),
        (["--models", "lstm", "--preset", "slow"], "--preset must be seed or fast"),
    ],
)
def test_mistakes_are_one_line(run_cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "config.json").write_text("{}")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run_cli("compare", *args, "--out", str(tmp_path / "out"))
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert not (tmp_path / "out" / "runs").exists()  # found before any training
