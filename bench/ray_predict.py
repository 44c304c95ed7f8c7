"""Scoring a Parquet file on a local Ray instance with `tweetsent.integrations.ray.Predictor`: 1 actor, then 2.

    python bench/ray_predict.py [--n 5000] [--input FILE] [--model RUN_DIR] [--batch-size 500] [--blocks 8]

The tweets (a seeded sample of --n from Sentiment140's training texts in $TWEETSENT_DATA_DIR, or from --input, any
file `tweetsent predict --input` reads) are written to a Parquet file in a temporary folder. Each job is the whole
pipeline: `read_parquet` -> `repartition(--blocks)` -> `map_batches(Predictor, ...)` -> `write_parquet`, actor start
and model load included, timed after one warm-up run of the same job; the same job on one tweet gives the fixed
cost. The labels written are checked against
`tweetsent.load(model).predict(texts)`, and the same texts through `tweetsent.load(model).predict_proba` in this
process are the reference. Other processes on the machine move the figures: the load average is printed too.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import tweetsent
from tweetsent.core import paths
from tweetsent.data.labelled import ReadOptions, read_tweets
from tweetsent.integrations.ray import Predictor

SENTIMENT140 = "training.1600000.polarity_text.csv.gz"
# `make` uses the shared Sentiment140 copy beside the checkout when $TWEETSENT_DATA_DIR is not set: so does this.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment140"


def sample(n: int, source: Path, seed: int = 0) -> list[str]:
    pool = read_tweets(source, read=ReadOptions(encoding_errors="replace")).texts
    if n >= len(pool):
        return list(pool)
    rows = np.sort(np.random.default_rng(seed).choice(len(pool), size=n, replace=False))
    return [pool[i] for i in rows]


def default_input() -> Path:
    found = paths.data_dir() / SENTIMENT140
    if not found.exists() and not os.environ.get("TWEETSENT_DATA_DIR") and (SHARED / SENTIMENT140).exists():
        return SHARED / SENTIMENT140
    if not found.exists():
        raise SystemExit(f"{found} not found: set TWEETSENT_DATA_DIR to the Sentiment140 folder, or give --input")
    return found


def write_file(texts: list[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": np.arange(len(texts)), "text": pa.array(texts, type=pa.string())}), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5_000, help="tweets sampled from the input")
    parser.add_argument("--input", type=Path, help=f"a tweet file [default: $TWEETSENT_DATA_DIR/{SENTIMENT140}]")
    parser.add_argument("--model", type=Path, default=None, help="a run directory [default: the packaged model]")
    parser.add_argument("--batch-size", type=int, default=500, help="map_batches' batch_size")
    parser.add_argument("--blocks", type=int, default=8, help="blocks the tweets are split into (repartition)")
    parser.add_argument("--actors", default="1,2", help="actor counts to time, comma-separated")
    args = parser.parse_args()

    source = args.input or default_input()
    texts = sample(args.n, source)
    tmp = Path(tempfile.mkdtemp(prefix="tweetsent-ray-bench-"))
    data = write_file(texts, tmp / "tweets" / "tweets.parquet")
    one = write_file(texts[:1], tmp / "one" / "one.parquet")
    model = str(args.model) if args.model is not None else None

    clf = tweetsent.load(model)
    expected = [p.label for p in clf.predict(texts)]
    reference: list[tuple[str, float]] = []
    for workers in (1, None):
        ref = tweetsent.load(model, workers=workers)
        ref.predict_proba(texts[:500])
        start = time.perf_counter()
        ref.predict_proba(texts)
        reference.append(
            (f"in-process predict_proba, workers={ref.workers}", len(texts) / (time.perf_counter() - start))
        )

    import ray

    logging.getLogger("ray").setLevel(logging.WARNING)
    # Each actor holds one CPU; the read and write tasks need one too, and with every CPU held by an actor they
    # never start. One logical CPU beyond the cores keeps them going (they are light beside the scoring).
    cpus = (os.cpu_count() or 1) + 1
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    try:
        seconds_taken: dict[int, float] = {}
        fixed: dict[int, float] = {}  # the same job on one tweet: actor start, model load, Ray Data's own work
        rates: dict[int, float] = {}
        agree: dict[int, int] = {}
        for actors in [int(a) for a in args.actors.split(",")]:

            def job(out: Path, actors: int = actors, source: Path = data) -> float:
                start = time.perf_counter()
                # A small file is read as one block, which only one actor would score: split it.
                ray.data.read_parquet(str(source)).repartition(args.blocks).map_batches(
                    Predictor,
                    fn_constructor_kwargs={"model": model},
                    batch_size=args.batch_size,
                    compute=ray.data.ActorPoolStrategy(size=actors),
                ).write_parquet(str(out))
                return time.perf_counter() - start

            job(tmp / f"warm-{actors}")
            seconds = job(tmp / f"scored-{actors}")
            fixed[actors] = job(tmp / f"one-{actors}", source=one)
            seconds_taken[actors] = seconds
            rates[actors] = len(texts) / seconds
            scored = pq.read_table(tmp / f"scored-{actors}", columns=["id", "label"]).sort_by("id")
            assert scored.column("id").to_pylist() == list(range(len(texts))), "rows lost or duplicated"
            agree[actors] = sum(a == b for a, b in zip(scored.column("label").to_pylist(), expected, strict=True))
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"{len(texts):,} tweets from {source.name} ({args.blocks} blocks), model {clf.name} "
        f"({model or 'packaged'}, {clf.runtime}), map_batches batch_size {args.batch_size}, ray {ray.__version__}, "
        f"{os.cpu_count()} cores ({cpus} logical CPUs for Ray), load average {os.getloadavg()[0]:.2f}"
    )
    print("read_parquet -> map_batches(Predictor) -> write_parquet, after a warm-up run:")
    for actors, rate in rates.items():
        print(
            f"  {actors} actor{'s' if actors > 1 else ' '}  {seconds_taken[actors]:6.2f} s  {rate:>10,.0f} tweets/s   "
            f"labels identical to tweetsent.load().predict: {agree[actors]:,}/{len(texts):,}"
        )
    if 1 in rates and 2 in rates:
        print(f"  2 actors / 1 actor: {rates[2] / rates[1]:.2f}x")
    print("the same job on 1 tweet (actor start, model load, Ray Data's own work), and the rate net of it:")
    for actors, seconds in fixed.items():
        net = seconds_taken[actors] - seconds
        shown = f"{len(texts) / net:>10,.0f} tweets/s" if net > 0 else "       n/a (the input is too small)"
        print(f"  {actors} actor{'s' if actors > 1 else ' '}  {seconds:6.2f} s  {shown}")
    for name, rate in reference:
        print(f"  {name:<40} {rate:>10,.0f} tweets/s (reference)")


if __name__ == "__main__":
    main()
