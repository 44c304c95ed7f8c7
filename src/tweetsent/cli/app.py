"""The Typer app every command module registers on, its consoles, and the tables more than one command prints."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="tweetsent",
    help="Train, compare, evaluate and serve tweet sentiment classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    """Train, compare, evaluate and serve tweet sentiment classifiers."""
    if version:
        from tweetsent.core.versions import __version__

        console.print(f"tweetsent {__version__}")
        raise typer.Exit()


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2%}"


def _spread(sd: dict[str, Any], key: str, scale: float = 1.0, digits: int = 3) -> str:
    """The standard deviation of a figure averaged over seeds (`train --seeds`) as " ± 0.012", or nothing."""
    return "" if sd.get(key) is None else f" ± {sd[key] * scale:.{digits}f}"


def metrics_table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> Table:
    """One row per (name, metrics): loss, accuracy, binary accuracy, macro-F1, macro-recall."""
    table = Table(title=title, header_style="bold")
    for column in ("", "loss", "accuracy", "binary acc.", "macro-F1", "macro-recall"):
        table.add_column(column, justify="right")
    for name, m in rows:
        sd = m.get("sd") or {}
        loss = "—" if m.get("loss") is None else f"{m['loss']:.4f}" + _spread(sd, "loss", digits=4)
        recall = "—" if m.get("macro_recall") is None else f"{m['macro_recall']:.3f}" + _spread(sd, "macro_recall")
        table.add_row(
            name,
            loss,
            pct(m["accuracy"]) + _spread(sd, "accuracy", 100, 2),
            pct(m.get("accuracy_binary")) + _spread(sd, "accuracy_binary", 100, 2),
            f"{m['macro_f1']:.3f}" + _spread(sd, "macro_f1"),
            recall,
        )
    return table


def print_run_summary(s: dict[str, Any]) -> None:
    title = f"{s['model']}" + (f" ({s['preset']} preset)" if "preset" in s else "")
    names = ["val", *s.get("tests", ["test", "test_seed"])]
    console.print(metrics_table(title, [(n, s[n]) for n in names if isinstance(s.get(n), dict)]))
    if "steps" in s:
        console.print(
            f"{s['epochs']} epochs, {s['steps']:,} steps (best {s['best_step']:,}), "
            f"{s['train_seconds']:.0f} s training, {s['train_tweets_per_second']:,.0f} tweets/s"
        )
    files = s.get("training_files")
    if files and len(files["files"]) > 1:
        console.print(
            f"{len(files['files'])} training files, {sum(f['rows_read'] for f in files['files']):,} rows read: "
            f"{files['duplicates']:,} duplicates and {files['conflicting_rows']:,} rows of "
            f"{files['conflicting_tweets']:,} tweets with conflicting labels dropped, "
            f"{files['in_test_files']:,} also in a test file left out; "
            f"{files['tweets']:,} tweets before the validation split"
        )
    if s.get("soft_labelled"):
        console.print(f"plus {s['soft_labelled']['tweets']:,} tweets labelled by the teacher")
