"""`tweetsent compare`: registered on the main app (imported at the bottom of cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tweetsent.cli.main import app, console, err_console


@app.command("compare")
def compare_command(
    run_dirs: Annotated[
        list[Path] | None, typer.Argument(help="finished run directories to include (like --runs)", show_default=False)
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(help="models to train, comma-separated (default: every registered model, unless runs are given)"),
    ] = None,
    runs: Annotated[
        list[Path] | None, typer.Option("--runs", help="a finished run directory to include (repeatable)")
    ] = None,
    preset: Annotated[str, typer.Option(help="seed (the study's settings) or fast (recommended)")] = "fast",
    budget_minutes: Annotated[
        float | None, typer.Option(help="training minutes shared equally by the models trained here")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="report folder (default: runs/compare-DATE-TIME)")] = None,
    train_size: Annotated[
        int | None, typer.Option(help="train models and TF-IDF on a seeded subset of this size")
    ] = None,
    val_size: Annotated[
        int | None, typer.Option(help="validate every model and baseline on a seeded subset of this size")
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="epochs per model (default: the preset's)")] = None,
    baselines: Annotated[bool, typer.Option(help="score VADER and TF-IDF + logistic regression")] = True,
    refresh_baselines: Annotated[
        bool, typer.Option("--refresh-baselines", help="recompute cached baseline results")
    ] = False,
    accelerator: Annotated[str, typer.Option(help="cpu, gpu or auto")] = "auto",
    seed: Annotated[int | None, typer.Option(help="random seed of the training runs")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Sentiment140 folder")] = None,
    progress: Annotated[bool, typer.Option(help="show training progress bars")] = True,
) -> None:
    """Train models on one split (or take finished runs), score VADER and TF-IDF baselines on the same split,
    and write report.md and a self-contained report.html."""
    import time

    from tweetsent.evaluation.compare import CompareOptions, compare, parse_models
    from tweetsent.models import MODELS

    taken = [*(runs or []), *(run_dirs or [])]
    names = parse_models(models)
    if models is None and not taken:
        names = list(MODELS)
    folder = out or Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    options = CompareOptions(
        models=names,
        runs=taken,
        preset=preset,
        budget_minutes=budget_minutes,
        out=folder,
        train_size=train_size,
        val_size=val_size,
        epochs=epochs,
        baselines=baselines,
        refresh_baselines=refresh_baselines,
        data_dir=data_dir,
        accelerator=accelerator,
        seed=seed,
        progress=progress,
    )
    try:
        results = compare(options, log=lambda line: err_console.print(line, highlight=False))
    except KeyboardInterrupt:
        err_console.print(f"interrupted: run it again with --out {folder} to go on where it stopped")
        raise SystemExit(130) from None
    print_comparison(results)
    console.print(f"report: {folder / 'report.md'} and {folder / 'report.html'} ({results['report_seconds']:.0f} s)")


_SHORT = {"tfidf": "TF-IDF+LR", "vader": "VADER"}


def print_comparison(results: dict[str, Any]) -> None:
    """A terminal-sized version of the report's table (the report has every column)."""
    from tweetsent.evaluation.compare_plots import PUBLISHED
    from tweetsent.evaluation.report import DASH, num

    def pct(x: float | None) -> str:
        return DASH if x is None else f"{x * 100:.2f}"

    def minutes(seconds: float | None) -> str:
        return DASH if seconds is None else f"{int(seconds // 60)}:{int(seconds % 60):02d}"

    table = Table(
        title="tweetsent compare",
        caption="accuracy in %: binary on the 359 pos/neg test tweets, 3-class on test (498) and test_seed (367); "
        "our models, then baselines, then published results",
        header_style="bold",
    )
    headers = ["model", "binary", "test", "test_seed", "F1", "val", "epochs", "train m:s", "pred/s"]
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for e in results["models"]:
        table.add_row(
            e["name"],
            pct(e["test"]["accuracy_binary"]),
            pct(e["test"]["accuracy"]),
            pct(e["test_seed"]["accuracy"]),
            num(e["test"]["macro_f1"], 3),
            pct(e["val"]["accuracy"]),
            num(e.get("epochs"), 2),
            minutes(e.get("train_seconds")),
            num(e.get("predict_tweets_per_second")),
        )
    table.add_section()
    for b in results["baselines"]:
        table.add_row(
            _SHORT.get(b["model"], b["model"]),
            pct(b["test"]["accuracy_binary"]),
            pct(b["test"]["accuracy"]),
            pct(b["test_seed"]["accuracy"]),
            num(b["test"]["macro_f1"], 3),
            pct(b["val"]["accuracy"]),
            DASH,
            minutes(b["train_seconds"]) if b.get("train_tweets") else DASH,
            num(b.get("predict_tweets_per_second")),
        )
    table.add_section()
    for name, acc in PUBLISHED:
        table.add_row(name.split(" (")[0], pct(acc), *[""] * 7)
    # Piped or logged (make run > log), Rich would squeeze the table into 80 columns and cut every number.
    (console if console.is_terminal else Console(file=console.file, width=130)).print(table)
