"""`tweetsent predict --input` streams: peak memory against input size, and a killed run resumed.

    python bench/stream_memory.py [RUN_DIR] [--small 200000] [--large 2000000] [--runtime torch]

Writes a file of --large tweets (Sentiment140's training texts from $TWEETSENT_DATA_DIR, repeated as needed) and
one of its first --small, predicts both to CSV with the whole command (default model: the packaged one), and prints
each run's wall time, tweets/s and peak RSS, the ratio of the two peaks, and whether every input line got its
output row in order. Then it predicts the large file again, kills the process (SIGKILL) half way through,
resumes it with --resume, and compares the resumed file with the uninterrupted one byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_throughput import timed_run
from tweetsent.core import paths
from tweetsent.inference.prediction_files import printable

TWEETSENT = str(Path(sys.executable).with_name("tweetsent"))


def write_tweets(n: int, out: Path) -> Path:
    from tweetsent.data.reader import read_sentiment140
    from tweetsent.data.sources import locate

    files = locate(paths.data_dir(), allow_download=False)
    texts = read_sentiment140(files.train.path, files.train.member).texts.to_pylist()
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            text = texts[i % len(texts)].replace("\n", " ").replace("\r", " ")
            f.write((text if text.strip() else ".") + "\n")
    return out


def predict(args: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS MB) of one whole command."""
    seconds, peak, _ = timed_run([TWEETSENT, "predict", *args, "--no-progress"])
    return seconds, peak


def rows_in_order(source: Path, out: Path) -> bool:
    with open(source, encoding="utf-8") as a, open(out, newline="", encoding="utf-8") as b:
        reader = csv.reader(b)
        next(reader)
        # predict writes a text without its control characters (a terminal or CSV reader may act on them)
        return all(printable(line.rstrip("\n")) == row[0] for line, row in zip(a, reader, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="a run directory [default: the packaged model]")
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--large", type=int, default=2_000_000)
    parser.add_argument("--runtime", default="auto")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tweetsent-stream-"))
    large = write_tweets(args.large, tmp / "large.txt")
    small = tmp / "small.txt"
    with open(large, encoding="utf-8") as f, open(small, "w", encoding="utf-8") as g:
        for _ in range(args.small):
            g.write(f.readline())
    model = [args.run_dir] if args.run_dir else []
    print(f"load average {os.getloadavg()[0]:.2f}; model {args.run_dir or 'packaged'}; runtime {args.runtime}")
    peaks = {}
    for name, source, n in (("small", small, args.small), ("large", large, args.large)):
        out = tmp / f"{name}.csv"
        seconds, peak = predict(
            [*model, "--input", str(source), "-f", "csv", "-o", str(out), "--runtime", args.runtime]
        )
        peaks[name] = peak
        print(
            f"{n:>10,} tweets: {seconds:7.1f} s, {n / seconds:9,.0f} tweets/s, peak RSS {peak:,} MB, "
            f"every line its row in order: {rows_in_order(source, out)}",
            flush=True,
        )
    print(f"peak RSS large / small: {peaks['large'] / peaks['small']:.2f}x")

    resumed = tmp / "resumed.csv"
    command = [TWEETSENT, "predict", *model, "--input", str(large), "-f", "csv", "-o", str(resumed)]
    command += ["--runtime", args.runtime, "--no-progress"]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    parts = resumed.with_name(f".{resumed.name}.parts")
    while process.poll() is None and len(list(parts.glob("part-*"))) < (args.large // 32_768) // 2:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = sum(int(p.name.split("-")[2].split(".")[0]) for p in parts.glob("part-*"))
    print(f"killed after {done:,} of {args.large:,} tweets; output exists: {resumed.exists()}")
    subprocess.run([*command, "--resume"], check=True, stderr=subprocess.DEVNULL)
    print(f"resumed file identical to the uninterrupted one: {filecmp.cmp(resumed, tmp / 'large.csv', shallow=False)}")


if __name__ == "__main__":
    main()
