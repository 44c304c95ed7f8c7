"""`tweetsent export RUN_DIR --format onnx [--quantize int8]`: an ONNX export inside the run's model folder, which
`--runtime onnx` (and `auto`) then uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tweetsent.cli.app import app, console
from tweetsent.core.errors import UserError


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="a run directory or its model/ folder")],
    fmt: Annotated[str, typer.Option("--format", help="onnx")] = "onnx",
    quantize: Annotated[str, typer.Option(help="none, or int8 (dynamic int8 matrix products)")] = "none",
    sample: Annotated[
        str | None, typer.Option(help="tweets to verify the export on (a file predict reads; default: a built-in set)")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="column of the text in --sample")] = None,
) -> None:
    """Export a run's model to ONNX, check it against PyTorch on a sample, and record it in the model folder."""
    if fmt != "onnx":
        raise UserError(f"--format must be onnx, not {fmt!r}")
    from tweetsent.core.model_folder import resolve_model_dir
    from tweetsent.inference.onnx_model import QUANTIZATIONS, export_onnx

    if quantize not in QUANTIZATIONS:
        raise UserError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}")
    folder = resolve_model_dir(run_dir)
    texts = None
    if sample is not None:
        from tweetsent.data.labelled import ReadOptions, read_tweets

        texts = read_tweets(sample, read=ReadOptions(text_column=text_column)).texts
    record = export_onnx(folder, quantize, texts)
    check = record["verified"]
    kind = "int8" if quantize == "int8" else "fp32"
    console.print(
        f"ONNX export ({kind}) written to {folder / record['file']}: on {check['tweets']} tweets its probabilities "
        f"differ from PyTorch's by at most {check['max_abs_diff']:.2g} (mean {check['mean_abs_diff']:.2g}), labels "
        f"agree on {check['label_agreement']:.1%}; predict, evaluate and serve use it (--runtime auto or onnx)",
        highlight=False,
    )
