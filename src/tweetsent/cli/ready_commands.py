"""The ready model's commands. `distill`: a teacher labels unlabelled tweets, a fast student learns from them and
the hand labels (the student's flags are `train`'s, from the same config dataclasses). `package`: a model folder
made ready to ship, with its figures and its card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tweetsent.cli.app import app, console, err_console, print_run_summary
from tweetsent.cli.options import command_with, config_options
from tweetsent.cli.train_commands import _fixed, check_resume
from tweetsent.core.errors import UserError
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import DataConfig
from tweetsent.training.config import TrainConfig, configure


def teacher_data(teacher: Path) -> list[str]:
    """The training files a teacher run records (config.json "data"), or none (an ensemble, a model folder)."""
    folder = RunFolder(teacher)
    if not folder.started:
        return []
    try:
        files = folder.read_config().get("data", {}).get("data") or []
    except (UserError, AttributeError):
        return []
    return [files] if isinstance(files, str) else [str(f) for f in files]


def _distill(
    teacher: Path,
    out: Path,
    unlabelled: list[str],
    student: str,
    unlabelled_size: int | None,
    temperature: float,
    augment: int,
    preset: str,
    resume: bool,
    progress: bool,
    **flags: Any,
) -> None:
    from tweetsent.training.distill import DistillOptions, distill

    if not flags.get("data"):
        flags["data"] = teacher_data(teacher)
    if resume and RunFolder(out).started:  # a student that has started training
        check_resume(out, student, preset, None, flags)
    config, data = configure(student, preset, flags)
    size = unlabelled_size or None  # 0: every tweet of the files
    # The pool is drawn with its own seed, so students of several --seed values share the teacher's cached scores.
    options = DistillOptions(str(teacher), tuple(unlabelled), size, temperature, augment=augment)
    try:
        summary = distill(options, config, data, out, resume, progress, log=lambda s: err_console.print(s))
    except KeyboardInterrupt:
        err_console.print("interrupted: the same command continues (add --resume once the student has started)")
        raise SystemExit(130) from None
    if summary is not None:
        print_run_summary(summary)
        console.print(f"student written to {out}")


_PARAMS = [
    _fixed("teacher", Annotated[Path, typer.Argument(help="the teacher: a run or ensemble folder")]),
    _fixed(
        "out", Annotated[Path, typer.Option(help="the student's run folder (the teacher's scores are cached in it)")]
    ),
    _fixed(
        "unlabelled",
        Annotated[
            list[str], typer.Option(help="tweets for the teacher to label (repeatable; any text, CSV, TSV file)")
        ],
    ),
    _fixed("student", Annotated[str, typer.Option(help="the student model (bag: the fast one)")], "bag"),
    _fixed(
        "unlabelled_size",
        Annotated[
            int | None, typer.Option(help="a seeded sample of this many unlabelled tweets (0: all) [default: 200,000]")
        ],
        200_000,
    ),
    _fixed("temperature", Annotated[float, typer.Option(help="soften (> 1) or sharpen (< 1) the teacher")], 1.0),
    _fixed(
        "augment",
        Annotated[
            int, typer.Option(help="perturbed copies of each hand-labelled training tweet for the teacher to label")
        ],
        0,
    ),
    _fixed("preset", Annotated[str, typer.Option(help="the student's training settings")], "distill"),
    _fixed(
        "resume", Annotated[bool, typer.Option(help="continue the student's training from its last checkpoint")], False
    ),
    _fixed("progress", Annotated[bool, typer.Option(help="show a progress bar")], True),
    *config_options(TrainConfig, DataConfig, exclude=("model", "preset")),
]
app.command("distill")(
    command_with(
        _PARAMS,
        _distill,
        "Distil a teacher into a fast student: the teacher labels unlabelled tweets (cached, resumable), the student "
        "trains on its probabilities plus the hand labels (--data; default: the teacher's training files).",
    )
)


# ---------------------------------------------------------------------------------------------- package


@app.command("package")
def package_command(
    run: Annotated[Path, typer.Argument(help="the run (or model folder) to package")],
    out: Annotated[Path, typer.Option(help="the folder to write (replaced as a whole)")],
    eval_data: Annotated[
        list[str], typer.Option(help="a hand-labelled test file the card reports (repeatable; sentiment140: its 498)")
    ],
    teacher: Annotated[Path | None, typer.Option(help="the teacher, scored beside it")] = None,
    speed_data: Annotated[
        str | None, typer.Option(help="unlabelled tweets to time the model and VADER on (a seeded sample)")
    ] = None,
    speed_size: Annotated[int, typer.Option(help="tweets timed")] = 20_000,
    half: Annotated[bool, typer.Option(help="store the weights as float16")] = True,
    command: Annotated[str, typer.Option(help="the command that built the model, for the card")] = "",
) -> None:
    """Copy a model folder with its figures (results.json) and a model card (README.md): macro-F1 on each
    --eval-data file beside the teacher's and VADER's, and its speed beside VADER's."""
    import numpy as np

    from tweetsent.data.labelled import ReadOptions, read_tweets
    from tweetsent.evaluation.card import PackageOptions, package

    texts: list[str] = []
    if speed_data is not None:
        pool = read_tweets(speed_data, read=ReadOptions(encoding_errors="replace")).texts
        rows = np.random.default_rng(0).choice(len(pool), size=min(speed_size, len(pool)), replace=False)
        texts = [pool[i] for i in np.sort(rows)]
    options = PackageOptions(tuple(eval_data), str(teacher) if teacher else None, tuple(texts), half, command)
    results = package(run, out, options)
    for name, entry in results["sets"].items():
        console.print(f"{name}: macro-F1 {entry['student']['macro_f1']:.3f}", highlight=False)
    if results["speed"]:
        s = results["speed"]
        console.print(f"{s['student']:,.0f} tweets/s, VADER {s['vader']:,.0f} ({s['student'] / s['vader']:.2f}x)")
    console.print(f"packaged in {out}")
