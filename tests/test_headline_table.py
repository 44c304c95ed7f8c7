"""bench/headline_table.py: the README's headline table written from a compare's results.json."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "headline_table.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headline_table", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(tmp_path: Path) -> dict:
    run = tmp_path / "runs" / "bert-hand"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"train": {"seed": 7}}))
    f1 = lambda x: {"macro_f1": x}  # noqa: E731
    return {
        "created": "2026-01-01 10:00 UTC",
        "command": "tweetsent compare --eval-data /srv/x/shared/data/a.csv --out runs/compare-1",
        "sets": [{"name": n} for n in ("val", "test", "semeval2016_task4a-test", "sanders_twitter_corpus-full-corpus")],
        "baselines": [
            {
                "name": "VADER lexicon",
                "model": "vader",
                "kind": "baseline",
                "predict_tweets_per_second": 1e4,
                "scores": {"test": f1(0.7222), "semeval2016_task4a-test": f1(0.4583)},
            }
        ],
        "models": [
            {
                "name": "bert (bert-hand)",
                "kind": "model",
                "run_dir": str(run),
                "predict_tweets_per_second": 42.6,
                "scores": {
                    "test": f1(0.712),
                    "semeval2016_task4a-test": f1(0.5884),
                    "sanders_twitter_corpus-full-corpus": f1(0.5313),
                },
            }
        ],
    }


def test_the_table_has_every_entry_its_figures_and_seeds(tmp_path: Path) -> None:
    text = _script().table(_results(tmp_path))
    lines = text.splitlines()
    assert lines[0].startswith("|  | Sentiment140 test (498) | SemEval-2016 test (1,797) | Sanders (3,429) |")
    assert "| VADER lexicon | 0.722 | 0.458 | — | 10,000 | none (a lexicon) |" in lines
    assert "| bert (bert-hand) | 0.712 | 0.588 | 0.531 | 43 | 7 |" in lines
    assert "`tweetsent compare --eval-data ../shared/data/a.csv --out RUN_DIR`, 2026-01-01 10:00 UTC." in text


def test_a_row_over_seeds_shows_its_mean_spread_and_seeds(tmp_path: Path) -> None:
    results = _results(tmp_path)
    spread = {"macro_f1": 0.6, "sd": {"macro_f1": 0.0141}}
    results["models"][0] |= {"seeds": [0, 1], "scores": {"test": spread}}
    assert "| bert (bert-hand) | 0.600 ± 0.014 | — | — | 43 | 0, 1 |" in _script().table(results).splitlines()


def test_write_replaces_only_the_marked_table(tmp_path: Path) -> None:
    script = _script()
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\nbefore\n{script.START}\nold table\n{script.END}\nafter\n")
    script.write_readme(readme, "NEW")
    assert readme.read_text() == f"# x\nbefore\n{script.START}\nNEW\n{script.END}\nafter\n"
    (tmp_path / "plain.md").write_text("no markers\n")
    with pytest.raises(SystemExit, match="markers"):
        script.write_readme(tmp_path / "plain.md", "NEW")


def test_the_readme_table_is_marked() -> None:
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    script = _script()
    assert readme.count(script.START) == 1 and readme.count(script.END) == 1
