"""Every model family x runtime, through the whole `tweetsent predict` command: tweets/s and peak memory.

    python bench/runtimes.py RUN_DIR [RUN_DIR ...] [--n 4000] [--n-fast 100000] [--input FILE]
        [--eval-data semeval2016_task4a/test.tsv]

For each run, a copy of its model folder is exported to ONNX (fp32, and int8 for the encoder family) where the
family exports, then `tweetsent predict COPY --input FILE --format csv --output OUT --runtime R` runs once per
runtime (torch fp32, torch bf16 where the CPU has bf16, onnx fp32, onnx int8, numpy for the `bag` model), each
after an untimed warm-up run on 200 tweets. tweets/s is the input's tweets over the whole command's wall time
(start, model load, reading, predicting, writing); peak memory is the process's maximum RSS. Each row's labels are
compared with the torch fp32 row's, and with --eval-data each runtime's macro-F1 on that labelled file is printed
beside the torch figure. The encoder family reads the first --n tweets, the others --n-fast (a fast model's start-up
would otherwise be most of its time). Tweets are drawn (seeded) from Sentiment140's training file in
$TWEETSENT_DATA_DIR unless --input names one tweet per line.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tweetsent
from predict_throughput import sample_file, timed_run
from tweetsent.core.model_folder import read_model_config, resolve_model_dir
from tweetsent.data.labelled import ReadOptions, read_labelled_file

TWEETSENT = str(Path(sys.executable).with_name("tweetsent"))


def run_predict(folder: Path, source: Path, out: Path, runtime: str, precision: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stderr) of one whole `tweetsent predict`."""
    args = [TWEETSENT, "predict", str(folder), "--input", str(source), "-f", "csv", "-o", str(out)]
    return timed_run([*args, "--runtime", runtime, "--precision", precision, "--no-progress"])


def labels_of(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [row["label"] for row in csv.DictReader(f)]


def copies(run: Path, tmp: Path) -> list[tuple[str, str, Path]]:
    """(runtime, precision, model folder) rows for one run: exports made in copies of its model folder."""
    folder = resolve_model_dir(run)
    config = read_model_config(folder)
    rows: list[tuple[str, str, Path]] = [("torch", "fp32", folder)]
    import torch

    if bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        rows.append(("torch", "bf16", folder))
    if config.get("family") == "pretrained":
        for quantize in ("none", "int8"):
            copy = tmp / f"{run.name}-{quantize}"
            shutil.copytree(folder, copy)
            subprocess.run([TWEETSENT, "export", str(copy), "--quantize", quantize], check=True, capture_output=True)
            rows.append(("onnx", "int8" if quantize == "int8" else "fp32", copy))
    if config.get("model") == "bag":
        rows.append(("numpy", "fp32", folder))
    return rows


def macro_f1(folder: Path, runtime: str, precision: str, data: str | None) -> float | None:
    if data is None:
        return None
    clf = tweetsent.load(folder, runtime=runtime, precision=precision)
    rows = read_labelled_file(data, ReadOptions(), None)
    probs = clf.predict_proba(rows.texts)
    names = clf.labels.names
    keep = [i for i, label in enumerate(rows.labels or []) if label in names]
    gold = [names.index((rows.labels or [])[i]) for i in keep]
    from sklearn.metrics import f1_score

    return float(f1_score(gold, probs[keep].argmax(1), labels=list(range(len(names))), average="macro"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--input", type=Path, help="one tweet per line [default: a Sentiment140 sample]")
    parser.add_argument("--n", type=int, default=4000, help="tweets for the encoder family")
    parser.add_argument("--n-fast", type=int, default=100_000, help="tweets for the other families")
    parser.add_argument("--eval-data", help="a labelled file: macro-F1 of each runtime on it")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tweetsent-runtimes-"))
    source = args.input or sample_file(max(args.n, args.n_fast), tmp / "tweets.txt")
    lines = source.read_text(encoding="utf-8").splitlines()
    inputs = {}
    for n in {args.n, args.n_fast, 200}:
        inputs[n] = tmp / f"tweets-{n}.txt"
        inputs[n].write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; input {source}")
    header = f"{'run':<24} {'runtime':<8} {'prec':<5} {'tweets':>7} {'s':>7} {'tweets/s':>9} {'x torch':>8}"
    print(f"{header} {'peak MB':>8} {'labels = torch':>15} {'macro-F1':>9}")
    results: list[dict[str, Any]] = []
    for run in args.runs:
        family = read_model_config(resolve_model_dir(run)).get("family")
        n = args.n if family == "pretrained" else args.n_fast
        reference: dict[str, Any] = {}
        for runtime, precision, folder in copies(run, tmp):
            run_predict(folder, inputs[200], tmp / "warm.csv", runtime, precision)
            out = tmp / f"out-{run.name}-{runtime}-{precision}.csv"
            seconds, peak, _ = run_predict(folder, inputs[n], out, runtime, precision)
            labels = labels_of(out)
            reference = reference or {"labels": labels, "rate": n / seconds}
            agree = sum(a == b for a, b in zip(labels, reference["labels"], strict=True)) / len(labels)
            f1 = macro_f1(folder, runtime, precision, args.eval_data)
            row = {
                "run": str(run),
                "runtime": runtime,
                "precision": precision,
                "tweets": n,
                "seconds": seconds,
                "rate": n / seconds,
                "peak_mb": peak,
                "agreement": agree,
                "macro_f1": f1,
            }
            results.append(row)
            print(
                f"{run.name:<24} {runtime:<8} {precision:<5} {n:>7,} {seconds:>7.1f} {n / seconds:>9,.0f} "
                f"{n / seconds / reference['rate']:>7.2f}x {peak:>8,} {agree:>14.2%} "
                + (f"{f1:>9.3f}" if f1 is not None else f"{'':>9}"),
                flush=True,
            )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
