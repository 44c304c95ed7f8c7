"""Ways to make an encoder's ONNX export int8, side by side: forward-pass speed and labels against the fp32 export.

    python bench/int8_variants.py RUN_DIR [--n 2000] [--calibration-data FILE]

A copy of the run's model folder is exported in fp32 (`tweetsent export --quantize none`: ONNX Runtime's fused
graph, whose probabilities match PyTorch's within 1e-4), then each variant is made from that graph:
- shipped: what `tweetsent export --quantize int8` writes (onnx_model.int8_settings);
- every MatMul: the same without the fp32 projections;
- uint8 weights: every MatMul with unsigned 8-bit weights at full range (the u8u8 kernels);
- full-range int8: every MatMul with signed weights at full range (no reduce_range);
- static QDQ: activation scales calibrated on 512 tweets of --calibration-data (skipped without it);
- 8-bit / 4-bit weight-only: MatMulNBits, blocks of 32, int8 arithmetic (accuracy_level 4).
Each runs the same length-sorted batches of 64 of --n seeded Sentiment140 tweets (best of two timed passes after a
warm-up batch, ONNX Runtime's default threads); the table gives tweets/s, the ratio to fp32 and the share of labels
equal to fp32's. This times the network alone: `bench/runtimes.py` times the whole `tweetsent predict` command.
With --profile, ONNX Runtime's own profile of the shipped graph says where its time goes, by operator.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from predict_throughput import sample_file
from tweetsent.core.model_folder import read_model_config, resolve_model_dir
from tweetsent.data.labelled import ReadOptions, read_labelled_file
from tweetsent.data.vocab import by_length
from tweetsent.inference.onnx_model import MODEL_FILE, PieceTexts, int8_settings

TWEETSENT = str(Path(sys.executable).with_name("tweetsent"))
Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


def batches(folder: Path, texts: list[str]) -> list[Batch]:
    config = read_model_config(folder)
    split = PieceTexts(folder, config).encode(texts)
    return [(r, i.astype(np.int64), n.astype(np.int64)) for r, i, n in by_length(split, 64, int(config["max_length"]))]


def forward(path: Path, data: list[Batch], size: int) -> tuple[np.ndarray, float]:
    """(logits, tweets/s) of one graph over `data`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    session.run(None, {"ids": data[0][1], "lengths": data[0][2]})
    logits, best = None, float("inf")
    for _ in range(2):
        out = np.zeros((size, session.get_outputs()[0].shape[1]), dtype=np.float32)
        start = time.perf_counter()
        for rows, ids, lengths in data:
            out[rows] = session.run(None, {"ids": ids, "lengths": lengths})[0]
        best = min(best, time.perf_counter() - start)
        logits = out
    assert logits is not None
    return logits, size / best


def print_profile(path: Path, data: list[Batch]) -> None:
    """Each operator type's share of the kernel time in ONNX Runtime's profile of one untimed pass over `data`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_profiling = True
    options.profile_file_prefix = str(path.with_suffix(""))
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _, ids, lengths in data:
        session.run(None, {"ids": ids, "lengths": lengths})
    trace = Path(session.end_profiling())
    by_op: Counter[str] = Counter()
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
    trace.unlink()
    total = sum(by_op.values())
    print("  " + ", ".join(f"{op} {t / total:.0%}" for op, t in by_op.most_common() if t / total >= 0.005))


def dynamic(**changes: Any) -> Callable[[Path, Path], None]:
    def make(fp32: Path, out: Path) -> None:
        import onnx
        from onnxruntime.quantization import quantize_dynamic

        settings = int8_settings(onnx.load(str(fp32), load_external_data=False))
        quantize_dynamic(str(fp32), str(out), **{**settings, **changes})

    return make


def weight_only(bits: int) -> Callable[[Path, Path], None]:
    def make(fp32: Path, out: Path) -> None:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        quantizer = MatMulNBitsQuantizer(str(fp32), bits=bits, block_size=32, is_symmetric=True, accuracy_level=4)
        quantizer.process()
        quantizer.model.save_model_to_file(str(out), use_external_data_format=False)

    return make


def static(calibration: list[Batch]) -> Callable[[Path, Path], None]:
    def make(fp32: Path, out: Path) -> None:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.feeds = iter([{"ids": ids, "lengths": lengths} for _, ids, lengths in calibration])

            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(self.feeds, None)

        quantize_static(
            str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"],
            per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )  # fmt: skip

    return make


def main() -> None:
    from onnxruntime.quantization import QuantType

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="an encoder-family run or model folder")
    parser.add_argument("--n", type=int, default=2000, help="Sentiment140 tweets to time and compare")
    parser.add_argument("--calibration-data", help="a labelled file (not a test set) for the static variant")
    parser.add_argument("--profile", action="store_true", help="where the shipped graph's time goes, by operator")
    args = parser.parse_args()
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    logging.getLogger().setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    tmp = Path(tempfile.mkdtemp(prefix="tweetsent-int8-"))
    folder = tmp / "fp32"
    shutil.copytree(resolve_model_dir(args.run), folder)
    subprocess.run([TWEETSENT, "export", str(folder), "--quantize", "none"], check=True, capture_output=True)
    fp32 = folder / "onnx" / MODEL_FILE
    texts = sample_file(args.n, tmp / "tweets.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
    data = batches(folder, texts)
    variants: dict[str, Callable[[Path, Path], None]] = {
        "shipped (tweetsent export --quantize int8)": dynamic(),
        "every MatMul": dynamic(nodes_to_exclude=[]),
        "every MatMul, uint8 weights": dynamic(nodes_to_exclude=[], weight_type=QuantType.QUInt8, reduce_range=False),
        "every MatMul, full-range int8": dynamic(nodes_to_exclude=[], reduce_range=False),
        "8-bit weight-only, int8 arithmetic": weight_only(8),
        "4-bit weight-only, int8 arithmetic": weight_only(4),
    }
    if args.calibration_data:
        rows = read_labelled_file(args.calibration_data, ReadOptions(), None)
        variants["static QDQ, calibrated"] = static(batches(folder, list(rows.texts[:512])))

    reference, base = forward(fp32, data, len(texts))
    print(f"{len(texts):,} Sentiment140 tweets, batches of 64, {args.run}")
    print(f"{'graph':<44} {'tweets/s':>9} {'x fp32':>7} {'labels = fp32':>14}")
    print(f"{'fp32 (tweetsent export)':<44} {base:>9,.0f} {1:>6.2f}x {'':>14}", flush=True)
    for name, make in variants.items():
        out = tmp / "variant.onnx"
        make(fp32, out)
        logits, rate = forward(out, data, len(texts))
        agree = float((logits.argmax(1) == reference.argmax(1)).mean())
        print(f"{name:<44} {rate:>9,.0f} {rate / base:>6.2f}x {agree:>13.2%}", flush=True)
        if args.profile and name.startswith("shipped"):
            print_profile(out, data)
        out.unlink()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
