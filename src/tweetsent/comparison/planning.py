"""The models `compare` trains: each on the dataset with its share of the budget, then the three-class recipe
(each again on hand-labelled tweets, and an ensemble of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tweetsent.comparison.options import CompareOptions
from tweetsent.comparison.scoring import as_list
from tweetsent.core.errors import UserError
from tweetsent.core.model_folder import resolve_model_dir
from tweetsent.core.records import from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.data.labelled import TweetRows
from tweetsent.training.config import make_config, preset_data
from tweetsent.training.run import read_run_config, train

DEFAULT_SEED = 0  # TrainConfig's: the subsets `train` draws when compare passes no --seed
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


def train_models(options: CompareOptions, dataset: Dataset, log: Callable[[str], None]) -> list[Path]:
    """Train each model of `options.models` into OUT/runs/MODEL with an equal share of the budget."""
    share = options.budget_minutes / len(options.models) if options.budget_minutes and options.models else None
    flags = {
        "max_minutes": share,
        "train_size": options.train_size,
        "val_size": options.val_size,
        "epochs": options.epochs,
        "accelerator": options.accelerator,
        "seed": options.seed,
        "logger": options.logger,
    }
    return [_run(m, options.preset, flags, dataset, options.out / "runs" / m, options, log) for m in options.models]


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


def transfer(options: CompareOptions, trained: list[Path], log: Callable[[str], None]) -> list[Path]:
    """The three-class recipe: every model trained here trained again on the hand-labelled `--transfer-data`,
    warm-started from its Sentiment140 run (OUT/runs/MODEL-transfer) or, for `transfer_scratch` models, from its
    own starting point (OUT/runs/MODEL-hand); then an ensemble of them with the VADER lexicon, its stacker
    fitted on the transfer data's held-out validation tweets (OUT/runs/ensemble)."""
    if options.transfer_data is None or not trained:
        return []
    from tweetsent.core.atomic import atomic_dir
    from tweetsent.evaluation.evaluate import evaluate_run
    from tweetsent.training.ensemble import make_ensemble

    # The small preset's data settings (its cleaning keeps emoji as words), on the hand-labelled file.
    settings = {**preset_data(TRANSFER_PRESET), "split_seed": options.data.split_seed}
    hand = load_dataset(replace(from_dict(DataConfig, settings), data=(options.transfer_data,)))
    runs = []
    for source in trained:
        model = read_run_config(source)["train"]["model"]
        scratch = model in options.transfer_scratch
        flags = {
            "init_from": None if scratch else str(source),
            "accelerator": options.accelerator,
            "seed": options.seed,
            "logger": options.logger,
        }
        run_dir = options.out / "runs" / f"{model}-{'hand' if scratch else 'transfer'}"
        runs.append(_run(model, TRANSFER_PRESET, flags, hand, run_dir, options, log))
    ensemble = options.out / "runs" / "ensemble"
    if len(runs) >= 2 and not RunFolder(ensemble).finished:
        val = hand["val"]
        fit = TweetRows(f"{hand.name} (validation split)", as_list(val.texts), [hand.labels[i] for i in val.labels])
        log(f"ensemble: {len(runs)} transfer runs and VADER, stacked on {len(fit):,} held-out tweets, into {ensemble}")
        with atomic_dir(ensemble) as tmp:
            make_ensemble(runs, tmp, fit, vader=True, name="ensemble (transfer + VADER)")
            evaluate_run(tmp)
    return [*runs, ensemble] if len(runs) >= 2 else runs
