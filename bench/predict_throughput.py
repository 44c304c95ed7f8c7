"""Batch prediction throughput from a file, by the same path `tweetsent predict` takes (any run directory).

    python bench/predict_throughput.py RUN_DIR [--n 200000] [--input FILE] [--precisions fp32,auto] [--runtime auto]

Rows, side by side:
- reference: the naive way, one `predict_proba([tweet])` call per tweet (a sample of --naive tweets);
- api PRECISION: `tweetsent.load(RUN).predict_proba(texts)` on the whole file (reading the file included,
  loading the model not);
- cli: `tweetsent predict RUN --input FILE --format csv --output OUT`, wall time of the whole process (start,
  model load, reading, predicting, writing).
The input defaults to --n tweets drawn (seeded) from the Sentiment140 training file in $TWEETSENT_DATA_DIR,
one per line. Other processes on the machine change the numbers: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import tweetsent
from tweetsent.core import paths
from tweetsent.data.labelled import read_tweets
from tweetsent.inference.classifier import model_thread_setup


def sample_file(n: int, out: Path, seed: int = 0) -> Path:
    from tweetsent.data.reader import read_sentiment140
    from tweetsent.data.sources import locate

    files = locate(paths.data_dir(), allow_download=False)
    raw = read_sentiment140(files.train.path, files.train.member)
    rows = np.random.default_rng(seed).choice(len(raw), size=min(n, len(raw)), replace=False)
    texts = [t.replace("\n", " ").replace("\r", " ") for t in raw.texts.take(rows).to_pylist()]
    out.write_text("\n".join(t if t.strip() else "." for t in texts) + "\n")
    return out


def timed_run(args: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stderr) of one command. The peak comes from GNU time, which forks the command
    from its own small process: Linux carries a process's peak RSS across exec, so a child forked from this (large)
    Python process would report this process's peak."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    *err, peak = done.stderr.strip().splitlines()
    return seconds, int(peak) // 1024, "\n".join(err)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--input", type=Path, help="one tweet per line [default: a Sentiment140 sample]")
    parser.add_argument("--n", type=int, default=200_000, help="tweets in the default sample")
    parser.add_argument("--naive", type=int, default=1000, help="tweets predicted one at a time (reference)")
    parser.add_argument("--precisions", default="fp32,auto", help="comma-separated: auto, fp32, bf16")
    parser.add_argument("--batch-size", type=int, help="tweets per forward pass [default: the model's]")
    parser.add_argument("--runtime", default="auto", help="auto, torch, onnx or numpy")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end `tweetsent predict` row")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tweetsent-bench-"))
    data = args.input or sample_file(args.n, tmp / "tweets.txt")
    rows: list[dict] = []

    clf = tweetsent.load(
        args.run_dir, precision="fp32", batch_size=args.batch_size, neutral_margin=0, runtime=args.runtime
    )
    texts = read_tweets(data).texts
    sample = texts[: args.naive]

    def naive() -> float:
        clf.predict_proba(sample[:20])
        start = time.perf_counter()
        for t in sample:
            clf.predict_proba([t])
        return time.perf_counter() - start

    # In a thread with one intra-op thread, as the service runs its model: with several, every call of a
    # tiny batch pays OpenMP's start-up and barriers (and stalls badly when other processes share the cores).
    with ThreadPoolExecutor(1, initializer=model_thread_setup) as pool:
        seconds = pool.submit(naive).result()
    rows.append({"what": "reference: one tweet per call (fp32)", "tweets": len(sample), "seconds": seconds})

    for precision in args.precisions.split(","):
        clf = tweetsent.load(
            args.run_dir, precision=precision, batch_size=args.batch_size, neutral_margin=0, runtime=args.runtime
        )
        clf.predict_proba(texts[:2000])  # warm-up: lookup tables, kernels
        start = time.perf_counter()
        items = read_tweets(data).texts
        clf.predict_proba(items)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "what": f"api, {precision} ({clf.precision}), file -> probabilities",
                "tweets": len(items),
                "seconds": seconds,
            }
        )

    if not args.no_cli:
        exe = Path(sys.executable).parent / "tweetsent"
        out = tmp / "predictions.csv"
        start = time.perf_counter()
        subprocess.run(
            [
                str(exe),
                "predict",
                str(args.run_dir),
                "--input",
                str(data),
                "--format",
                "csv",
                "--output",
                str(out),
                "--no-progress",
                "--runtime",
                args.runtime,
                *(["--batch-size", str(args.batch_size)] if args.batch_size else []),
            ],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
        rows.append(
            {"what": "cli: tweetsent predict --input -> csv (whole process)", "tweets": len(texts), "seconds": seconds}
        )

    import torch

    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(
        f"model {clf.name} ({clf.family}) from {args.run_dir}, device {device}, batch {clf.batch_size}, "
        f"runtime {clf.runtime}, load average {os.getloadavg()[0]:.2f}"
    )
    reference = rows[0]["tweets"] / rows[0]["seconds"]
    print(f"| {'what':58} | {'tweets':>8} | {'seconds':>8} | {'tweets/s':>9} | {'x ref':>6} |")
    print(f"|{'-' * 60}|{'-' * 9}:|{'-' * 9}:|{'-' * 10}:|{'-' * 7}:|")
    for r in rows:
        r["tweets_per_second"] = r["tweets"] / r["seconds"]
        print(
            f"| {r['what']:58} | {r['tweets']:>8,} | {r['seconds']:>8.2f} | {r['tweets_per_second']:>9,.0f} | "
            f"{r['tweets_per_second'] / reference:>6.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"run": str(args.run_dir), "device": device, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
