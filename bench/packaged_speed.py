"""The packaged model's speed against VADER (and its teacher), in one process on the same tweets, and the wall time
of `tweetsent predict "text"` from a cold start beside that of `python -c "import torch"`.

    python bench/packaged_speed.py [--n 20000] [--teacher runs/model/teacher] [--repeats 3]

The tweets are a seeded sample of Sentiment140's training texts ($TWEETSENT_DATA_DIR). Each figure is raw text to
probabilities after a warm-up, the best of --repeats; other processes on the machine move them, so the load
average is printed too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import tweetsent
from tweetsent.core import paths
from tweetsent.data.labelled import ReadOptions, read_tweets
from tweetsent.evaluation.card import tweets_per_second, vader_predict


def sample(n: int, seed: int = 0) -> list[str]:
    pool = read_tweets(
        paths.data_dir() / "training.1600000.polarity_text.csv.gz", read=ReadOptions(encoding_errors="replace")
    ).texts
    rows = np.sort(np.random.default_rng(seed).choice(len(pool), size=n, replace=False))
    return [pool[i] for i in rows]


def wall(command: list[str], repeats: int) -> tuple[float, float]:
    """(best, median) wall seconds of a command started afresh."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--teacher", type=Path, default=None, help="also time the teacher (on a twentieth)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = sample(args.n)
    student = tweetsent.load()  # on a CPU: the NumPy runtime
    rows = [
        (f"packaged model ({student.runtime})", tweets_per_second(student.predict_proba, texts, repeats=args.repeats)),
        ("VADER", tweets_per_second(vader_predict, texts, repeats=args.repeats)),
        (
            "packaged (torch)",
            tweets_per_second(tweetsent.load(runtime="torch").predict_proba, texts, repeats=args.repeats),
        ),
    ]
    if args.teacher is not None:
        teacher = tweetsent.load(args.teacher)
        rows.append(("teacher", tweets_per_second(teacher.predict_proba, texts[: args.n // 20], repeats=1)))
    print(f"{args.n:,} Sentiment140 tweets, load average {os.getloadavg()[0]:.2f}")
    for name, value in rows:
        print(f"  {name:<22} {value:>10,.0f} tweets/s   {value / rows[1][1]:6.2f}x VADER")
    if args.teacher is not None:
        print(f"  packaged model / teacher: {rows[0][1] / rows[3][1]:,.0f}x")
    cli = str(Path(sys.executable).with_name("tweetsent"))
    torch_best, torch_median = wall([sys.executable, "-c", "import torch"], args.repeats)
    best, median = wall([cli, "predict", "what a great day"], args.repeats)
    print(
        f'  `tweetsent predict "text"`, a fresh process each time: best {best:.2f} s, median {median:.2f} s of '
        f"{args.repeats}; `python -c 'import torch'`: best {torch_best:.2f} s, median {torch_median:.2f} s"
    )


if __name__ == "__main__":
    main()
