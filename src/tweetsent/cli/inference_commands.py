"""Commands that use a trained model: predict, serve, calibrate, evaluate. Registered on the main app.

Only what a command needs is imported inside it, so `predict` starts without Lightning, sklearn or
matplotlib (startup to first prediction well under 2 s for a recurrent model).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tweetsent.cli.app import app, console, err_console, metrics_table, print_run_summary
from tweetsent.core.errors import UserError

if TYPE_CHECKING:
    pass

RunDir = Annotated[Path, typer.Argument(help="a run directory or its model/ folder")]
NeutralMargin = Annotated[
    float | None,
    typer.Option(help="neutral when |p(pos) - p(neg)| < this (default: the calibrated margin; 0 disables)"),
]
Device = Annotated[str, typer.Option(help="cpu, cuda or auto")]
Precision = Annotated[str, typer.Option(help="auto (bf16 where the hardware has it), fp32 or bf16")]
Runtime = Annotated[
    str,
    typer.Option(
        help="torch, onnx (after `tweetsent export`), numpy (a `bag` model), or auto: the ONNX export if there "
        "is one, else numpy where it runs, else torch"
    ),
]
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


# ---------------------------------------------------------------------------------------------- serve


ServeWorkers = Annotated[
    int | None,
    typer.Option(
        help="server processes on the port, each with its own model and micro-batcher [default: one per usable core]",
        show_default=False,
    ),
]


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
    max_body_bytes: Annotated[
        int, typer.Option(help="largest request body; larger ones get 413 (read and dropped up to a bound)")
    ] = 2 << 20,
    body_timeout: Annotated[float, typer.Option(help="seconds a request body may take to arrive (408 after)")] = 10.0,
    timeout_keep_alive: Annotated[int, typer.Option(help="seconds an idle keep-alive connection stays open")] = 5,
    micro_batching: Annotated[bool, typer.Option(help="share forward passes between concurrent requests")] = True,
    workers: ServeWorkers = None,
    neutral_margin: NeutralMargin = None,
    device: Device = "auto",
    precision: Precision = "auto",
    runtime: Runtime = "auto",
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
) -> None:
    """Serve the model over HTTP: POST /predict, GET /health, GET /model, docs at /docs."""
    settings = _serve_settings(max_batch, max_text_length, batch_wait_ms, micro_batching, max_body_bytes, body_timeout)
    if timeout_keep_alive < 1:
        raise UserError("--timeout-keep-alive must be positive")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {port}")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    import uvicorn

    from tweetsent.inference.classifier import Classifier
    from tweetsent.inference.server import create_app

    # With several workers each loads its own; this load checks the model (a damaged folder is one line here,
    # not a failure in every worker) and names it.
    load = {"device": device, "neutral_margin": neutral_margin, "precision": precision, "runtime": runtime}
    classifier = Classifier.load(run_dir, **load)  # type: ignore[arg-type]
    n_workers = workers if workers is not None else default_serve_workers(classifier.device)
    if n_workers == 1:
        classifier.predict(["warm up"])  # the first pass builds lookup tables: not on a client's time
    _check_port(host, port)  # a port in use is one line, before anything says "serving"
    _announce(classifier, f"http://{host}:{port}", settings, n_workers)
    options: dict[str, Any] = {"host": host, "port": port, "access_log": access_log, "log_level": "info"}
    options["timeout_keep_alive"] = timeout_keep_alive
    try:
        if n_workers == 1:
            uvicorn.run(create_app(classifier, settings), **options)
        else:
            del classifier  # each worker loads its own
            _serve_workers(n_workers, run_dir, settings, load, options)
    except OSError as e:  # port taken, address not available
        raise UserError(f"cannot serve on {host}:{port} ({e.strerror or e})") from None


def _announce(classifier: Any, url: str, settings: Any, n_workers: int) -> None:
    band = f", neutral band {classifier.neutral_margin:.3f}" if classifier.neutral_margin else ""
    wait = settings.batch_wait_ms
    batching = f"micro-batching (wait ≤ {wait:g} ms)" if settings.micro_batching else "no micro-batching"
    processes = f"{n_workers} worker" + ("s" if n_workers > 1 else "")
    err_console.print(
        f"serving {classifier.name}{band} on {url} ({batching}, {processes}); API docs at /docs",
        highlight=False,
        soft_wrap=True,
    )


def _serve_settings(
    max_batch: int, max_text: int, wait_ms: float, micro_batching: bool, max_body: int, body_timeout: float
) -> Any:
    """The server's limits, checked: a bad one is a one-line error before the model loads."""
    from tweetsent.inference.server import ServeSettings

    if max_batch < 1 or max_text < 1 or max_body < 1:
        raise UserError("--max-batch, --max-text-length and --max-body-bytes must be at least 1")
    if body_timeout <= 0:
        raise UserError("--body-timeout must be positive")
    if not 0 <= wait_ms <= 1000:
        raise UserError("--batch-wait-ms must be between 0 and 1000")
    return ServeSettings(max_batch, max_text, wait_ms, micro_batching, max_body, body_timeout)


def default_serve_workers(device: str = "cpu") -> int:
    """One server process per usable core (one on a single core); one for a GPU, which takes one stream."""
    import os

    if device != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores)


def _serve_workers(
    n: int,
    run_dir: Path | None,
    settings: Any,
    load: dict[str, Any],
    options: dict[str, Any],
) -> None:
    """uvicorn's multi-process mode: `n` processes accept on one socket, each builds its app (model, warm-up,
    micro-batcher) from what `SERVE_ENV` says."""
    import os

    import uvicorn

    from tweetsent.inference.server import SERVE_ENV, worker_spec

    resolved = run_dir.resolve() if run_dir is not None else None  # the same folder whatever a worker's cwd
    spec = worker_spec(resolved, settings, load)
    os.environ[SERVE_ENV] = spec
    uvicorn.run("tweetsent.inference.server:app_from_environment", factory=True, workers=n, **options)


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
    runtime: Runtime = "auto",
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
        run_dir,
        data,
        options,
        name=name,
        neutral_margin=neutral_margin,
        device=device,
        precision=precision,
        runtime=runtime,
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
