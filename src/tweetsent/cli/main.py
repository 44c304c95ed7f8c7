"""`tweetsent` command line: one Typer app; user mistakes print one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tweetsent.errors import UserError

app = typer.Typer(
    name="tweetsent",
    help="Train, compare, evaluate and serve tweet sentiment classifiers on Sentiment140.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

Preset = Annotated[str, typer.Option("--preset", help="seed (the study's settings) or fast (recommended)")]


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    """Train, compare, evaluate and serve tweet sentiment classifiers on Sentiment140."""
    if version:
        from tweetsent import __version__

        console.print(f"tweetsent {__version__}")
        raise typer.Exit()


def _preset(name: str) -> str:
    if name not in ("seed", "fast"):
        raise UserError(f"--preset must be seed or fast, not {name!r}")
    return name


@app.command()
def prepare(
    data_dir: Annotated[Path | None, typer.Option(help="Sentiment140 folder [default: $TWEETSENT_DATA_DIR]")] = None,
    preset: Preset = "fast",
    cache_dir: Annotated[Path | None, typer.Option(help="where prepared data is cached")] = None,
    train_file: Annotated[Path | None, typer.Option(help="training CSV/zip/gz instead of the data dir's")] = None,
    test_file: Annotated[Path | None, typer.Option(help="test CSV instead of the data dir's")] = None,
    embeddings: Annotated[str, typer.Option(help="GloVe name (glove.42B.300d) or file path")] = "glove.6B.50d",
    min_count: Annotated[int | None, typer.Option(help="drop training words seen fewer times")] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation split")] = 0,
    drop_links: Annotated[bool, typer.Option(help="drop training tweets that contain a link")] = True,
    strip_urls: Annotated[bool, typer.Option(help="remove URLs from the text")] = True,
    strip_hash: Annotated[bool, typer.Option(help="'#word' -> 'word'")] = True,
    mention_token: Annotated[str, typer.Option(help="replacement for @mentions ('' keeps them)")] = "someone",
    remove_noise: Annotated[bool, typer.Option(help="remove characters that carry no meaning")] = True,
    lowercase: Annotated[bool, typer.Option(help="lower-case (for uncased vectors)")] = True,
    html_unescape: Annotated[bool, typer.Option(help="decode HTML entities of the original files")] = True,
    download: Annotated[bool, typer.Option(help="download the official zip when files are missing")] = True,
    force: Annotated[bool, typer.Option(help="rebuild even if the cache is valid")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Read, clean, tokenize and cache Sentiment140; print what was read, dropped and kept."""
    import dataclasses
    import resource
    import time

    from tweetsent import paths
    from tweetsent.data.cleaning import CleaningConfig
    from tweetsent.data.prepare import PRESETS
    from tweetsent.data.prepare import prepare as run_prepare
    from tweetsent.data.sources import locate
    from tweetsent.embeddings.glove import embedding_matrix

    start = time.perf_counter()
    base = PRESETS[_preset(preset)]
    config = dataclasses.replace(
        base,
        seed=seed,
        min_count=base.min_count if min_count is None else min_count,
        cleaning=CleaningConfig(
            html_unescape=html_unescape,
            drop_link_tweets=drop_links,
            strip_urls=strip_urls,
            strip_hash=strip_hash,
            mention_token=mention_token or None,
            remove_noise_chars=remove_noise,
            lowercase=lowercase,
        ),
    )
    folder = paths.data_dir(data_dir)
    files = locate(folder, train_file=train_file, test_file=test_file, allow_download=download)
    with console.status("preparing Sentiment140 (cold: ~15 s for 1.6M tweets)", spinner="dots"):
        prepared = run_prepare(files, config, paths.cache_dir(cache_dir), force=force)
        vectors = embedding_matrix(prepared.vocab, embeddings, prepared.path.parent, paths.glove_dir(), seed=seed)
    types, tokens = vectors.coverage(prepared.vocab)
    summary = {
        **prepared.stats,
        "cache": str(prepared.path),
        "cache_hit": prepared.cache_hit,
        "embeddings": {"source": vectors.source, "dim": vectors.dim, "type_coverage": types, "token_coverage": tokens},
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        print_summary(summary)


@app.command("train")
def train_command(
    model: Annotated[str, typer.Argument(help="lstm, bilstm, pyramid or bert")],
    preset: Preset = "fast",
    out: Annotated[Path | None, typer.Option(help="run directory [default: runs/MODEL-PRESET]")] = None,
    epochs: Annotated[float | None, typer.Option(help="epochs over the training split")] = None,
    max_steps: Annotated[int | None, typer.Option(help="stop after this many optimiser steps")] = None,
    train_size: Annotated[int | None, typer.Option(help="train on a seeded random subset of this size")] = None,
    val_size: Annotated[int | None, typer.Option(help="validate on a seeded random subset of this size")] = None,
    batch_size: Annotated[int | None, typer.Option(help="tweets per step (per device)")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate (bert: of the pretrained encoder)")] = None,
    eval_every: Annotated[int | None, typer.Option(help="steps between validation-sample and test evaluations")] = None,
    embeddings: Annotated[str | None, typer.Option(help="GloVe name or file")] = None,
    train_embeddings: Annotated[bool | None, typer.Option(help="fine-tune the word vectors")] = None,
    max_length: Annotated[int | None, typer.Option(help="tokens kept per tweet")] = None,
    fixed_length: Annotated[
        int | None, typer.Option(help="pad every batch to exactly N tokens (the study: 40)")
    ] = None,
    bucket: Annotated[bool | None, typer.Option(help="batch tweets of similar length together")] = None,
    dropout: Annotated[float | None, typer.Option(help="dropout on the final state")] = None,
    precision: Annotated[str | None, typer.Option(help="Lightning precision: 32-true, bf16-mixed, 16-mixed")] = None,
    early_stopping: Annotated[int | None, typer.Option(help="stop after N validations without improvement")] = None,
    grad_accum: Annotated[int | None, typer.Option(help="batches per optimiser step (gradient accumulation)")] = None,
    schedule: Annotated[str | None, typer.Option(help="constant, or linear (warm-up, then decay)")] = None,
    warmup_steps: Annotated[int | None, typer.Option(help="warm-up steps of the linear schedule")] = None,
    pretrained: Annotated[
        str | None, typer.Option(help="bert: Hugging Face model id or local folder [default: all-MiniLM-L6-v2]")
    ] = None,
    head_lr: Annotated[float | None, typer.Option(help="bert: learning rate of the new classification head")] = None,
    freeze_encoder: Annotated[bool, typer.Option("--freeze-encoder", help="bert: train the head only")] = False,
    clean: Annotated[
        bool | None, typer.Option("--clean/--no-clean", help="bert: apply the cleaning rules before the tokenizer")
    ] = None,
    accelerator: Annotated[str, typer.Option(help="cpu, gpu or auto")] = "auto",
    devices: Annotated[str, typer.Option(help="number of devices, or auto")] = "auto",
    num_nodes: Annotated[int, typer.Option(help="machines for multi-node DDP")] = 1,
    strategy: Annotated[str, typer.Option(help="Lightning strategy: auto, ddp, ddp_spawn, ...")] = "auto",
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Sentiment140 folder")] = None,
    resume: Annotated[bool, typer.Option(help="continue the run in --out from its last checkpoint")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train a classifier; writes config, metrics, summary, plots, model and checkpoints to the run directory."""
    from tweetsent.training.config import TrainConfig, preset_config
    from tweetsent.training.run import read_run_config, train

    run_dir = out or Path("runs") / f"{model}-{preset}"
    if resume and (run_dir / "config.json").is_file():
        import dataclasses

        saved = TrainConfig.from_dict(read_run_config(run_dir)["train"])
        config = dataclasses.replace(
            saved,
            epochs=saved.epochs if epochs is None else epochs,
            max_steps=saved.max_steps if max_steps is None else max_steps,
        )
    else:
        config = preset_config(
            model,
            _preset(preset),
            epochs=epochs,
            max_steps=max_steps,
            train_size=train_size,
            val_size=val_size,
            batch_size=batch_size,
            lr=lr,
            eval_every=eval_every,
            embeddings=embeddings,
            train_embeddings=train_embeddings,
            max_length=max_length,
            fixed_length=fixed_length,
            bucket=bucket,
            dropout=dropout,
            precision=precision,
            early_stopping=early_stopping,
            grad_accum=grad_accum,
            schedule=schedule,
            warmup_steps=warmup_steps,
            pretrained=pretrained,
            head_lr=head_lr,
            freeze_encoder=freeze_encoder or None,
            clean=clean,
            accelerator=accelerator,
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            seed=seed,
        )
    try:
        summary = train(config, run_dir, data_dir=data_dir, resume=resume, progress=progress)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: continue with `tweetsent train {model} --out {run_dir} --resume`")
        raise SystemExit(130) from None
    if summary is not None:
        print_run_summary(summary)
        console.print(f"run written to {run_dir}")


def print_run_summary(s: dict) -> None:
    table = Table(title=f"{s['model']}" + (f" ({s['preset']} preset)" if "preset" in s else ""), header_style="bold")
    for column in ("split", "loss", "accuracy", "binary acc.", "macro-F1"):
        table.add_column(column, justify="right")
    for split in ("val", "test", "test_seed"):
        m = s.get(split, {})
        binary = f"{m['accuracy_binary']:.2%}" if "accuracy_binary" in m else "—"
        table.add_row(split, f"{m['loss']:.4f}", f"{m['accuracy']:.2%}", binary, f"{m['macro_f1']:.3f}")
    console.print(table)
    if "steps" in s:
        console.print(
            f"{s['epochs']} epochs, {s['steps']:,} steps (best {s['best_step']:,}), "
            f"{s['train_seconds']:.0f} s training, {s['train_tweets_per_second']:,.0f} tweets/s"
        )


def print_summary(s: dict) -> None:
    table = Table(title="Sentiment140 prepared", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("value", justify="right")
    for split, n in s["rows_read"].items():
        table.add_row(f"rows read ({split})", f"{n:,}")
    for reason, n in s["dropped"].items():
        table.add_row(f"dropped: {reason}", f"{n:,}")
    table.add_row("test_seed: link tweets removed", f"{s['test_seed_link_tweets_removed']:,}")
    for split, (neg, neu, pos) in s["class_counts"].items():
        table.add_row(f"{split} neg / neu / pos", f"{neg:,} / {neu:,} / {pos:,}")
    table.add_row("vocabulary", f"{s['vocab_size']:,}")
    p = s["length_percentiles"]
    table.add_row(
        "tokens per tweet mean / p50 / p90 / p99 / max",
        f"{p['mean']:.1f} / {p['p50']:.0f} / {p['p90']:.0f} / {p['p99']:.0f} / {p['max']}",
    )
    e = s["embeddings"]
    table.add_row(
        f"vectors ({e['source']}, {e['dim']}-d)",
        f"{e['type_coverage']:.1%} of words, {e['token_coverage']:.1%} of tokens",
    )
    table.add_row("cache", f"{'hit' if s['cache_hit'] else 'built'}: {s['cache']}")
    table.add_row("time", f"{s['seconds']:.2f} s")
    console.print(table)


def run() -> None:
    """Console-script entry point."""
    import logging
    import os
    import warnings

    # Quiet the banners and tips Lightning prints at every start; its warnings and errors still show.
    os.environ.setdefault("POSSIBLE_USER_WARNING", "off")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch.accelerators.cuda").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r".*does not have many workers")
    warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* exists and is not empty")
    # Mid-epoch resume is handled by our Reshuffle callback (it skips the batches already trained on).
    warnings.filterwarnings("ignore", message=r".*resuming from a checkpoint that ended before the epoch ended")
    try:
        app()
    except UserError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


# `compare` lives in its own module too; importing it registers the command.
import tweetsent.cli.compare_command  # noqa: E402, F401

# predict, serve, calibrate and evaluate live in their own module; importing it registers them on `app`.
from tweetsent.cli import inference_commands  # noqa: E402, F401

if __name__ == "__main__":
    # `python -m tweetsent.cli.main`: run the imported module's app, the one the other commands registered on.
    from tweetsent.cli.main import run as main_run

    main_run()
