"""`prepare` and `train`. Their flags come from the config dataclasses (TrainConfig, DataConfig and what they
nest), so a new setting is one field, and `prepare` and `train` read the same data flags the same way."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tweetsent.cli.app import app, console, err_console, metrics_table, print_run_summary
from tweetsent.cli.options import command_with, config_options
from tweetsent.core.errors import UserError
from tweetsent.core.records import RecordError, from_dict, given
from tweetsent.data.dataset import DataConfig
from tweetsent.training.config import TrainConfig, configure, data_config, preset_data, run_defaults

# Only these may change when a run is resumed: the rest would be silently ignored.
RESUMABLE = ("epochs", "max_steps")


def _fixed(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    kind = (
        inspect.Parameter.POSITIONAL_OR_KEYWORD
        if default is inspect.Parameter.empty
        else inspect.Parameter.KEYWORD_ONLY
    )
    return inspect.Parameter(name, kind, default=default, annotation=annotation)


# ---------------------------------------------------------------------------------------------- train


def check_resume(
    run_dir: Path, model: str, preset: str | None, config_file: Path | None, flags: dict[str, Any]
) -> None:
    """`--resume` repeats the run's own command: a flag equal to the saved setting is accepted; one that differs
    (other than --epochs and --max-steps) is refused, naming each old -> new."""
    from tweetsent.training.config import make_config
    from tweetsent.training.run import read_run_config

    if config_file is not None:
        raise UserError("--resume continues the run in --out as it was set up; --config cannot be given with it")
    saved = read_run_config(run_dir)
    try:
        base = from_dict(DataConfig, saved.get("data", {}), where="data.")
    except RecordError as e:
        raise UserError(f"{run_dir}: {e}") from None
    train = make_config(model, base=saved["train"], **given(TrainConfig, flags)).to_dict()
    changed = _differences({k: v for k, v in saved["train"].items() if k not in RESUMABLE}, train)
    changed += _differences(base.to_dict(), data_config({}, flags, base).to_dict())
    if preset is not None and preset != saved["train"].get("preset"):
        changed.insert(0, f"--preset {saved['train'].get('preset')} -> {preset}")
    if changed:
        raise UserError(
            f"--resume continues the run as it was set up; only --epochs and --max-steps may change, not "
            f"{'; '.join(changed)}"
        )


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'--flag old -> new' for each setting of `old` whose value differs in `new` (nested tables too: a flag is
    named by its setting alone)."""
    out = []
    for key, before in old.items():
        after = new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            out += _differences(before, after)
        elif json.dumps(before) != json.dumps(after):
            out.append(f"--{key.replace('_', '-')} {json.dumps(before)} -> {json.dumps(after)}")
    return out


def _train(
    model: str,
    preset: str | None,
    config_file: Path | None,
    out: Path | None,
    resume: bool,
    progress: bool,
    seeds: int = 1,
    **flags: Any,
) -> None:
    if seeds != 1:

        def one(run_dir: Path, again: bool, seed: int) -> None:
            _train(model, preset, config_file, run_dir, again, progress, **{**flags, "seed": seed})

        _train_seeds(model, preset, out, resume, seeds, flags, one)
        return
    from tweetsent.data.dataset import load_dataset
    from tweetsent.training.config import make_config
    from tweetsent.training.run import check_run_dir, read_run_config, train

    train_flags = given(TrainConfig, flags)
    given_preset = preset
    preset, default_dir = run_defaults(model, preset, tuple(flags["data"]) if flags.get("data") else None)
    run_dir = out or default_dir
    check_run_dir(run_dir, resume)  # before any work
    if resume:
        check_resume(run_dir, model, given_preset, config_file, flags)
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
        config, data = configure(model, preset, flags)
    dataset = load_dataset(data)
    try:
        summary = train(config, dataset, run_dir, resume=resume, progress=progress)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: continue with `tweetsent train {model} --out {run_dir} --resume`")
        raise SystemExit(130) from None
    if summary is not None:
        print_run_summary(summary)
        console.print(f"run written to {run_dir}")


def _train_seeds(
    model: str,
    preset: str | None,
    out: Path | None,
    resume: bool,
    seeds: int,
    flags: dict[str, Any],
    train_one: Callable[[Path, bool, int], None],
) -> None:
    """One run per seed (--seed, --seed + 1, ...) in OUT/seedK, then OUT/seeds.json with their mean and spread.
    Finished seeds are kept, so the same command again (with --resume after a kill) goes on where it stopped."""
    from tweetsent.core.runs import RunFolder
    from tweetsent.training.seeds import SEEDS_FILE, seed_dirs, seed_list, summarize_seeds

    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, not {seeds}")
    folder = out or run_defaults(model, preset, tuple(flags["data"]) if flags.get("data") else None)[1]
    chosen = seed_list(flags.get("seed"), seeds)
    for seed, run_dir in zip(chosen, seed_dirs(folder, chosen), strict=True):
        run = RunFolder(run_dir)
        if run.finished:
            console.print(f"seed {seed}: finished run in {run_dir}, kept")
            continue
        console.print(f"seed {seed}: training into {run_dir}")
        train_one(run_dir, resume and run.started, seed)
    result = summarize_seeds(folder, chosen)
    names = ["val", *result.get("tests", [])]
    title = f"{model}: mean ± sd over seeds {', '.join(map(str, chosen))}"
    console.print(metrics_table(title, [(n, result[n]) for n in names if isinstance(result.get(n), dict)]))
    console.print(f"runs written to {folder}/seed*, their summary to {folder / SEEDS_FILE}")


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
    _fixed(
        "seeds",
        Annotated[int, typer.Option(help="runs, seeds --seed, --seed + 1, ... (OUT/seedK); mean ± sd: OUT/seeds.json")],
        1,
    ),
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

    start = time.perf_counter()
    data = data_config(preset_data(preset), flags)
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
