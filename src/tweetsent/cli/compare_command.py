"""`tweetsent compare`: train models on one dataset (or take finished runs and ensembles), score the baselines and
every model on the same sets, and write the report."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tweetsent.cli.app import app, console, err_console
from tweetsent.cli.options import command_with, config_options
from tweetsent.comparison.entries import Entry, Results
from tweetsent.core.records import given
from tweetsent.data.dataset import DataConfig
from tweetsent.training.config import TrainConfig, data_config, preset_data


def _compare(
    run_dirs: list[Path] | None,
    models: str | None,
    runs: list[Path] | None,
    preset: str,
    budget_minutes: float | None,
    out: Path | None,
    baselines: bool,
    refresh_baselines: bool,
    ft_autotune: int,
    eval_data: list[str] | None,
    eval_label_map: str | None,
    transfer_data: str | None,
    transfer_scratch: str,
    seeds: int,
    transfer_seeds: int | None,
    runtime: str,
    progress: bool,
    **flags: Any,
) -> None:
    from tweetsent.comparison.options import CompareOptions, parse_models
    from tweetsent.data.labelled import ReadOptions, parse_label_map
    from tweetsent.models.registry import MODELS

    taken = [*(runs or []), *(run_dirs or [])]
    names = [n for n, spec in MODELS.items() if spec.compared] if models is None and not taken else parse_models(models)
    parse_label_map(eval_label_map)
    folder = out or Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    options = CompareOptions(
        models=names,
        runs=taken,
        preset=preset,
        budget_minutes=budget_minutes,
        train=given(TrainConfig, flags),
        out=folder,
        baselines=baselines,
        refresh_baselines=refresh_baselines,
        ft_autotune=ft_autotune,
        data=data_config(preset_data(preset), flags),
        eval_data=list(eval_data or []),
        eval_read=ReadOptions(label_map=eval_label_map),
        transfer_data=transfer_data,
        transfer_scratch=tuple(parse_models(transfer_scratch)) if transfer_scratch else (),
        seeds=seeds,
        transfer_seeds=transfer_seeds,
        runtime=runtime,
        progress=progress,
    )
    _run(options)


def _run(options: Any) -> None:
    """The comparison, its tables printed; after Ctrl+C, how to go on."""
    from tweetsent.comparison.compare import compare

    folder = options.out
    try:
        results = compare(options, log=lambda line: err_console.print(line, highlight=False))
    except KeyboardInterrupt:
        err_console.print(f"interrupted: run it again with --out {folder} to go on where it stopped")
        raise SystemExit(130) from None
    print_comparison(results)
    console.print(f"report: {folder / 'report.md'} and {folder / 'report.html'} ({results['report_seconds']:.0f} s)")


def _p(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


_PARAMS = [
    inspect.Parameter(
        "run_dirs",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[
            list[Path] | None,
            typer.Argument(help="finished run directories to include (like --runs)", show_default=False),
        ],
    ),
    _p(
        "models",
        Annotated[
            str | None, typer.Option(help="models to train, comma-separated (default: all, unless runs are given)")
        ],
        None,
    ),
    _p(
        "runs",
        Annotated[list[Path] | None, typer.Option("--runs", help="a finished run or ensemble to include (repeatable)")],
        None,
    ),
    _p(
        "preset",
        Annotated[str, typer.Option(help="fast (recommended), seed (the study's settings), or a .toml file")],
        "fast",
    ),
    _p(
        "budget_minutes",
        Annotated[float | None, typer.Option(help="training minutes shared equally by the models trained here")],
        None,
    ),
    _p("out", Annotated[Path | None, typer.Option(help="report folder (default: runs/compare-DATE-TIME)")], None),
    _p("baselines", Annotated[bool, typer.Option(help="score VADER, TF-IDF + logistic regression and fastText")], True),
    _p(
        "refresh_baselines",
        Annotated[bool, typer.Option("--refresh-baselines", help="recompute cached baseline results")],
        False,
    ),
    _p(
        "ft_autotune",
        Annotated[
            int,
            typer.Option(
                "--ft-autotune",
                help="seconds of fastText's own hyper-parameter search on the validation split (0: its defaults)",
            ),
        ],
        0,
    ),
    _p(
        "eval_data",
        Annotated[
            list[str] | None,
            typer.Option(
                "--eval-data", help="a labelled file to score everything on (repeatable): the cross-domain section"
            ),
        ],
        None,
    ),
    _p(
        "eval_label_map",
        Annotated[str | None, typer.Option(help="label map of the --eval-data files (default: their label names)")],
        None,
    ),
    _p(
        "transfer_data",
        Annotated[
            str | None,
            typer.Option(
                help="hand-labelled tweets: each model trained here is then warm-started on them (small preset), "
                "and the transferred models are stacked with VADER into an ensemble"
            ),
        ],
        None,
    ),
    _p(
        "transfer_scratch",
        Annotated[
            str,
            typer.Option(
                help="models the transfer stage trains on --transfer-data from their own start, not from their "
                "Sentiment140 run ('' for none)"
            ),
        ],
        "bert",
    ),
    _p(
        "seeds",
        Annotated[int, typer.Option(help="runs per model, seeds --seed, --seed + 1, ...: tables give mean ± sd")],
        1,
    ),
    _p(
        "transfer_seeds",
        Annotated[int | None, typer.Option(help="runs per model of the three-class recipe [default: --seeds]")],
        None,
    ),
    _p(
        "runtime",
        Annotated[str, typer.Option(help="what scores and times each run: auto (as predict chooses), torch or onnx")],
        "auto",
    ),
    _p("progress", Annotated[bool, typer.Option(help="show training progress bars")], True),
    # train's flags, for every run trained here (--epochs, --train-size, --val-size, --seed, --accelerator, ...)
    *config_options(TrainConfig, DataConfig, exclude=("model", "preset", "max_minutes", "init_from")),
]
app.command("compare")(
    command_with(
        _PARAMS,
        _compare,
        "Train models on one dataset (or take finished runs and ensembles), score VADER and TF-IDF baselines on the "
        "same tweets, score everything on --eval-data files too, and write report.md and a self-contained "
        "report.html.",
    )
)


_SHORT = {"tfidf": "TF-IDF+LR", "vader": "VADER"}


def print_comparison(results: Results) -> None:
    """A terminal-sized version of the report's tables: accuracy / macro-F1 on every test and cross-domain set."""
    from tweetsent.comparison.report import DASH, num, num_sd

    sets = [s["name"] for s in results["sets"] if s["kind"] != "val"]

    def cell(entry: Entry, name: str) -> str:
        m = entry["scores"].get(name)
        return DASH if m is None else f"{m['accuracy'] * 100:.1f} / {num_sd(entry, name, 'macro_f1')}"

    def minutes(seconds: float | None) -> str:
        return DASH if seconds is None else f"{int(seconds // 60)}:{int(seconds % 60):02d}"

    table = Table(
        title="tweetsent compare",
        caption="accuracy % / macro-F1 per set; our models and ensembles, then baselines",
        header_style="bold",
    )
    for i, header in enumerate(["model", *sets, "train m:s", "pred/s"]):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for e in results["models"]:
        table.add_row(
            e["name"],
            *(cell(e, n) for n in sets),
            minutes(e.get("train_seconds")),
            num(e.get("predict_tweets_per_second")),
        )
    table.add_section()
    for b in results["baselines"]:
        table.add_row(
            _SHORT.get(b["model"], b["model"]),
            *(cell(b, n) for n in sets),
            minutes(b["train_seconds"]) if b.get("train_tweets") else DASH,
            num(b.get("predict_tweets_per_second")),
        )
    # Piped or logged (make run > log), Rich would squeeze the table into 80 columns and cut every number.
    (console if console.is_terminal else Console(file=console.file, width=160)).print(table)
