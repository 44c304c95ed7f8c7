"""Commands that use a trained model: predict, serve, calibrate, evaluate. Registered on the main app.

Only what a command needs is imported inside it, so `predict` starts without Lightning, sklearn or
matplotlib (startup to first prediction well under 2 s for a recurrent model).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.table import Table

from tweetsent.cli.app import app, console, err_console, metrics_table, print_run_summary
from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEGATIVE, NEUTRAL, POSITIVE

if TYPE_CHECKING:
    import numpy as np

    from tweetsent.inference.classifier import Classifier

OUTPUT_FORMATS = ("table", "csv", "jsonl")
# Above this many texts `predict` shows a progress bar (on stderr).
PROGRESS_FROM = 20_000

RunDir = Annotated[Path, typer.Argument(help="a run directory or its model/ folder")]
NeutralMargin = Annotated[
    float | None,
    typer.Option(help="neutral when |p(pos) - p(neg)| < this (default: the calibrated margin; 0 disables)"),
]
Device = Annotated[str, typer.Option(help="cpu, cuda or auto")]
Precision = Annotated[str, typer.Option(help="auto (bf16 where the hardware has it), fp32 or bf16")]
InputFormat = Annotated[
    str | None, typer.Option("--input-format", help="lines, csv, tsv or jsonl (default: from the file name)")
]
TextColumn = Annotated[str | None, typer.Option(help="column (name or 0-based number) holding the text")]
LabelColumn = Annotated[str | None, typer.Option(help="column (name or 0-based number) holding the label")]
LabelMap = Annotated[
    str | None,
    typer.Option(help="label name = the file's value, e.g. negative=0,neutral=2,positive=4 (default: the label names)"),
]


def _data_options(fmt: str | None, text_column: str | None, label_column: str | None, label_map: str | None) -> Any:
    from tweetsent.data.labelled import ReadOptions, parse_label_map

    parse_label_map(label_map)  # a malformed map fails before the model loads
    return ReadOptions(fmt, text_column, label_column, label_map)


def _pct(x: float) -> str:
    return f"{x:.2%}"


# ---------------------------------------------------------------------------------------------- predict


def split_model_argument(arguments: list[str]) -> tuple[Path | None, list[str]]:
    """`predict [RUN_DIR] [TEXT ...]`: a first argument that is a folder is the model, the rest are tweets; with
    no folder, every argument is a tweet for the packaged model. A first argument shaped like a path to a folder
    that does not exist is an error, not a tweet."""
    if not arguments:
        return None, []
    first = arguments[0]
    if Path(first).is_dir():
        return Path(first), arguments[1:]
    looks_like_path = "/" in first and not any(c.isspace() for c in first) and "://" not in first
    if looks_like_path and len(arguments) > 1:
        raise UserError(f"{first}: no such run directory")
    return None, arguments


# The NumPy runtime starts about 1.5 s sooner (no PyTorch import) and predicts about half as fast: from about this
# many tweets on, PyTorch finishes first (docs/ready-model.md, bench/packaged_speed.py).
TORCH_FROM = 100_000


@app.command("predict")
def predict_command(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            help="[RUN_DIR] TEXT ...: a run directory (or its model/ folder; default: the packaged model), "
            "then tweets to classify",
            show_default=False,
            metavar="[RUN_DIR] [TEXT]...",
        ),
    ] = None,
    input_file: Annotated[
        str | None, typer.Option("--input", "-i", help="a file of tweets: one per line, CSV, TSV or JSONL; - for stdin")
    ] = None,
    input_format: InputFormat = None,
    text_column: TextColumn = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or jsonl")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (atomically), not stdout")] = None,
    encoding: Annotated[str, typer.Option(help="text encoding of --input: utf-8 or latin-1")] = "utf-8",
    encoding_errors: Annotated[
        str, typer.Option(help="strict: a byte that is not UTF-8 is an error naming its line; replace: replace it")
    ] = "strict",
    max_input_mb: Annotated[int, typer.Option(help="refuse input that decompresses to more than this")] = 256,
    neutral_margin: NeutralMargin = None,
    batch_size: Annotated[int, typer.Option(help="tweets per forward pass")] = 512,
    device: Device = "auto",
    precision: Precision = "auto",
    progress: Annotated[bool, typer.Option(help="show a progress bar on large inputs")] = True,
    runtime: Annotated[
        str,
        typer.Option(help="torch, numpy (a `bag` model, such as the packaged one), or auto: numpy for small inputs"),
    ] = "auto",
) -> None:
    """Classify tweets given as arguments, in a file, or on stdin; print labels and probabilities. Without a run
    directory, the model that ships with tweetsent answers."""
    run_dir, texts = split_model_argument(list(arguments or []))
    _check_predict_flags(texts, input_file, fmt, batch_size, input_format or text_column)
    from tweetsent.core.model_folder import resolve_model_dir
    from tweetsent.inference.classifier import Classifier

    resolve_model_dir(run_dir)  # a wrong path fails before stdin is read, ...
    if output is not None:
        check_writable(output)  # ... and an output that cannot be written before anything is computed
    if input_file is not None:
        from tweetsent.data.labelled import ReadOptions, read_tweets

        read = ReadOptions(input_format, text_column, encoding=encoding, encoding_errors=encoding_errors)
        items = read_tweets(input_file, read=dataclasses.replace(read, max_input_mb=max_input_mb)).texts
    else:
        items = list(texts or [])
    runtime = "torch" if runtime == "auto" and len(items) >= TORCH_FROM else runtime
    classifier = Classifier.load(
        run_dir,
        device=device,
        batch_size=batch_size,
        neutral_margin=neutral_margin,
        precision=precision,
        runtime=runtime,
    )
    probs = _predict_with_progress(classifier, items, progress and len(items) >= PROGRESS_FROM)
    _output(output, fmt, classifier, items, probs)


def _check_predict_flags(
    texts: list[str], input_file: str | None, fmt: str, batch_size: int, file_flags: str | None
) -> None:
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}")
    if batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if texts and input_file is not None:
        raise UserError("give tweets as arguments or --input, not both")
    if not texts and input_file is None:
        raise UserError("nothing to classify: give tweets as arguments, --input FILE, or --input - for stdin")
    if input_file is None and file_flags:
        raise UserError("--input-format and --text-column apply to --input")


def _output(output: Path | None, fmt: str, classifier: Any, items: list[str], probs: Any) -> None:
    """The predictions to stdout, or atomically to `output`."""
    if output is None:
        try:
            _write(sys.stdout, fmt, classifier, items, probs, to_terminal=True)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has all it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    from tweetsent.core.atomic import atomic_path

    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        _write(f, fmt, classifier, items, probs, to_terminal=False)
    err_console.print(f"{len(items):,} predictions written to {output}", highlight=False)


def check_writable(output: Path) -> None:
    """Fail now, in one line, if `output` cannot be written (no folder, read-only, full); remove the temporary
    files a killed earlier run left beside it."""
    import tempfile

    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UserError(f"{output}: is a folder; --output names a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{output.name}.", suffix=".check"):
            pass
    except OSError as e:
        raise UserError(f"{output}: cannot be written ({e.strerror or e})") from None
    for stale in folder.glob(f".{output.name}.*.tmp"):
        stale.unlink(missing_ok=True)


# C0 control characters but tab and newline, and DEL: a terminal or a CSV reader may act on them.
_CONTROLS = dict.fromkeys([*range(0, 9), *range(11, 32), 127])


def printable(text: str) -> str:
    return text.translate(_CONTROLS)


def _predict_with_progress(classifier: Classifier, items: list[str], show: bool) -> np.ndarray:
    if not show:
        return classifier.predict_proba(items)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("predict", total=len(items))
        return classifier.predict_proba(items, progress=lambda n: bar.advance(task, n))


def _write(
    out: TextIO, fmt: str, classifier: Classifier, items: list[str], probs: np.ndarray, to_terminal: bool
) -> None:
    names = classifier.labels.names
    decisions = classifier.decisions.names
    labels = [decisions[k] for k in classifier.decide(probs).tolist()]
    items = [printable(t) for t in items]
    rows = probs.tolist()
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["text", "label", *names])
        writer.writerows(
            [t, label, *(f"{p:.6f}" for p in row)] for t, label, row in zip(items, labels, rows, strict=True)
        )
    elif fmt == "jsonl":
        for t, label, row in zip(items, labels, rows, strict=True):
            record = {
                "text": t,
                "label": label,
                "probabilities": {n: round(p, 6) for n, p in zip(names, row, strict=True)},
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        _write_table(out, classifier, items, labels, rows, to_terminal)


def _write_table(
    out: TextIO, classifier: Classifier, items: list[str], labels: list[str], rows: list[list[float]], to_terminal: bool
) -> None:
    from rich.console import Console

    colour = {NEGATIVE: "red", NEUTRAL: "yellow", POSITIVE: "green"}
    margin = classifier.neutral_margin
    title = f"{classifier.name}" + (f", neutral band {margin:.3f}" if margin else "")
    table = Table(title=title, header_style="bold")
    table.add_column("text", overflow="fold", ratio=1)
    table.add_column("label")
    for name in classifier.labels.names:
        table.add_column(name, justify="right")
    for t, label, row in zip(items, labels, rows, strict=True):
        table.add_row(t, f"[{colour.get(label, 'white')}]{label}[/]", *(_pct(p) for p in row))
    target = console if to_terminal else Console(file=out, width=120, color_system=None)
    target.print(table)


# ---------------------------------------------------------------------------------------------- serve


@app.command("serve")
def serve_command(
    run_dir: Annotated[
        Path | None, typer.Argument(help="a run directory or its model/ folder [default: the packaged model]")
    ] = None,
    host: Annotated[str, typer.Option(help="address to bind (0.0.0.0 exposes it to the network)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    max_batch: Annotated[int, typer.Option(help="most texts per request (and per micro-batch)")] = 512,
    max_text_length: Annotated[int, typer.Option(help="most characters per text")] = 2000,
    batch_wait_ms: Annotated[float, typer.Option(help="longest wait to gather a micro-batch")] = 5.0,
    max_body_bytes: Annotated[int, typer.Option(help="largest request body; larger ones get 413 unread")] = 2 << 20,
    body_timeout: Annotated[float, typer.Option(help="seconds a request body may take to arrive (408 after)")] = 10.0,
    timeout_keep_alive: Annotated[int, typer.Option(help="seconds an idle keep-alive connection stays open")] = 5,
    micro_batching: Annotated[bool, typer.Option(help="share forward passes between concurrent requests")] = True,
    neutral_margin: NeutralMargin = None,
    device: Device = "auto",
    precision: Precision = "auto",
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
) -> None:
    """Serve the model over HTTP: POST /predict, GET /health, GET /model, docs at /docs."""
    if max_batch < 1 or max_text_length < 1 or max_body_bytes < 1:
        raise UserError("--max-batch, --max-text-length and --max-body-bytes must be at least 1")
    if body_timeout <= 0 or timeout_keep_alive < 1:
        raise UserError("--body-timeout and --timeout-keep-alive must be positive")
    if not 0 <= batch_wait_ms <= 1000:
        raise UserError("--batch-wait-ms must be between 0 and 1000")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {port}")
    import uvicorn

    from tweetsent.inference.classifier import Classifier
    from tweetsent.inference.server import ServeSettings, create_app

    classifier = Classifier.load(run_dir, device=device, neutral_margin=neutral_margin, precision=precision)
    classifier.predict(["warm up"])  # the first pass builds lookup tables: not on a client's time
    settings = ServeSettings(max_batch, max_text_length, batch_wait_ms, micro_batching, max_body_bytes, body_timeout)
    _check_port(host, port)  # a port in use is one line, before anything says "serving"
    band = f", neutral band {classifier.neutral_margin:.3f}" if classifier.neutral_margin else ""
    batching = f"micro-batching (wait ≤ {batch_wait_ms:g} ms)" if micro_batching else "no micro-batching"
    err_console.print(
        f"serving {classifier.name}{band} on http://{host}:{port} ({batching}); API docs at /docs", highlight=False
    )
    try:
        uvicorn.run(
            create_app(classifier, settings),
            host=host,
            port=port,
            access_log=access_log,
            log_level="info",
            timeout_keep_alive=timeout_keep_alive,
        )
    except OSError as e:  # port taken, address not available
        raise UserError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise UserError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None


# ---------------------------------------------------------------------------------------------- calibrate


@app.command("calibrate")
def calibrate_command(
    run_dir: RunDir,
    data: Annotated[
        str | None, typer.Option(help="labelled tweets with neutrals (CSV, TSV, JSONL), e.g. SemEval-2016 train")
    ] = None,
    input_format: InputFormat = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    label_map: LabelMap = None,
    margin: Annotated[float | None, typer.Option(help="store this margin instead of choosing one (0 disables)")] = None,
    device: Device = "auto",
    precision: Precision = "auto",
) -> None:
    """Choose the neutral band's margin (best macro-F1 on --data) and store it in the model folder; for a model that
    predicts neutral itself, the class prior correction (best macro-F1 on --data, default: the run's validation
    split)."""
    from tweetsent.evaluation.datafile import calibrate_file

    options = _data_options(input_format, text_column, label_column, label_map)
    info = calibrate_file(run_dir, data, options, margin=margin, device=device, precision=precision)
    if "class_bias" in info:
        offsets = ", ".join(f"{name} {b:+.2f}" for name, b in info["class_bias"].items())
        console.print(
            f"class log-offsets {offsets} stored in the model folder: macro-F1 on the {info['data']} "
            f"({info['n']:,} tweets) {info['macro_f1_before']:.3f} -> {info['macro_f1_after']:.3f}",
            highlight=False,
        )
        return
    m = info["neutral_margin"]
    if "without_band" not in info:
        console.print(f"neutral margin set to {m:g}" + (" (band disabled)" if m == 0 else ""))
        return
    table = Table(title=f"neutral band on {info['data']}", header_style="bold")
    for column in ("decision", "3-class accuracy", "macro-F1"):
        table.add_column(column, justify="right")
    table.add_row("argmax (no band)", _pct(info["without_band"]["accuracy"]), f"{info['without_band']['macro_f1']:.3f}")
    table.add_row(f"band, margin {m:.3f}", _pct(info["with_band"]["accuracy"]), f"{info['with_band']['macro_f1']:.3f}")
    console.print(table)
    _print_data_line(info)
    console.print(f"margin {m:.4f} ({info['neutral_share']:.1%} of these tweets neutral) stored in the model folder")


def _print_data_line(info: dict[str, Any]) -> None:
    counts = " / ".join(f"{name} {n:,}" for name, n in info["class_counts"].items())
    dropped = ", ".join(f"{n:,} {why}" for why, n in info["dropped"].items()) or "none"
    console.print(
        f"{info['n']:,} of {info['rows_read']:,} rows used ({counts}; "
        f"text column {info['text_column']!r}, label column {info['label_column']!r}); dropped: {dropped}",
        highlight=False,
    )


# ---------------------------------------------------------------------------------------------- evaluate


@app.command("evaluate")
def evaluate_command(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="a run directory or its model/ folder [default with --data: the packaged model]"),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="evaluate on this labelled file (CSV, TSV, JSONL) instead of the run's splits")
    ] = None,
    input_format: InputFormat = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    label_map: LabelMap = None,
    name: Annotated[
        str | None, typer.Option(help="folder name under RUN_DIR/eval (default: from the file name)")
    ] = None,
    neutral_margin: NeutralMargin = None,
    device: Device = "auto",
    precision: Precision = "auto",
) -> None:
    """Recompute a run's metrics and plots, or measure it (or, with no run, the packaged model) on any labelled
    tweet file (--data)."""
    if data is None and run_dir is None:
        raise UserError("give a run directory, or --data FILE to measure the packaged model on")
    if data is None:
        assert run_dir is not None
        if any(x is not None for x in (input_format, text_column, label_column, label_map, name)):
            raise UserError("--input-format, --text-column, --label-column, --label-map and --name apply to --data")
        from tweetsent.evaluation.evaluate import evaluate_run

        summary = evaluate_run(run_dir, neutral_margin=neutral_margin)
        print_run_summary(summary)
        band = summary.get("neutral_band")
        if band:
            _print_band(band)
        return
    from tweetsent.evaluation.datafile import evaluate_file

    options = _data_options(input_format, text_column, label_column, label_map)
    result, out = evaluate_file(
        run_dir, data, options, name=name, neutral_margin=neutral_margin, device=device, precision=precision
    )
    rows = [("argmax (no band)", result["metrics"])]
    if result["neutral_band"]:
        rows.append((f"neutral band {result['neutral_band']['margin']:.3f}", result["neutral_band"]["metrics"]))
    console.print(metrics_table(f"{result['model']} on {result['name']}", rows))
    _print_data_line(result)
    console.print(f"written to {out}", highlight=False)


def _print_band(band: dict[str, Any]) -> None:
    rows = [(name, m) for name, m in band.items() if isinstance(m, dict)]
    console.print(metrics_table(f"with the neutral band (margin {band['margin']:.3f})", rows))
