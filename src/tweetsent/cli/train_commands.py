"""`prepare` and `train`. Their flags come from the config dataclasses (TrainConfig, DataConfig and what they
nest), so a new setting is one field, and `prepare` and `train` read the same data flags the same way."""

from __future__ import annotations

import glob
import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tweetsent.cli.app import app, console, err_console, print_run_summary
from tweetsent.cli.options import apply, command_with, config_options, given
from tweetsent.core.errors import UserError
from tweetsent.core.records import RecordError, from_dict
from tweetsent.data.dataset import SENTIMENT140, DataConfig, data_name
from tweetsent.training.config import TrainConfig

# Only these may change when a run is resumed: the rest would be silently ignored.
RESUMABLE = ("epochs", "max_steps")


def _fixed(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    kind = (
        inspect.Parameter.POSITIONAL_OR_KEYWORD
        if default is inspect.Parameter.empty
        else inspect.Parameter.KEYWORD_ONLY
    )
    return inspect.Parameter(name, kind, default=default, annotation=annotation)


def data_config(preset_data: dict[str, Any], flags: dict[str, Any], base: DataConfig | None = None) -> DataConfig:
    """DataConfig: `base` (a saved run's) or the defaults with the preset's [data] table, then the flags given."""
    try:
        start = base if base is not None else from_dict(DataConfig, preset_data, where="preset data.")
    except RecordError as e:
        raise UserError(str(e)) from None
    changes = given(DataConfig, flags)
    for name in _PATHS:  # absolute, so `train --config RUN_DIR/config.json` works from any folder
        if isinstance(changes.get(name), str) and changes[name] != "-":
            changes[name] = str(Path(changes[name]).expanduser().resolve())
    if "data" in changes:
        changes["data"] = expand_paths(changes["data"])
    if "test_data" in changes:
        changes["test_data"] = tuple(
            p if p == SENTIMENT140 else str(Path(p).expanduser().resolve()) for p in changes["test_data"]
        )
    if "val_data" in changes and "val_fraction" not in changes:
        changes["val_fraction"] = None  # a validation file replaces a saved run's held-out share
    return apply(start, changes)


def expand_paths(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """`--data` values as absolute paths, a glob standing for the files it matches (sorted); one that matches
    nothing is an error naming it."""
    out: list[str] = []
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if glob.has_magic(str(path)):
            found = sorted(p for p in glob.glob(str(path)) if Path(p).is_file())
            if not found:
                raise UserError(f"--data {pattern}: no file matches")
            out.extend(str(Path(p).resolve()) for p in found)
        else:
            out.append(str(path.resolve()) if pattern != "-" else pattern)
    return tuple(dict.fromkeys(out))


_PATHS = ("val_data", "select_data", "data_dir", "train_file", "test_file")


# ---------------------------------------------------------------------------------------------- train


def _train(
    model: str,
    preset: str | None,
    config_file: Path | None,
    out: Path | None,
    resume: bool,
    progress: bool,
    **flags: Any,
) -> None:
    from tweetsent.data.dataset import load_dataset
    from tweetsent.training.config import make_config, preset_values
    from tweetsent.training.run import check_run_dir, read_run_config, train

    train_flags, data_flags = given(TrainConfig, flags), given(DataConfig, flags)
    given_preset = preset
    name = data_name(tuple(flags["data"])) if flags.get("data") else None
    preset = preset or ("small" if name else "fast")  # a labelled file is usually a few thousand tweets
    run_dir = out or Path("runs") / f"{model}-{name or preset}"
    if resume:
        refused = sorted(set(train_flags) - set(RESUMABLE)) + sorted(data_flags)
        if refused or given_preset or config_file:
            shown = ", ".join("--" + n.replace("_", "-") for n in refused) or "--preset/--config"
            raise UserError(
                f"--resume continues the run as it was set up; only --epochs and --max-steps may change, not {shown}"
            )
    check_run_dir(run_dir, resume)  # before any work
    source = run_dir if resume else config_file
    if source is not None:
        saved = read_run_config(source)
        if saved["train"].get("model") != model:
            raise UserError(f"{source}: a {saved['train'].get('model')} run, not {model}")
        config = make_config(model, base=saved["train"], **train_flags)
        try:
            base = from_dict(DataConfig, saved.get("data", {}), where="data.")
        except RecordError as e:
            raise UserError(f"{source}: {e}") from None
        data = data_config({}, {} if resume else flags, base)
    else:
        config = make_config(model, preset, **train_flags)
        data = data_config(preset_values(model, config.preset)[1], flags)
    dataset = load_dataset(data)
    try:
        summary = train(config, dataset, run_dir, resume=resume, progress=progress)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: continue with `tweetsent train {model} --out {run_dir} --resume`")
        raise SystemExit(130) from None
    if summary is not None:
        print_run_summary(summary)
        console.print(f"run written to {run_dir}")


_TRAIN_PARAMS = [
    _fixed("model", Annotated[str, typer.Argument(help="lstm, bilstm, pyramid, bert, or any registered model")]),
    _fixed(
        "preset",
        Annotated[
            str | None,
            typer.Option(help="fast (Sentiment140's default), small (--data's default), seed (the study), or a .toml"),
        ],
        None,
    ),
    _fixed(
        "config_file",
        Annotated[Path | None, typer.Option("--config", help="repeat a run: its RUN_DIR/config.json (flags override)")],
        None,
    ),
    _fixed(
        "out", Annotated[Path | None, typer.Option(help="run directory [default: runs/MODEL-PRESET or -DATA]")], None
    ),
    _fixed("resume", Annotated[bool, typer.Option(help="continue the run in --out from its last checkpoint")], False),
    _fixed("progress", Annotated[bool, typer.Option(help="show a progress bar")], True),
    *config_options(TrainConfig, DataConfig, exclude=("model", "preset")),
]
app.command("train")(
    command_with(
        _TRAIN_PARAMS,
        _train,
        "Train a classifier on Sentiment140 or on any labelled file (--data); writes config, metrics, summary, "
        "plots, model and checkpoints to the run directory.",
    )
)


# ---------------------------------------------------------------------------------------------- prepare

# prepare reads Sentiment140 only: the labelled-file flags are train's.
_FILE_ONLY = (
    "data",
    "val_data",
    "val_fraction",
    "test_data",
    "labels",
    "input_format",
    "text_column",
    "label_column",
    "label_map",
)


def _prepare(preset: str, cache_dir: Path | None, embeddings: str, force: bool, as_json: bool, **flags: Any) -> None:
    import resource
    import time

    from tweetsent.core import paths
    from tweetsent.data.dataset import SENTIMENT140_VAL_FRACTION
    from tweetsent.data.prepare import PrepareConfig, prepare
    from tweetsent.data.sources import locate
    from tweetsent.embeddings.glove import embedding_matrix
    from tweetsent.training.config import preset_values

    start = time.perf_counter()
    data = data_config(preset_values("lstm", preset)[1], flags)
    files = locate(
        paths.data_dir(data.data_dir),
        train_file=data.train_file,
        test_file=data.test_file,
        allow_download=data.download,
    )
    config = PrepareConfig(data.cleaning, data.min_count, data.max_vocab, SENTIMENT140_VAL_FRACTION, data.split_seed)
    with console.status("preparing Sentiment140 (cold: ~15 s for 1.6M tweets)", spinner="dots"):
        prepared = prepare(files, config, paths.cache_dir(cache_dir), force=force)
        vectors = embedding_matrix(prepared.vocab, embeddings, prepared.path.parent, paths.glove_dir(), seed=0)
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


_PREPARE_PARAMS = [
    _fixed("preset", Annotated[str, typer.Option(help="fast or seed: its data settings (min count)")], "fast"),
    _fixed("cache_dir", Annotated[Path | None, typer.Option(help="where prepared data is cached")], None),
    _fixed("embeddings", Annotated[str, typer.Option(help="GloVe name (glove.42B.300d) or file path")], "glove.6B.50d"),
    _fixed("force", Annotated[bool, typer.Option(help="rebuild even if the cache is valid")], False),
    _fixed("as_json", Annotated[bool, typer.Option("--json", help="print the summary as JSON")], False),
    *config_options(DataConfig, exclude=_FILE_ONLY),
]
app.command("prepare")(
    command_with(
        _PREPARE_PARAMS,
        _prepare,
        "Read, clean, tokenize and cache Sentiment140; print what was read, dropped and kept. `train` takes the "
        "same data flags and finds this cache.",
    )
)


def print_summary(s: dict[str, Any]) -> None:
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
