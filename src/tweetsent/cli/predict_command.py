"""`tweetsent predict [RUN_DIR] [TEXT ...] [--input FILE]`: labels and probabilities for tweets.

A file is read, predicted and written chunk by chunk (data/stream.py, inference/prediction_files.py), so its size
does not matter; `--resume` continues an interrupted `--output`. Only what the command needs is imported, so it
answers a few tweets quickly.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tweetsent.cli.app import app, err_console
from tweetsent.cli.inference_commands import Device, NeutralMargin, Precision, Runtime, TextColumn
from tweetsent.core.errors import UserError

if TYPE_CHECKING:
    from tweetsent.data.stream import TweetStream
    from tweetsent.inference.classifier import Classifier
    from tweetsent.inference.prediction_files import PredictionFile

# Tweets predicted and written per step: memory stays flat, and a resumed run repeats at most this many.
STREAM_CHUNK = 32_768
# Inputs at least this large (bytes) get a progress bar on stderr.
PROGRESS_FROM_BYTES = 2 << 20
# The NumPy runtime starts about 1.5 s sooner (no PyTorch import) and predicts about half as fast: for files of at
# least this many bytes (about 100,000 tweets) auto takes PyTorch (docs/ready-model.md, bench/packaged_speed.py).
TORCH_FROM_BYTES = 8 << 20


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


Arguments = Annotated[
    list[str] | None,
    typer.Argument(
        help="[RUN_DIR] TEXT ...: a run directory (or its model/ folder; default: the packaged model), then tweets "
        "to classify",
        show_default=False,
        metavar="[RUN_DIR] [TEXT]...",
    ),
]
InputFile = Annotated[
    str | None,
    typer.Option("--input", "-i", help="a file of tweets: one per line, CSV, TSV, JSONL or Parquet; - for stdin"),
]
InputFormat = Annotated[
    str | None, typer.Option("--input-format", help="lines, csv, tsv, jsonl or parquet (default: from the file name)")
]
MaxInputMb = Annotated[
    int, typer.Option(help="refuse a .gz/.zip that decompresses to more (default: 100x its size, at least 1 GB)")
]


@app.command("predict")
def predict_command(
    arguments: Arguments = None,
    input_file: InputFile = None,
    input_format: InputFormat = None,
    text_column: TextColumn = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, jsonl or parquet")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (atomically), not stdout")] = None,
    resume: Annotated[bool, typer.Option(help="continue an interrupted --output from its last finished chunk")] = False,
    encoding: Annotated[str, typer.Option(help="text encoding of --input: utf-8 or latin-1")] = "utf-8",
    encoding_errors: Annotated[
        str, typer.Option(help="strict: a byte that is not UTF-8 is an error naming its line; replace: replace it")
    ] = "strict",
    max_input_mb: MaxInputMb = 0,
    neutral_margin: NeutralMargin = None,
    batch_size: Annotated[int | None, typer.Option(help="tweets per forward pass [default: the model's]")] = None,
    device: Device = "auto",
    precision: Precision = "auto",
    progress: Annotated[bool, typer.Option(help="show a progress bar on large inputs")] = True,
    runtime: Runtime = "auto",
) -> None:
    """Classify tweets given as arguments, in a file, or on stdin; print or write labels and probabilities. Without
    a run directory, the model that ships with tweetsent answers."""
    run_dir, texts = split_model_argument(list(arguments or []))
    _check_flags(texts, input_file, batch_size, input_format or text_column, resume, output)
    from tweetsent.core.model_folder import resolve_model_dir
    from tweetsent.inference.prediction_files import OUTPUT_FORMATS

    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}")
    resolve_model_dir(run_dir)  # a wrong path fails before stdin is read, ...
    if output is not None:
        check_writable(output)  # ... and an output that cannot be written before anything is computed
    stream = _open_input(input_file, input_format, text_column, encoding, encoding_errors, max_input_mb)
    large = stream is not None and (stream.size or 0) >= TORCH_FROM_BYTES
    classifier = _load(run_dir, runtime, device, batch_size, neutral_margin, precision, large)
    out = _file(output, fmt, classifier, _identity(stream, classifier, fmt) if stream else {}, resume=resume)
    try:
        if stream is None:
            _write(out, classifier, texts, classifier.predict_proba(texts))
        else:
            _predict_stream(classifier, stream, out, progress and (stream.size or 0) >= PROGRESS_FROM_BYTES)
    except Exception:  # bad input or a failed write: nothing worth resuming (a killed run keeps its chunks)
        out.discard()
        raise
    if not out.done:
        out.discard()
        raise UserError(f"{stream.source if stream else 'input'}: no tweets found")
    out.finish()
    if output is not None:
        skipped = "".join(f"; {n:,} rows skipped ({why})" for why, n in (stream.dropped if stream else {}).items())
        err_console.print(f"{out.done:,} predictions written to {output}{skipped}", highlight=False)


def _check_flags(
    texts: list[str],
    input_file: str | None,
    batch_size: int | None,
    file_flags: str | None,
    resume: bool,
    output: Path | None,
) -> None:
    if batch_size is not None and batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if texts and input_file is not None:
        raise UserError("give tweets as arguments or --input, not both")
    if not texts and input_file is None:
        raise UserError("nothing to classify: give tweets as arguments, --input FILE, or --input - for stdin")
    if input_file is None and file_flags:
        raise UserError("--input-format and --text-column apply to --input")
    if resume and (output is None or input_file in (None, "-")):
        raise UserError("--resume continues an --output file predicted from an --input file (not stdin)")


def _open_input(
    input_file: str | None,
    input_format: str | None,
    text_column: str | None,
    encoding: str,
    encoding_errors: str,
    max_input_mb: int,
) -> TweetStream | None:
    if input_file is None:
        return None
    from tweetsent.data.labelled import ReadOptions
    from tweetsent.data.stream import open_tweets

    if max_input_mb < 0:
        raise UserError("--max-input-mb must be 0 (the default guard) or more")
    read = ReadOptions(
        input_format, text_column, encoding=encoding, encoding_errors=encoding_errors, max_input_mb=max_input_mb
    )
    return open_tweets(input_file, read)


def _load(
    run_dir: Path | None,
    runtime: str,
    device: str,
    batch_size: int | None,
    neutral_margin: float | None,
    precision: str,
    large: bool,
) -> Classifier:
    from tweetsent.core.model_folder import read_model_config, resolve_model_dir
    from tweetsent.inference.classifier import Classifier

    if runtime == "auto" and large and "export" not in read_model_config(resolve_model_dir(run_dir)):
        runtime = "torch"  # a large input: NumPy's quick start matters less than PyTorch's speed
    classifier = Classifier.load(
        run_dir,
        device=device,
        batch_size=batch_size,
        neutral_margin=neutral_margin,
        precision=precision,
        runtime=runtime,
    )
    if runtime == "auto" and classifier.runtime == "onnx":
        quantize = classifier.predictor.quantize  # type: ignore[attr-defined]
        err_console.print(f"using the model's ONNX export ({'int8' if quantize == 'int8' else 'fp32'})")
    return classifier


def _identity(stream: TweetStream, classifier: Classifier, fmt: str) -> dict[str, Any]:
    """What a resumed run must share with the run it continues."""
    source = Path(stream.source)
    folder = classifier.model_dir
    model = hashlib.sha256()
    if folder is not None:
        for name in ("config.json", "calibration.json"):
            if (folder / name).is_file():
                model.update((folder / name).read_bytes())
    stat = source.stat() if stream.size is not None or stream.fmt == "parquet" else None
    return {
        "input": str(source.resolve()) if stat else stream.source,
        "input size": stat.st_size if stat else None,
        "input modified": stat.st_mtime_ns if stat else None,
        "input format": stream.fmt,
        "text column": stream.text_column,
        "format": fmt,
        "model": f"{folder.resolve() if folder else classifier.name} {model.hexdigest()[:16]}",
        "runtime": classifier.runtime,
        "neutral margin": classifier.neutral_margin,
    }


def _file(output: Path | None, fmt: str, classifier: Classifier, identity: dict[str, Any], resume: bool) -> Any:
    from tweetsent.inference.prediction_files import PredictionFile

    margin = classifier.neutral_margin
    title = f"{classifier.name}" + (f", neutral band {margin:.3f}" if margin else "")
    return PredictionFile(output, fmt, classifier.labels.names, identity, resume=resume, title=title)


def _write(out: PredictionFile, classifier: Classifier, texts: list[str], probs: Any) -> None:
    decisions = classifier.decisions.names
    out.write(texts, [decisions[k] for k in classifier.decide(probs).tolist()], probs)


def _predict_stream(classifier: Classifier, stream: TweetStream, out: PredictionFile, show: bool) -> None:
    chunks = stream.chunks(STREAM_CHUNK, skip=out.done)
    if out.done:
        err_console.print(f"resuming after {out.done:,} tweets already predicted", highlight=False)
    if not show:
        for chunk in chunks:
            _write(out, classifier, chunk, classifier.predict_proba(chunk))
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("predicting"),
        BarColumn(),
        TextColumn("{task.fields[tweets]:,} tweets, {task.fields[rate]:,.0f}/s"),
        TimeRemainingColumn(),
    )
    start, done = time.perf_counter(), 0
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("predict", total=stream.size, tweets=out.done, rate=0.0)
        for chunk in chunks:
            _write(out, classifier, chunk, classifier.predict_proba(chunk))
            done += len(chunk)
            rate = done / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=stream.position(), tweets=out.done, rate=rate)


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
