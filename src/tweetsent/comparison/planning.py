"""The models `compare` trains: each on the dataset with its share of the budget, then the three-class recipe
(each again on hand-labelled tweets, and an ensemble of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tweetsent.comparison.options import RUNTIME_SETTINGS, CompareOptions
from tweetsent.comparison.scoring import as_list
from tweetsent.core.errors import UserError
from tweetsent.core.model_folder import resolve_model_dir
from tweetsent.core.records import from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.data.labelled import TweetRows
from tweetsent.training.config import make_config, preset_data
from tweetsent.training.run import read_run_config, train
from tweetsent.training.seeds import seed_list

TRANSFER_PRESET = "small"  # training/presets/small.toml: a few thousand hand-labelled tweets, here from a warm start


def check_finished_run(run_dir: Path) -> None:
    """Fail with a UserError unless `run_dir` is a finished run, an ensemble or a packaged model folder."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    folder = RunFolder(run_dir)
    if folder.results.is_file() and folder.config.is_file():
        return  # a packaged model folder (`tweetsent package`): the model's config beside its figures
    if not folder.finished:
        raise UserError(
            f"{run_dir}: not a finished run (no {RunFolder.SUMMARY}): finish it with `tweetsent train` first"
        )
    try:
        resolve_model_dir(folder.model)  # the model folder's own check (its config)
    except UserError:
        raise UserError(f"{run_dir}: the run has no {RunFolder.MODEL}/ artifact") from None


@dataclass(frozen=True)
class TrainedRun:
    """A run compare trained: its folder, the report row it belongs to (one model's runs over seeds share a row),
    its seed, and whether it is the row's first (the one prediction speed is timed on)."""

    run_dir: Path
    row: str
    seed: int
    first: bool


def seeds(options: CompareOptions, recipe: str = "train") -> list[int]:
    """The seeds of each model's runs: `--seeds` of them from --seed (0 when not given) upwards; the three-class
    recipe's (`recipe="transfer"`) are `--transfer-seeds`, when given."""
    count = options.transfer_seeds if recipe == "transfer" and options.transfer_seeds else options.seeds
    return seed_list(options.seed, count)


def seed_dir(folder: Path, seed: int, first: bool) -> Path:
    """OUT/runs/NAME for a row's first seed (as with one seed), OUT/runs/NAME-seedK for the others."""
    return folder if first else folder.with_name(f"{folder.name}-seed{seed}")


def train_models(options: CompareOptions, dataset: Dataset, log: Callable[[str], None]) -> list[TrainedRun]:
    """Train each model of `options.models` into OUT/runs/MODEL (one folder per seed), each run with an equal share
    of the budget: the budget is one seed's, so a run trains as long whatever the number of seeds."""
    share = options.budget_minutes / len(options.models) if options.budget_minutes and options.models else None
    flags = {**options.train, "max_minutes": share}
    out = []
    for model in options.models:
        for k, seed in enumerate(seeds(options)):
            run_dir = seed_dir(options.out / "runs" / model, seed, k == 0)
            # The first seed's flags as with one seed: a run of an earlier comparison is reused as it is.
            seeded = {**flags, "seed": options.seed if k == 0 else seed}
            _run(model, options.preset, seeded, dataset, run_dir, options, log)
            out.append(TrainedRun(run_dir, model, seed, k == 0))
    return out


def _run(
    model: str,
    preset: str,
    flags: dict[str, Any],
    dataset: Dataset,
    run_dir: Path,
    options: CompareOptions,
    log: Callable[[str], None],
) -> Path:
    """Train one run; a finished one is reused, an interrupted one resumed with the settings it started with (its
    budget share included), one that stopped before its first checkpoint started over."""
    if RunFolder(run_dir).finished:
        log(f"{run_dir.name}: finished run found in {run_dir}, reused")
        return run_dir
    resume = RunFolder(run_dir).started  # stopped before its first checkpoint: train starts it over
    saved = read_run_config(run_dir)["train"] if resume else None
    config = make_config(model, preset, base=saved, **({} if resume else flags))
    what = f"{config.max_minutes:.1f} min budget" if config.max_minutes else f"{config.epochs:g} epochs"
    log(f"{run_dir.name}: {'resuming' if resume else 'training'} ({preset} preset, {what}) into {run_dir}")
    train(config, dataset, run_dir, resume=resume, progress=options.progress)
    return run_dir


def hand_dataset(options: CompareOptions) -> Dataset | None:
    """The three-class recipe's data: `--transfer-data` with the small preset's data settings (its cleaning keeps
    emoji as words) and the comparison's split seed; None without --transfer-data."""
    if options.transfer_data is None:
        return None
    settings = {**preset_data(TRANSFER_PRESET), "split_seed": options.data.split_seed}
    return load_dataset(replace(from_dict(DataConfig, settings), data=(options.transfer_data,)))


def transfer(
    options: CompareOptions, hand: Dataset | None, trained: list[TrainedRun], log: Callable[[str], None]
) -> list[TrainedRun]:
    """The three-class recipe: every model trained here trained again on the hand-labelled `--transfer-data`,
    warm-started from its Sentiment140 run (OUT/runs/MODEL-transfer) or, for `transfer_scratch` models, from its
    own starting point (OUT/runs/MODEL-hand); then an ensemble of them with the VADER lexicon, its stacker
    fitted on the transfer data's held-out validation tweets (OUT/runs/ensemble). With several seeds, each seed's
    runs start from the Sentiment140 run of the same seed (the last one where there are fewer) and make their
    own ensemble."""
    if hand is None or not trained:
        return []
    sources: dict[str, list[Path]] = {}
    for t in trained:
        sources.setdefault(t.row, []).append(t.run_dir)
    out: list[TrainedRun] = []
    runtime = {name: v for name, v in options.train.items() if name in RUNTIME_SETTINGS}
    for k, seed in enumerate(seeds(options, "transfer")):
        runs = []
        for model, folders in sources.items():
            source = folders[min(k, len(folders) - 1)]
            scratch = model in options.transfer_scratch
            flags = runtime | {"init_from": None if scratch else str(source), "seed": options.seed if k == 0 else seed}
            row = f"{model}-{'hand' if scratch else 'transfer'}"
            run_dir = seed_dir(options.out / "runs" / row, seed, k == 0)
            runs.append(TrainedRun(_run(model, TRANSFER_PRESET, flags, hand, run_dir, options, log), row, seed, k == 0))
        out += runs
        if len(runs) >= 2:
            ensemble = seed_dir(options.out / "runs" / "ensemble", seed, k == 0)
            _ensemble([r.run_dir for r in runs], ensemble, hand, log)
            out.append(TrainedRun(ensemble, "ensemble", seed, k == 0))
    return out


def _ensemble(runs: list[Path], folder: Path, hand: Dataset, log: Callable[[str], None]) -> None:
    """The transfer runs and VADER, stacked on the hand-labelled file's validation split, into `folder`."""
    from tweetsent.core.atomic import atomic_dir
    from tweetsent.evaluation.evaluate import evaluate_run
    from tweetsent.training.ensemble import make_ensemble

    if RunFolder(folder).finished:
        return
    val = hand["val"]
    fit = TweetRows(f"{hand.name} (validation split)", as_list(val.texts), [hand.labels[i] for i in val.labels])
    log(f"{folder.name}: {len(runs)} transfer runs and VADER, stacked on {len(fit):,} held-out tweets, into {folder}")
    with atomic_dir(folder) as tmp:
        make_ensemble(runs, tmp, fit, vader=True, name="ensemble (transfer + VADER)")
        evaluate_run(tmp)
