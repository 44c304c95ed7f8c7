"""The comparison report: one list of blocks rendered twice, as `report.md` (images linked from images/) and as a
self-contained `report.html` (images embedded as data URIs, no external file or script)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tweetsent.atomic import atomic_path
from tweetsent.evaluation.compare_plots import PUBLISHED

# The study's own results (SPEC 4): method, epochs, test loss, 3-class accuracy on its link-free test tweets,
# and the binary accuracy on their 301 negative/positive tweets that SPEC 4 reads from it where it can.
STUDY: tuple[tuple[str, str, float | None, float, str], ...] = (
    ("LSTM", "30", 0.9122, 0.64, "≈ 78 %"),
    ("BiLSTM", "18", 0.9229, 0.6278, "—"),
    ("Pyramid", "8", 0.9415, 0.5978, "—"),
    ("BERT", "—", None, 0.6685, "≈ 81.5 %"),
)
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
RESULT_HEADERS = [
    "model",
    "test acc. (498, 3-class)",
    "test_seed acc. (367, 3-class)",
    "binary acc. (359)",
    "macro-F1 (test)",
    "val. acc.",
    "epochs",
    "steps",
    "training time",
    "training tweets/s",
    "prediction tweets/s",
    "parameters",
    "artifact",
]


def result_rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per model, per baseline and per published result (binary accuracy only)."""
    rows = []
    for e in results["models"]:
        rows.append(
            [
                e["name"],
                pct(e["test"]["accuracy"]),
                pct(e["test_seed"]["accuracy"]),
                pct(e["test"]["accuracy_binary"]),
                num(e["test"]["macro_f1"], 3),
                pct(e["val"]["accuracy"]),
                num(e.get("epochs"), 2),
                num(e.get("steps")),
                duration(e.get("train_seconds")),
                num(e.get("train_tweets_per_second")),
                num(e.get("predict_tweets_per_second")),
                count(e.get("parameters")),
                size(e.get("artifact_bytes")),
            ]
        )
    for b in results["baselines"]:
        rows.append(
            [
                f"{b['name']} (baseline)",
                pct(b["test"]["accuracy"]),
                pct(b["test_seed"]["accuracy"]),
                pct(b["test"]["accuracy_binary"]),
                num(b["test"]["macro_f1"], 3),
                pct(b["val"]["accuracy"]),
                DASH,
                DASH,
                duration(b["train_seconds"]) if b.get("train_tweets") else "no training",
                num(b.get("train_tweets_per_second")),
                num(b.get("predict_tweets_per_second")),
                count(b.get("parameters")),
                DASH,
            ]
        )
    for name, acc in PUBLISHED:
        rows.append([f"{name} (published)", DASH, DASH, pct(acc, 1), *[DASH] * 9])
    return rows


def study_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [[f"{name} (study)", epochs, num(loss, 4), pct(acc), binary] for name, epochs, loss, acc, binary in STUDY]
    for e in results["models"]:
        m = e["test_seed"]
        rows.append(
            [e["name"], num(e.get("epochs"), 2), num(m["loss"], 4), pct(m["accuracy"]), pct(m["accuracy_binary"])]
        )
    for b in results["baselines"]:
        m = b["test_seed"]
        rows.append([f"{b['name']} (baseline)", DASH, num(m["loss"], 4), pct(m["accuracy"]), pct(m["accuracy_binary"])])
    return rows


def budget_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for e in results["models"]:
        reached = f"{num(e.get('steps'))} steps ({num(e.get('epochs'), 2)} epochs)"
        if e.get("max_steps"):
            reached += f" of the {num(e['max_steps'])} its epochs allow"
        if e.get("budget_minutes"):
            how = "stopped by its budget" if e.get("stopped_by_budget") else "finished its epochs within its budget"
            text = f"`{e['name']}`: {num(e['budget_minutes'], 1)} min budget, {reached}, {how}"
        else:
            text = f"`{e['name']}`: no budget, {reached}"
        text += (
            f"; best checkpoint (lowest validation loss) at step {num(e.get('best_step'))}"
            f"; {duration(e.get('train_seconds'))} training net of evaluation, {duration(e.get('fit_seconds'))} in all"
        )
        if not e.get("trained_here"):
            text += f"; taken from `{e['run_dir']}`"
        lines.append(text)
    return lines


def _validation(data: dict[str, Any]) -> str:
    full = data["splits"].get("val")
    used = data.get("val_tweets", full)
    text = f"{num(used)} validation tweets"
    if used != full:
        return text + f" (a seeded sample of the {num(full)} held out: 5 %, stratified, seed 0)"
    return text + " (5 %, stratified, seed 0)"


def blocks(results: dict[str, Any]) -> list[Block]:
    figures = results["figures"]
    models, baselines = results["models"], results["baselines"]
    data = results["data"]
    splits = data["splits"]
    out: list[Block] = [Heading("tweetsent: model comparison on Sentiment140", 1)]
    intro = (
        f"Created {results['created']} by `{results['command']}`. "
        f"Every model and baseline below was scored on the same split: {num(splits.get('train'))} training tweets, "
        f"{_validation(data)}, and the two test protocols: `test`, "
        f"all {splits.get('test')} hand-labelled tweets, and `test_seed`, the study's {splits.get('test_seed')} "
        "tweets without links."
    )
    out.append(Para(intro))
    out.append(Heading("Results"))
    out.append(Table(RESULT_HEADERS, result_rows(results)))
    notes = [
        "Binary accuracy counts only the 359 gold-negative and gold-positive test tweets and takes the larger of "
        "the negative and positive scores. The training data has no neutral tweets, so a model that never says "
        "neutral tops out at 72.1 % 3-class on `test` and 82.0 % on `test_seed`.",
        "Validation accuracy is on emoticon-labelled tweets; it does not track the hand-labelled test well. "
        "Checkpoints are chosen by validation loss only; the test set never chooses anything.",
        "Training tweets/s is net of evaluation; prediction tweets/s goes from raw text to probabilities "
        f"(cleaning, tokenizing and the model, batches of 512) on a fixed set of "
        f"{num(results.get('predict_sample'))} tweets (the 498 test tweets and a validation sample)"
        + (
            f"; slow models on its first {num(min(e['predict_tweets_timed'] for e in models))}."
            if any(e.get("predict_tweets_timed", 0) < results.get("predict_sample", 0) for e in models)
            else "."
        ),
    ]
    if any(b["model"] == "vader" for b in baselines):
        notes.append(
            "VADER scores every tweet with its compound score (≥ 0.05 positive, ≤ −0.05 negative, else neutral). "
            "Its binary accuracy here, like every row's, compares the positive and negative sides only; counting "
            "its neutral answers on the 359 as wrong instead gives the 73 % quoted in the literature."
        )
    if any(b["model"] == "tfidf" for b in baselines):
        notes.append(
            f"TF-IDF + logistic regression trains on the same {num(data.get('train_tweets_baselines'))} training "
            "tweets and the same cleaned tokens as the models (word 1-2 grams, bigrams seen at least twice, "
            "sublinear TF, liblinear, C = 1)."
        )
    machine = results.get("machine", {})
    if machine.get("load_average", 0) > (machine.get("cpu_count") or 1):
        notes.append(
            f"The machine was busy while this report was made (load average {machine['load_average']} on "
            f"{machine['cpu_count']} cores): the speeds above are lower than on an idle machine."
        )
    for e in models:
        if baselines and e.get("train_tweets") != data.get("train_tweets_baselines"):
            notes.append(
                f"`{e['name']}` trained on {num(e['train_tweets'])} tweets, the baselines on "
                f"{num(data.get('train_tweets_baselines'))}."
            )
        if e.get("val_tweets", data.get("val_tweets")) != data.get("val_tweets"):
            notes.append(f"`{e['name']}` was validated on {num(e['val_tweets'])} tweets, not the same validation set.")
        if e.get("split_note"):
            notes.append(f"Warning: `{e['run_dir']}` was {e['split_note']}: its numbers are not on the same split.")
    out.append(Bullets(notes))
    if any(e.get("budget_minutes") for e in models) or models:
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

    out.append(Heading("The study's table"))
    out.append(
        Para(
            "The study reported 3-class accuracy on its link-free test tweets (`test_seed`). Its rows are copied "
            "from the report (its BERT reached 80 % validation accuracy); ours are on the same 367 tweets. The last "
            "column reads only their 301 negative/positive tweets (the study's values there are approximate "
            "readings of its numbers)."
        )
    )
    out.append(Table(["method", "epochs", "test loss", "test accuracy (3-class)", "binary (301)"], study_rows(results)))

    out.append(Heading("Confusion matrices"))
    out.append(
        Image(
            figures["confusion"],
            "test confusion matrices",
            "Test confusion matrices (all 498 tweets; rows gold, columns predicted; colour is the share of the "
            "gold row).",
        )
    )
    if "curves_steps" in figures:
        out.append(Heading("Learning curves"))
        out.append(
            Image(
                figures["curves_steps"],
                "validation and test curves against steps",
                "Validation (solid: a fixed 2,000-tweet sample every 200 steps, the full set at epoch ends) and "
                "test (dashed) loss and 3-class accuracy against training steps.",
            )
        )
        out.append(
            Image(figures["curves_time"], "validation and test curves against wall time", "The same against wall time.")
        )
    out.append(Heading("Binary accuracy and published results"))
    out.append(
        Image(
            figures["accuracy"],
            "binary accuracy against published results",
            "Binary accuracy on the 359 official negative/positive test tweets"
            + (": during training (left) and final (right)," if results.get("accuracy_during_training") else ",")
            + " beside the baselines and the published results of Go et al. 2009 (83.0 %), CharSCNN (86.4 %) "
            "and DCNN (87.4 %).",
        )
    )
    if "word_map" in figures and results.get("word_map"):
        w = results["word_map"]
        out.append(Heading("Word vectors"))
        corr = w.get("share_correlation") or [None, None]
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

    out.append(Heading("How this report was made"))
    commands = [results["command"]]
    commands += [f"# {e['name']}: {e['command']}" for e in models if e.get("command") and not e.get("trained_here")]
    out.append(Code("\n".join(commands)))
    files = data.get("files", {})
    out.append(
        Bullets(
            [
                f"Data: `{files.get('train', '?')}` and `{files.get('test', '?')}`, prepared with the "
                f"`{results['preset']}` preset (cache key `{data.get('cache_key')}`).",
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


def write_report(folder: Path, results: dict[str, Any]) -> tuple[Path, Path]:
    items = blocks(results)
    md, page = folder / "report.md", folder / "report.html"
    for path, text in ((md, render_markdown(items)), (page, render_html(items, folder))):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return md, page
