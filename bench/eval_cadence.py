"""What a run's periodic evaluation costs: the fixed validation sample and the test sets it scores every
--eval-every steps, against the whole validation split that Lightning's own validation loop would run at each check
(it has one set of validation data and one cadence), for a finished word-vector run on Sentiment140. The whole
validation split is the one `train` validates on unless --val-size cuts it.

    python bench/eval_cadence.py runs/compare-DATE/runs/lstm [--sample 2000] [--repeats 3]

Prints seconds per evaluation both ways, their ratio, and the share of the run's own training time each would
have taken at its number of evaluations. Needs the prepared Sentiment140 cache ($TWEETSENT_DATA_DIR).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tweetsent.core.records import from_dict
from tweetsent.core.runs import RunFolder
from tweetsent.core.splits import seeded_subset
from tweetsent.data.dataset import DataConfig, load_dataset
from tweetsent.models.artifact import load_single
from tweetsent.models.families.base import predict_split


def seconds(artifact: object, splits: list, max_length: int, repeats: int) -> float:
    """The best of `repeats` passes over the splits, as the recorder scores them (pre-encoded, bucketed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for split in splits:
            predict_split(artifact.model, split, max_length)  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished word-vector run trained on Sentiment140")
    parser.add_argument("--sample", type=int, default=2000, help="the validation sample (--eval-sample)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = RunFolder(args.run)
    config, summary = folder.read_config(), folder.read_summary()
    artifact = load_single(folder.model)
    dataset = load_dataset(from_dict(DataConfig, config["data"]))  # the whole validation split, as without --val-size
    val, tests = dataset["val"], [dataset[name] for name in dataset.tests]
    encode = lambda split: artifact.encode(split.texts, html_decoded=True)  # noqa: E731
    full = [encode(val), *(encode(t) for t in tests)]
    sample = seeded_subset(val, args.sample, int(config["train"]["seed"]) + 1)  # the sample training draws
    cadence = [encode(sample), *full[1:]]
    max_length = int(config["train"]["max_length"])
    predict_split(artifact.model, cadence[0], max_length)  # warm-up
    cheap, whole = (seconds(artifact, s, max_length, args.repeats) for s in (cadence, full))
    checks = max(1, int(summary["steps"]) // int(config["train"]["eval_every"]))
    train = float(summary["train_seconds"])
    print(json.dumps({"run": str(args.run), "val_tweets": len(val), "sample": args.sample, "checks": checks}))
    print(f"sample + test sets: {cheap:.3f} s per evaluation, {checks * cheap / train:.1%} of {train:.0f} s training")
    print(f"whole validation + test sets: {whole:.3f} s, {checks * whole / train:.1%} of the training time")
    print(f"ratio: {whole / cheap:.1f}x")


if __name__ == "__main__":
    main()
