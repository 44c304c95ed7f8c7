"""The README's headline table, written from a `make run` (or any `tweetsent compare`) results.json: macro-F1 of
every model and baseline on each hand-labelled test set, its prediction speed and the seeds behind it.

    python bench/headline_table.py runs/compare-DATE-TIME/results.json            # print the table
    python bench/headline_table.py runs/compare-DATE-TIME/results.json --write    # and put it in README.md

The README holds the table between `<!-- headline-table -->` and `<!-- /headline-table -->`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- headline-table -->", "<!-- /headline-table -->"
# Sets shown, in this order, when the results have them: the 498 first, then the cross-domain files.
TITLES = {
    "test": "Sentiment140 test (498)",
    "semeval2016_task4a-test": "SemEval-2016 test (1,797)",
    "sanders_twitter_corpus-full-corpus": "Sanders (3,429)",
}
# The seeds column of the baselines: two have no randomness in their fit, fastText is one seeded fit.
DETERMINISTIC = {"vader": "none (a lexicon)", "tfidf": "none (convex fit)", "fasttext": "one fit, fixed seed"}


def _seeds(entry: dict[str, Any]) -> str:
    if entry.get("kind") == "baseline":
        return DETERMINISTIC.get(entry.get("model", ""), "one fit")
    seeds = entry.get("seeds")
    if seeds:
        return ", ".join(str(s) for s in seeds)
    folder = Path(entry.get("run_dir") or "")
    if (folder / "results.json").is_file():  # a packaged model folder: the seed of the run it was made from
        folder = Path(json.loads((folder / "results.json").read_text()).get("source") or "")
    config = folder / "config.json"
    if config.is_file():
        return str(json.loads(config.read_text()).get("train", {}).get("seed", "?"))
    return "?"


def _figure(metrics: dict[str, Any] | None) -> str:
    """Macro-F1, with its standard deviation where it is a mean over seeds."""
    if not metrics:
        return "—"
    sd = (metrics.get("sd") or {}).get("macro_f1")
    return f"{metrics['macro_f1']:.3f}" + ("" if sd is None else f" ± {sd:.3f}")


def table(results: dict[str, Any]) -> str:
    """The markdown table: one row per model and baseline, macro-F1 per set, tweets/s, seeds."""
    names = {s["name"] for s in results["sets"]}
    sets = [name for name in TITLES if name in names]
    header = ["", *(TITLES[s] for s in sets), "predicts (tweets/s)", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]
    for entry in [*results["baselines"], *results["models"]]:
        cells = [_figure(entry["scores"].get(s)) for s in sets]
        speed = entry.get("predict_tweets_per_second")
        cells.append(f"{speed:,.0f}" if speed else "—")
        lines.append(f"| {entry['name']} | " + " | ".join([*cells, _seeds(entry)]) + " |")
    when = results.get("created", "")
    lines.append("")
    lines.append(
        "Macro-F1 over every label of each set; mean ± sample standard deviation where a row has several seeds "
        f"(its speed is its first seed's); `{portable(results.get('command', 'tweetsent compare'))}`, {when}."
    )
    return "\n".join(lines)


def portable(command: str) -> str:
    """The command as a reader would type it: the output folder is theirs to name (RUN_DIR), and the data files
    beside the checkout are named from it (../shared/...), not from this machine's root."""
    command = re.sub(r"--out \S+", "--out RUN_DIR", command)
    return re.sub(r"(?<=\s)/\S*?/shared/", "../shared/", command)


def write_readme(readme: Path, text: str) -> None:
    """Replace what stands between the markers (atomically: a temporary file renamed over the README)."""
    content = readme.read_text()
    if START not in content or END not in content:
        raise SystemExit(f"{readme}: no {START} ... {END} markers")
    before, rest = content.split(START, 1)
    after = rest.split(END, 1)[1]
    tmp = readme.with_name(readme.name + ".tmp")
    tmp.write_text(f"{before}{START}\n{text}\n{END}{after}")
    tmp.replace(readme)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a compare folder's results.json")
    parser.add_argument("--write", action="store_true", help="put the table into the README")
    parser.add_argument("--readme", type=Path, default=Path(__file__).resolve().parents[1] / "README.md")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{args.results}: cannot read the results ({e})") from None
    text = table(results)
    print(text)
    if args.write:
        write_readme(args.readme, text)


if __name__ == "__main__":
    sys.exit(main())
