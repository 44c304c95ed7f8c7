"""`tweetsent ensemble RUN_DIR ... --out DIR [--fit-data FILE] [--vader]`: an ensemble of finished runs that every
command loads like one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tweetsent.cli.app import app, console, print_run_summary
from tweetsent.core.errors import UserError


@app.command("ensemble")
def ensemble_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="two or more finished runs (any families and label sets)")],
    out: Annotated[Path, typer.Option(help="the ensemble's folder (must not exist yet)")],
    fit_data: Annotated[
        str | None, typer.Option(help="labelled tweets to fit a stacker on (else the members are averaged)")
    ] = None,
    vader: Annotated[bool, typer.Option(help="with --fit-data: the VADER lexicon's scores as one more member")] = False,
    name: Annotated[str, typer.Option(help="the ensemble's name in reports and answers")] = "ensemble",
    input_format: Annotated[str | None, typer.Option("--input-format", help="lines, csv, tsv or jsonl")] = None,
    text_column: Annotated[str | None, typer.Option(help="column of the text in --fit-data")] = None,
    label_column: Annotated[str | None, typer.Option(help="column of the label in --fit-data")] = None,
    label_map: Annotated[str | None, typer.Option(help="label name = the file's value, for --fit-data")] = None,
) -> None:
    """Combine finished runs into one model: averaged probabilities, or a logistic-regression stacker fitted on
    --fit-data (optionally with VADER's scores). Writes OUT/model, OUT/config.json and OUT/summary.json."""
    from tweetsent.core.atomic import atomic_dir
    from tweetsent.data.labelled import ReadOptions, parse_label_map, read_labelled_file
    from tweetsent.evaluation.evaluate import evaluate_run
    from tweetsent.training.ensemble import make_ensemble

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: already exists and is not empty; choose another --out")
    fit = None
    if fit_data is not None:
        options = ReadOptions(input_format, text_column, label_column, label_map)
        fit = read_labelled_file(fit_data, options, parse_label_map(label_map))
    with atomic_dir(out) as tmp:  # a failure anywhere leaves no folder behind
        make_ensemble(run_dirs, tmp, fit, vader, name)
        summary = evaluate_run(tmp)
    print_run_summary(summary)
    console.print(f"ensemble written to {out}")
