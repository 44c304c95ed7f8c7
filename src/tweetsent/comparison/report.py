"""The comparison report: one list of blocks rendered twice, as `report.md` (images linked from images/) and as a
self-contained `report.html` (images embedded as data URIs, no external file or script)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tweetsent.comparison.entries import Entry, ModelEntry, Results
from tweetsent.core.atomic import atomic_path

DASH = "—"


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric_from: int = 1  # columns from this index are right-aligned


@dataclass
class Image:
    src: str  # relative to the report folder
    alt: str
    caption: str


@dataclass
class Code:
    text: str


Block = Heading | Para | Bullets | Table | Image | Code


# -- number formatting -----------------------------------------------------------------------------------
def pct(x: float | None, digits: int = 2) -> str:
    return DASH if x is None else f"{x * 100:.{digits}f} %"


def num(x: float | None, digits: int = 0) -> str:
    return DASH if x is None else f"{x:,.{digits}f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def count(n: float | None) -> str:
    if n is None:
        return DASH
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f}"


def size(n: float | None) -> str:
    if n is None:
        return DASH
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


# -- content -----------------------------------------------------------------------------------------------
def _get(entry: Entry, split: str, key: str) -> Any:
    m = entry["scores"].get(split)
    return None if m is None else m.get(key)


def _pct(entry: Entry, split: str, key: str, digits: int = 2) -> str:
    """A share, with its standard deviation over seeds where the entry has several: 71.29 ± 1.20 %."""
    value, sd = _get(entry, split, key), _sd(entry, split, key)
    return pct(value, digits) if sd is None else f"{value * 100:.{digits}f} ± {sd * 100:.{digits}f} %"


def num_sd(entry: Entry, split: str, key: str, digits: int = 3) -> str:
    """A figure, with its standard deviation over seeds where the entry has several: 0.712 ± 0.012."""
    value, sd = _get(entry, split, key), _sd(entry, split, key)
    return num(value, digits) if sd is None else f"{value:.{digits}f} ± {sd:.{digits}f}"


def _sd(entry: Entry, split: str, key: str) -> float | None:
    m = entry["scores"].get(split)
    return None if m is None or m.get(key) is None else (m.get("sd") or {}).get(key)


def _entries(results: Results) -> list[tuple[str, Entry]]:
    """(row name, entry): the models and ensembles (with their number of seeds where several), then the
    baselines."""
    rows = [(e["name"] + (f" ({len(e['seeds'])} seeds)" if len(e.get("seeds", [])) > 1 else ""), e)
            for e in results["models"]]  # fmt: skip
    return rows + [(f"{b['name']} (baseline)", b) for b in results["baselines"]]


def result_headers(test: str, sizes: dict[str, int], polar: bool) -> list[str]:
    head = ["model", f"{test} accuracy ({num(sizes.get(test))})", f"{test} macro-F1", f"{test} macro-recall"]
    if polar:
        head.append(f"{test} binary acc.")
    return [
        *head,
        "val. acc.",
        "epochs",
        "steps",
        "training time",
        "training tweets/s",
        "prediction tweets/s",
        "parameters",
        "artifact",
    ]


def result_rows(results: Results, test: str, polar: bool) -> list[list[str]]:
    """One row per model, ensemble and baseline, and per published result (binary accuracy only)."""
    rows = []
    for name, e in _entries(results):
        baseline = e.get("kind") == "baseline"
        row = [name, _pct(e, test, "accuracy"), num_sd(e, test, "macro_f1"), num_sd(e, test, "macro_recall")]
        if polar:
            row.append(_pct(e, test, "accuracy_binary"))
        trained = duration(e.get("train_seconds")) if not baseline or e.get("train_tweets") else "no training"
        model = cast(ModelEntry, e)
        row += [
            _pct(e, "val", "accuracy"),
            DASH if baseline else num(model.get("epochs"), 2),
            DASH if baseline else num(model.get("steps")),
            trained,
            num(e.get("train_tweets_per_second")),
            num(e.get("predict_tweets_per_second")),
            count(e.get("parameters")),
            DASH if baseline else size(model.get("artifact_bytes")),
        ]
        rows.append(row)
    published = results["dataset"].get("references", {}).get("binary")
    if polar and published and published["split"] == test:
        for name, acc in published["results"]:
            rows.append([f"{name} (published)", DASH, DASH, DASH, pct(acc, 1), *[DASH] * 8])
    return rows


def set_rows(results: Results, sets: list[dict[str, Any]]) -> list[list[str]]:
    """Accuracy / macro-F1 of every entry on every set."""
    rows = []
    for name, e in _entries(results):
        cells = []
        for s in sets:
            n = s["name"]
            shown = _get(e, n, "accuracy") is not None
            cells.append(f"{_pct(e, n, 'accuracy', 1)} / {num_sd(e, n, 'macro_f1')}" if shown else DASH)
        rows.append([name, *cells])
    return rows


def study_rows(results: Results, study: dict[str, Any]) -> list[list[str]]:
    split = study["split"]
    rows = [
        [f"{name} (study)", epochs, num(loss, 4), pct(acc), binary] for name, epochs, loss, acc, binary in study["rows"]
    ]
    for name, e in _entries(results):
        if e["scores"].get(split) is None:
            continue
        epochs = DASH if e.get("kind") == "baseline" else num(cast(ModelEntry, e).get("epochs"), 2)
        rows.append(
            [
                name,
                epochs,
                num_sd(e, split, "loss", 4),
                _pct(e, split, "accuracy"),
                _pct(e, split, "accuracy_binary"),
            ]
        )
    return rows


def budget_lines(results: Results) -> list[str]:
    lines = []
    for e in results["models"]:
        if e.get("kind") == "ensemble":
            lines.append(f"`{e['name']}`: an ensemble of finished runs (no training of its own); `{e['run_dir']}`")
            continue
        reached = f"{num(e.get('steps'))} steps ({num(e.get('epochs'), 2)} epochs)"
        if e.get("max_steps"):
            reached += f" of the {num(e['max_steps'])} its epochs allow"
        if e.get("budget_minutes"):
            how = "stopped by its budget" if e.get("stopped_by_budget") else "finished its epochs within its budget"
            text = f"`{e['name']}`: {num(e['budget_minutes'], 1)} min budget, {reached}, {how}"
        else:
            text = f"`{e['name']}`: no budget, {reached}"
        text += (
            f"; best checkpoint at step {num(e.get('best_step'))}"
            f"; {duration(e.get('train_seconds'))} training net of evaluation, {duration(e.get('fit_seconds'))} in all"
        )
        if not e.get("trained_here"):
            text += f"; taken from `{e['run_dir']}`"
        lines.append(text)
    return lines


def _intro(results: Results, tests: list[dict[str, Any]]) -> str:
    data = results["dataset"]
    splits = data["splits"]
    val = next(s for s in results["sets"] if s["kind"] == "val")
    shown = ", ".join(f"`{s['name']}` ({num(s['n'])} tweets)" for s in tests) or "none"
    held_out = (
        f"a {data['val_fraction']:.0%} stratified split, seed {data.get('split_seed')}"
        if data.get("val_fraction")
        else "a validation file"
    )
    return (
        f"Created {results['created']} by `{results['command']}`. Every model and baseline below was scored on "
        f"the same tweets of `{data['name']}` (labels: {', '.join(data['labels'])}): {num(splits.get('train'))} "
        f"training tweets, {num(val['n'])} validation tweets ({held_out}), and the test sets {shown}."
    )


def _notes(results: Results, test: str) -> list[str]:
    data, models, baselines = results["dataset"], results["models"], results["baselines"]
    notes = [
        "Accuracy counts every tweet; macro-F1 averages the F1 of the labels present in gold or predictions; "
        "macro-recall (SemEval's measure) averages the recall of the gold labels. Binary accuracy counts only "
        "the gold-negative and gold-positive tweets and takes the larger of the negative and positive scores.",
        "A model trained on negative and positive tweets only (Sentiment140's emoticon labels) never says neutral "
        "unless it has a calibrated neutral band; on a test set with neutral tweets its accuracy is capped at the "
        "share of polar tweets.",
        "Checkpoints are chosen on validation data (or a separate labelled file); the test sets never choose "
        "anything. Validation accuracy is on the training data's own kind of labels.",
        "Prediction tweets/s goes from raw text to probabilities (cleaning, tokenizing and the model) as "
        "`tweetsent predict` runs (bf16 where the CPU has it, a worker thread per core), on a fixed set of "
        f"{num(results.get('predict_sample'))} tweets (`{test}` and a validation sample).",
    ]
    seeded = sorted({len(e.get("seeds", [])) for e in models if len(e.get("seeds", [])) > 1})
    if seeded:
        notes.append(
            "A row trained with several seeds (" + ", ".join(f"{n} seeds" for n in seeded) + ") shows the mean ± "
            "the sample standard deviation over its runs (each seed's figures are in results.json, `per_seed`); "
            "its training time is their mean, its prediction speed that of its first seed's run (the seeds share "
            "the network), its confusion matrices and curves the first seed's. Rows without a count are one seed."
        )
    if baselines:
        notes.append(
            "The baselines are one fit each: VADER has no randomness, TF-IDF's logistic regression is a convex "
            "problem (one solution whatever the seed), fastText trains with a fixed seed."
        )
    if any(b["model"] == "vader" for b in baselines):
        notes.append(
            "VADER scores every tweet with its compound score (≥ 0.05 positive, ≤ −0.05 negative, else neutral); "
            "its scores are no probabilities, so it has no loss."
        )
    if any(b["model"] == "tfidf" for b in baselines):
        notes.append(
            f"TF-IDF + logistic regression trains on the same {num(data.get('train_tweets_baselines'))} training "
            "tweets and the same cleaned tokens as the word-vector models (word 1-2 grams, bigrams seen at least "
            "twice, sublinear TF, C = 1)."
        )
    machine = results.get("machine", {})
    if machine.get("load_average", 0) > (machine.get("cpu_count") or 1):
        notes.append(
            f"The machine was busy while this report was made (load average {machine['load_average']} on "
            f"{machine['cpu_count']} cores): the speeds above are lower than on an idle machine."
        )
    for e in models:
        if e.get("kind") == "model" and baselines and e.get("train_tweets") != data.get("train_tweets_baselines"):
            notes.append(
                f"`{e['name']}` trained on {num(e['train_tweets'])} tweets, the baselines on "
                f"{num(data.get('train_tweets_baselines'))}."
            )
        if e.get("split_note"):
            notes.append(f"`{e['name']}` ({e['run_dir']}) was {e['split_note']}.")
    return notes


def blocks(results: Results) -> list[Block]:
    figures = results["figures"]
    data = results["dataset"]
    tests = [s for s in results["sets"] if s["kind"] == "test"]
    cross = [s for s in results["sets"] if s["kind"] == "cross"]
    test = tests[0]["name"] if tests else "val"
    sizes = {s["name"]: s["n"] for s in results["sets"]}
    everything = [e for _, e in _entries(results)]
    polar = any(_get(e, test, "accuracy_binary") is not None for e in everything)
    out: list[Block] = [Heading(f"tweetsent: model comparison on {data['name']}", 1), Para(_intro(results, tests))]
    out.append(Heading(f"Results on {test}"))
    out.append(Table(result_headers(test, sizes, polar), result_rows(results, test, polar)))
    if len(tests) > 1:
        out.append(Heading("Every test set"))
        out.append(Para("Accuracy / macro-F1 on each of the dataset's test sets."))
        out.append(Table(["model", *[f"{s['name']} ({num(s['n'])})" for s in tests]], set_rows(results, tests)))
    out.append(Bullets(_notes(results, test)))
    if cross:
        out += _cross_blocks(results, cross, figures)
    if results["models"]:
        out.append(Heading("Training"))
        if results.get("budget_minutes"):
            out.append(
                Para(
                    f"A budget of {num(results['budget_minutes'], 1)} minutes of training was shared equally: "
                    f"{num(results['budget_share_minutes'], 1)} minutes per model trained here, counted as Lightning "
                    "counts its `max_time` (training and the periodic evaluation). With a decaying (linear) "
                    "schedule, as in the fast preset, the learning rate reaches zero at the end of the budget or of "
                    "the epochs, whichever comes first."
                )
            )
        out.append(Bullets(budget_lines(results)))
    study = data.get("references", {}).get("study")
    if study:
        out.append(Heading("The study's table"))
        out.append(
            Para(
                f"The study reported 3-class accuracy on its link-free test tweets (`{study['split']}`). Its rows are "
                "copied from the report (its BERT reached 80 % validation accuracy); ours are on the same "
                f"{num(sizes.get(study['split']))} tweets. The last column reads only their negative/positive tweets "
                "(the study's values there are approximate readings of its numbers)."
            )
        )
        out.append(
            Table(["method", "epochs", "test loss", "test accuracy (3-class)", "binary"], study_rows(results, study))
        )
    out += _figure_blocks(results, tests, test, figures)
    out += _provenance(results)
    return out


def _cross_blocks(results: Results, cross: list[dict[str, Any]], figures: dict[str, str]) -> list[Block]:
    out: list[Block] = [Heading("Cross-domain: other labelled tweets")]
    described = "; ".join(f"`{s['name']}`: {num(s['n'])} tweets from `{s['source']}`" for s in cross)
    out.append(
        Para(
            "Every model and baseline scored on labelled tweets from other sources than its training data ("
            f"{described}). A model is scored on the tweets whose gold label it can predict (the neutral band adds "
            "neutral to a negative/positive model); the others are left out and counted in the last column."
        )
    )
    headers = ["model"]
    for s in cross:
        headers += [f"{s['name']} accuracy", f"{s['name']} macro-F1", f"{s['name']} macro-recall", "left out"]
    rows = []
    for name, e in _entries(results):
        row = [name]
        for s in cross:
            m = e["scores"].get(s["name"])
            n = s["name"]
            row += [DASH] * 4 if m is None else [
                _pct(e, n, "accuracy"), num_sd(e, n, "macro_f1"), num_sd(e, n, "macro_recall"), num(m.get("dropped"))
            ]  # fmt: skip
        rows.append(row)
    out.append(Table(headers, rows))
    for s in cross:
        key = f"confusion:{s['name']}"
        if key in figures:
            out.append(
                Image(figures[key], f"confusion matrices on {s['name']}", f"Confusion matrices on `{s['name']}`.")
            )
    return out


def _figure_blocks(results: Results, tests: list[dict[str, Any]], test: str, figures: dict[str, str]) -> list[Block]:
    out: list[Block] = [Heading("Confusion matrices")]
    for s in tests:
        key = f"confusion:{s['name']}"
        if key in figures:
            caption = (
                f"Confusion matrices on `{s['name']}` (rows gold, columns predicted; colour is the share of the "
                "gold row)."
            )
            out.append(Image(figures[key], f"{s['name']} confusion matrices", caption))
    if "curves_steps" in figures:
        out.append(Heading("Learning curves"))
        caption = (
            "Validation (solid: a fixed sample every evaluation, the full set at epoch ends) and "
            f"`{test}` (dashed) loss and accuracy against training steps."
        )
        out.append(Image(figures["curves_steps"], "validation and test curves against steps", caption))
        out.append(
            Image(figures["curves_time"], "validation and test curves against wall time", "The same against wall time.")
        )
    if "accuracy" in figures:
        out.append(Heading("Binary accuracy and published results"))
        during = ": during training (left) and final (right)" if results.get("accuracy_during_training") else ""
        caption = f"Binary accuracy on the negative and positive tweets of `{test}`{during}, beside the baselines"
        published = results["dataset"].get("references", {}).get("binary")
        if published and published["split"] == test:
            caption += (
                " and the published results (" + ", ".join(f"{n} {acc:.1%}" for n, acc in published["results"]) + ")"
            )
        out.append(Image(figures["accuracy"], "binary accuracy against published results", caption + "."))
    if "accuracy_speed" in figures:
        out.append(Heading("Accuracy against speed"))
        caption = (
            "Macro-F1 on each scored set against prediction tweets/s (raw text to probabilities, log scale): circles "
            "are models, grey squares baselines; the dashed line joins the best choice at each speed (nothing "
            "faster scores higher). Bars span ± one standard deviation over seeds where a model has several."
        )
        out.append(Image(figures["accuracy_speed"], "macro-F1 against prediction speed", caption))
    w = results.get("word_map")
    if "word_map" in figures and w:
        corr = w.get("share_correlation") or [None, None]
        out.append(Heading("Word vectors"))
        out.append(
            Image(
                figures["word_map"],
                "PCA map of word vectors coloured by sentiment",
                f"The {w['words']} most frequent words of {w['run']}'s vocabulary, its "
                f"{'fine-tuned ' if w.get('fine_tuned') else ''}vectors projected on their first two principal "
                "components; colour is the share of the training tweets containing the word that are positive "
                "(red negative, green positive). The most polarised and the most frequent words are labelled. "
                f"Correlation of that share with component 1: {num(corr[0], 2)}, with component 2: "
                f"{num(corr[1], 2)}.",
            )
        )
    return out


def _provenance(results: Results) -> list[Block]:
    out: list[Block] = [Heading("How this report was made")]
    commands = [results["command"]]
    commands += [
        f"# {e['name']}: {e['command']}" for e in results["models"] if e.get("command") and not e.get("trained_here")
    ]
    out.append(Code("\n".join(commands)))
    files = results["dataset"].get("files", {})
    described = ", ".join(f"{k}: `{v}`" for k, v in files.items() if v) or results["dataset"]["name"]
    out.append(
        Bullets(
            [
                f"Data: {described}; `{results['preset']}` preset.",
                "Machine: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in results.get("machine", {}).items()),
                "Report written in " + duration(results.get("report_seconds")) + " (training included).",
            ]
        )
    )
    versions = results.get("versions", {})
    out.append(Table(["package", "version"], [[k, v] for k, v in versions.items()], numeric_from=2))
    return out


# -- rendering ---------------------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(items: list[Block]) -> str:
    lines: list[str] = []
    for b in items:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            lines += [b.text, ""]
        elif isinstance(b, Bullets):
            lines += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            lines.append("|" + "|".join("---" if i < b.numeric_from else "---:" for i in range(len(b.headers))) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif isinstance(b, Image):
            lines += [f"![{b.alt}]({b.src})", "", f"*{b.caption}*", ""]
        elif isinstance(b, Code):
            lines += ["```", b.text, "```", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2329; margin: 0;
       background: #f6f7f9; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin-top: 8px; } h2 { font-size: 20px; margin-top: 36px; border-bottom: 1px solid #dde1e6; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 9px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { background: #eef1f4; text-align: left; font-weight: 600; }
td.n, th.n { text-align: right; } td.n { white-space: nowrap; } td:first-child { min-width: 190px; }
.wide { overflow-x: auto; }
tbody tr:nth-child(even) { background: #fafbfc; }
figure { margin: 16px 0; } img { max-width: 100%; height: auto; border: 1px solid #e4e7eb; }
figcaption { color: #4a5560; font-size: 13px; margin-top: 4px; }
code { background: #f0f2f4; padding: 1px 4px; border-radius: 3px; font-size: 12.5px; }
pre { background: #f0f2f4; padding: 10px 12px; overflow-x: auto; font-size: 12.5px; }
ul { padding-left: 22px; } li { margin: 3px 0; }
"""


def render_html(items: list[Block], folder: Path) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tweetsent comparison</title>",
        f"<style>{CSS}</style></head><body><main>",
    ]
    for b in items:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):

            def cls(i: int, numeric_from: int = b.numeric_from) -> str:
                return ' class="n"' if i >= numeric_from else ""

            head = "".join(f"<th{cls(i)}>{_inline(h)}</th>" for i, h in enumerate(b.headers))
            body = "".join(
                "<tr>" + "".join(f"<td{cls(i)}>{_inline(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                for row in b.rows
            )
            parts.append(f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')
        elif isinstance(b, Image):
            data = base64.b64encode((folder / b.src).read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b.alt)}">'
                f"<figcaption>{_inline(b.caption)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            parts.append(f"<pre><code>{html.escape(b.text, quote=False)}</code></pre>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def write_report(folder: Path, results: Results) -> tuple[Path, Path]:
    items = blocks(results)
    md, page = folder / "report.md", folder / "report.html"
    for path, text in ((md, render_markdown(items)), (page, render_html(items, folder))):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return md, page
