"""`tweetsent compare` end to end on a small real subset (two models on tiny budgets, both baselines), the
report's content, re-use of finished runs, and one-line errors."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.browser import measure
from tweetsent.comparison.report import pct
from tweetsent.data.dataset import SENTIMENT140_REFERENCES

PUBLISHED = SENTIMENT140_REFERENCES["binary"]["results"]
STUDY = SENTIMENT140_REFERENCES["study"]["rows"]

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
def cross_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small hand-labelled file of another source: three classes and a label no model predicts."""
    path = tmp_path_factory.mktemp("cross") / "other.csv"
    rows = [
        ("i love this so much", "positive"),
        ("worst phone ever and i hate it", "negative"),
        ("going to work", "neutral"),
    ]
    rows += [("great great day", "positive"), ("so sad and tired", "negative"), ("the bus is at 5", "neutral")]
    rows += [("buy now cheap pills", "irrelevant")]
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows * 3))
    return path


@pytest.fixture(scope="module")
def transfer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hand-labelled tweets in three classes for the transfer stage (60 tweets, 10 % held out)."""
    path = tmp_path_factory.mktemp("transfer") / "hand.csv"
    words = {
        "positive": ["love", "great", "happy"],
        "negative": ["hate", "awful", "sad"],
        "neutral": ["bus", "at", "5"],
    }
    rows = [
        f"{' '.join(ws[i % 3 :] + ws[: i % 3])} today {i},{label}" for label, ws in words.items() for i in range(20)
    ]
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("caches")


def _use(monkeypatch: pytest.MonkeyPatch, caches: Path) -> None:
    """One cache folder for this module's compares: the second one finds the first one's baselines."""
    monkeypatch.setenv("TWEETSENT_CACHE_DIR", str(caches / "prepared"))
    monkeypatch.setenv("TWEETSENT_GLOVE_DIR", str(caches / "glove"))


@pytest.fixture(scope="module")
def compared(
    subset_dir: Path, caches: Path, cross_file: Path, transfer_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """`compare --models lstm,bilstm` with a budget that stops both long before their (many) epochs, a
    cross-domain file, and the three-class recipe (--transfer-data) with two seeds."""
    from tweetsent.cli.main import run

    out = tmp_path_factory.mktemp("compare") / "out"
    args = ["compare", "--models", ",".join(MODELS), "--budget-minutes", "0.12", "--epochs", "100"]
    args += ["--val-size", str(VAL_SIZE), "--out", str(out), "--data-dir", str(subset_dir), "--no-progress"]
    args += ["--eval-data", str(cross_file), "--transfer-data", str(transfer_file), "--transfer-seeds", "2"]
    with pytest.MonkeyPatch.context() as mp:
        _use(mp, caches)
        mp.setattr("sys.argv", ["tweetsent", *args])
        mp.setenv("COLUMNS", "200")
        try:
            run()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    assert code == 0
    yield {"out": out, "results": json.loads((out / "results.json").read_text())}


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


def test_the_three_class_recipe_adds_transferred_models_and_an_ensemble(compared: dict[str, Any]) -> None:
    """--transfer-data: each model warm-started on the hand labels, then stacked with VADER into an ensemble; all
    of them scored on the same sets as the two-class models."""
    results = compared["results"]
    transfer = [m for m in results["models"] if Path(m["run_dir"]).name.endswith("-transfer")]
    assert [Path(m["run_dir"]).name for m in transfer] == [f"{m}-transfer" for m in MODELS]
    for m in transfer:
        config = json.loads((Path(m["run_dir"]) / "config.json").read_text())
        assert config["train"]["init_from"].endswith(f"runs/{m['model']}") and config["train"]["preset"] == "small"
        assert m["labels"] == ["negative", "neutral", "positive"]
        assert m["scores"]["test"]["labels"] == ["negative", "neutral", "positive"]
    (ensemble,) = [m for m in results["models"] if m["kind"] == "ensemble"]
    model = json.loads((Path(ensemble["run_dir"]) / "model" / "config.json").read_text())
    assert model["combiner"] == "stacker" and model["stacker"]["vader"] and len(model["members"]) == len(MODELS)
    assert (Path(ensemble["run_dir"]) / "summary.json").is_file()
    assert "ensemble" in (compared["out"] / "report.md").read_text()


def test_the_three_class_rows_give_the_mean_and_spread_of_their_seeds(compared: dict[str, Any]) -> None:
    """--transfer-seeds 2: each three-class row is two runs (seeds 0 and 1, the second in NAME-seed1, warm-started
    from the one Sentiment140 run), shown as their mean and standard deviation; each seed's figures kept."""
    results = compared["results"]
    study = [m for m in results["models"] if m["model"] in MODELS and m["labels"] == ["negative", "positive"]]
    assert [m["seeds"] for m in study] == [[0], [0]] and all("per_seed" not in m for m in study)
    three = [m for m in results["models"] if m not in study]
    assert len(three) == len(MODELS) + 1  # the transfer rows and the ensemble
    for m in three:
        assert m["seeds"] == [0, 1]
        first, second = m["per_seed"]
        assert Path(second["run_dir"]).name == f"{Path(first['run_dir']).name}-seed1"
        for name, metrics in m["scores"].items():
            a, b = first["scores"][name]["macro_f1"], second["scores"][name]["macro_f1"]
            assert metrics["macro_f1"] == pytest.approx((a + b) / 2)
            assert metrics["sd"]["macro_f1"] == pytest.approx(abs(a - b) / 2**0.5)
        if m["kind"] == "ensemble":
            continue
        config = json.loads((Path(second["run_dir"]) / "config.json").read_text())
        assert config["train"]["seed"] == 1 and config["train"]["init_from"].endswith(f"runs/{m['model']}")
        # The speed is the first seed's: the second is not timed again.
        assert m["predict_tweets_per_second"] > 0
    report = (compared["out"] / "report.md").read_text()
    assert "(2 seeds)" in report and " ± " in report


def test_the_baselines_are_fitted_on_the_hand_labels_too(compared: dict[str, Any]) -> None:
    """TF-IDF and fastText learn from data: the three-class recipe's file gets its own rows (VADER's would be the
    same as its first)."""
    hand = [b for b in compared["results"]["baselines"] if b["name"].endswith("(hand labels)")]
    assert [b["model"] for b in hand] == ["tfidf", "fasttext"]
    for b in hand:
        assert b["labels"] == ["negative", "neutral", "positive"]
        assert b["train_tweets"] == 54  # the hand-labelled file's 60 tweets less its 10 % validation split
        assert b["scores"]["test"]["macro_f1"] is not None
    assert "fastText 1-2 grams (hand labels)" in (compared["out"] / "report.md").read_text()


def test_budgeted_models_and_baselines_in_results(compared: dict[str, Any]) -> None:
    results = compared["results"]
    assert [m["model"] for m in results["models"]][: len(MODELS)] == list(MODELS)
    assert [b["model"] for b in results["baselines"]] == ["tfidf", "fasttext", "vader", "tfidf", "fasttext"]
    for m in results["models"][: len(MODELS)]:
        # The budget, not the 100 epochs, ended each run; its artifacts are all there.
        assert m["budget_minutes"] == pytest.approx(0.06)
        assert m["stopped_by_budget"] and 0 < m["steps"] < m["max_steps"]
        assert 0 < m["epochs"] < 100 and m["train_seconds"] < 0.06 * 60 + 5
        run_dir = Path(m["run_dir"])
        for name in ("summary.json", "metrics.csv", "model/model.safetensors", "checkpoints/best.ckpt"):
            assert (run_dir / name).is_file(), name
        assert m["predict_tweets_per_second"] > 0 and m["artifact_bytes"] > 0 and m["parameters"] > 0
        assert m["split_note"] is None  # trained on the comparison's own split
    # Models and baselines saw the same training rows and were scored on the same tweets.
    splits = results["dataset"]["splits"]
    assert results["dataset"]["train_tweets_baselines"] == splits["train"]
    assert all(m["train_tweets"] == splits["train"] for m in results["models"][: len(MODELS)])
    sizes = {s["name"]: s["n"] for s in results["sets"]}
    assert sizes["val"] == VAL_SIZE < splits["val"]
    assert [s["kind"] for s in results["sets"]] == ["val", "test", "test", "cross"]
    for entry in results["models"] + results["baselines"]:
        for name in ("val", "test", "test_seed"):
            assert sum(map(sum, entry["scores"][name]["confusion"])) == sizes[name]


def test_cross_domain_scores_leave_out_labels_a_model_cannot_predict(compared: dict[str, Any]) -> None:
    results = compared["results"]
    cross = next(s for s in results["sets"] if s["kind"] == "cross")
    assert cross["n"] == 21 and cross["name"].endswith("other")
    for entry in results["models"] + results["baselines"]:
        m = entry["scores"][cross["name"]]
        assert m["dropped"] == 3  # the `irrelevant` rows
        assert m["labels"] == ["negative", "neutral", "positive"]  # neutral: the band's, or VADER's own
        assert sum(map(sum, m["confusion"])) == 18
    assert f"confusion:{cross['name']}" in results["figures"]


def test_report_html_has_every_row_and_image(compared: dict[str, Any]) -> None:
    out, results = compared["out"], compared["results"]
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    main, every, cross, study = page.tables[:4]
    rows = {r[0]: r for r in main[1:]}
    entries = results["models"] + results["baselines"]
    assert len(main) - 1 == len(entries) + len(PUBLISHED)
    for m in results["models"]:
        test = m["scores"]["test"]
        if len(m["seeds"]) == 1:
            assert rows[m["name"]][1] == pct(test["accuracy"])
            assert rows[m["name"]][4] == pct(test["accuracy_binary"])
        else:  # mean ± sd over the seeds
            row = rows[f"{m['name']} ({len(m['seeds'])} seeds)"]
            sd = test["sd"]["accuracy"] * 100
            assert row[1] == f"{test['accuracy'] * 100:.2f} ± {sd:.2f} %"
            assert row[2] == f"{test['macro_f1']:.3f} ± {test['sd']['macro_f1']:.3f}"
    for b in results["baselines"]:
        assert rows[f"{b['name']} (baseline)"][4] == pct(b["scores"]["test"]["accuracy_binary"])
    for name, acc in PUBLISHED:
        assert rows[f"{name} (published)"][4] == pct(acc, 1)
    assert len(every) - 1 == len(entries) and len(cross) - 1 == len(entries)
    assert len(study) - 1 == len(STUDY) + len(entries)
    assert {r[0] for r in study[1:]} >= {f"{name} (study)" for name, *_ in STUDY}

    figures = results["figures"]
    cross_name = results["sets"][-1]["name"]
    assert set(figures) == {
        "confusion:test", "confusion:test_seed", f"confusion:{cross_name}", "curves_steps", "curves_time", "accuracy",
        "accuracy_speed", "word_map",
    }  # fmt: skip
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


def test_report_html_opens_well_in_a_browser(compared: dict[str, Any], tmp_path: Path) -> None:
    """Headless Chromium at 1280 px: the page renders, every image loads, and the page has no horizontal scroll
    (wide tables scroll inside their own box)."""
    shown = measure(compared["out"] / "report.html", tmp_path)
    assert shown["text"] > 1000 and shown["tables"] >= 4
    assert shown["images"] == len(compared["results"]["figures"]) and shown["loaded"] == shown["images"]
    assert shown["scroll_width"] <= shown["client_width"]


def test_the_browser_check_sees_a_broken_image_and_a_page_too_wide(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>text</p><img src="data:image/png;base64,AAAA" alt="broken">'
        '<div style="width: 2000px">wide</div></body></html>'
    )
    shown = measure(page, tmp_path)
    assert shown["images"] == 1 and shown["loaded"] == 0
    assert shown["scroll_width"] > shown["client_width"]


def test_compare_of_finished_runs_reuses_them(
    compared: dict[str, Any],
    caches: Path,
    cross_file: Path,
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _use(monkeypatch, caches)
    runs = [m["run_dir"] for m in compared["results"]["models"]][:2]  # the two trained on Sentiment140
    before = {r: (Path(r) / "summary.json").stat().st_mtime_ns for r in runs}
    data_dir = str(Path(compared["results"]["dataset"]["files"]["train"]).parent)
    out = tmp_path / "again"
    args = ["--runs", runs[0], runs[1], "--val-size", str(VAL_SIZE), "--out", str(out), "--data-dir", data_dir]
    code, stdout, err = run_cli("compare", *args, "--eval-data", str(cross_file))
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert [m["run_dir"] for m in results["models"]] == runs
    assert not (out / "runs").exists()  # nothing trained
    assert all((Path(r) / "summary.json").stat().st_mtime_ns == t for r, t in before.items())
    assert all(b["cached"] for b in results["baselines"])
    for m, first in zip(results["models"], compared["results"]["models"][:2], strict=True):
        assert m["scores"]["test"] == first["scores"]["test"] and m["steps"] == first["steps"]
    assert "lstm" in stdout and "VADER" in stdout and (out / "report.html").is_file()


def test_same_out_again_reuses_its_runs(compared: dict[str, Any], caches: Path, run_cli: Cli, monkeypatch: Any) -> None:
    _use(monkeypatch, caches)
    out = compared["out"]
    data_dir = str(Path(compared["results"]["dataset"]["files"]["train"]).parent)
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
        (["--models", "lstm", "--preset", "slow"], "--preset must be fast, seed, small, distill or a .toml file"),
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
