"""The Python API: `tweetsent.load(path)` -> a `Classifier`.

    clf = tweetsent.load("runs/bilstm-fast")
    clf.predict(["what a great day", "my phone died again"])
    # [Prediction(label='positive', probabilities={'negative': 0.03, 'positive': 0.97}), ...]
    clf.predict_proba(texts)  # numpy (N, len(clf.labels)), one column per label

Whatever the model (a run of any family, or an ensemble), the texts go through its encoder (the exact cleaning
and tokenization of training) and the model, in length-bucketed batches, on the GPU when there is one. Nothing
of the training stack (Lightning) is imported. For a negative/positive model with a calibrated margin
(`model/calibration.json`) labels apply the neutral band; the probabilities are always the model's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, decide
from tweetsent.core.model_folder import check_margin, read_calibration, read_model_config, resolve_model_dir
from tweetsent.inference.numpy_bag import NumpyBag, runs_in_numpy
from tweetsent.inference.onnx_model import OnnxPredictor

if TYPE_CHECKING:
    from tweetsent.models.artifact import Predictor

# Texts encoded and predicted per step: large enough that length bucketing keeps padding low, small enough
# that memory stays flat and a progress bar moves.
CHUNK = 16_384
# Tweets per forward pass by model family (default 512): a transformer's cost grows with the longest tweet of a
# batch, so smaller length-sorted batches pad less (docs/benchmarks.md, "Runtimes").
BATCH_SIZES = {"pretrained": 64}


@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "probabilities": dict(self.probabilities)}


PRECISIONS = ("auto", "fp32", "bf16")


def _device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).split(":")[0] == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA GPU is available (use cpu or auto)")
    return str(device)


def _bf16(precision: str, device: str) -> bool:
    """auto: bf16 autocast where the hardware runs it natively (AVX512-BF16/AMX CPUs, Ampere+ GPUs): the
    recurrent models predict 2-3x faster on this CPU and agree with fp32 on all but a handful of tweets."""
    import torch

    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    native = (
        bool(torch.cuda.is_bf16_supported())
        if device.startswith("cuda")
        else bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    )
    if precision == "bf16" and not native and not device.startswith("cuda"):
        # oneDNN has no bf16 LSTM kernels without the instructions: the recurrent models would fail mid-batch.
        raise UserError("precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX); use fp32 or auto")
    return native if precision == "auto" else precision == "bf16"


def model_thread_setup() -> None:
    """For a thread that runs models: one intra-op thread (parallelism comes from running several such
    threads, which degrades gracefully when other processes share the cores, where OpenMP's barriers stall
    for a scheduler slice at every LSTM step), and denormals flushed (a per-thread CPU flag; SPEC 7)."""
    import torch

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)


def _default_workers(device: str) -> int:
    """One worker per usable core on a CPU; a GPU takes one stream of batches."""
    import os

    if device != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores)


def as_texts(texts: str | Iterable[str]) -> list[str]:
    """A list of strings; a single string is one text (not its characters)."""
    items = [texts] if isinstance(texts, str) else list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise TypeError(f"texts must be strings; item {i} is {type(t).__name__}")
    return items


class Classifier:
    """A trained model ready to predict. Build it with `tweetsent.load(path)`."""

    def __init__(
        self,
        predictor: Predictor,
        *,
        model_dir: Path | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        neutral_margin: float | None = None,
        precision: str = "auto",
        workers: int | None = None,
    ) -> None:
        self.predictor = predictor
        self.model_dir = model_dir
        self.numpy = isinstance(predictor, NumpyBag)  # no PyTorch at all: the CPU, fp32
        self.onnx = isinstance(predictor, OnnxPredictor)  # ONNX Runtime, on the CPU
        if self.numpy or self.onnx:
            self.device, self.bf16 = "cpu", False
            # ONNX Runtime spreads one call over the cores itself; NumPy needs threads of ours.
            default = 1 if self.onnx else _default_workers("cpu")
            self.workers = max(1, workers) if workers is not None else default
        else:
            import torch

            # Denormal floats make CPU LSTMs many times slower on long inputs (SPEC 7); harmless elsewhere.
            torch.set_flush_denormal(True)
            self.device = _device(device)
            self.bf16 = _bf16(precision, self.device)
            self.workers = max(1, workers) if workers is not None else _default_workers(self.device)
        predictor.to(self.device)
        self.batch_size = batch_size or BATCH_SIZES.get(str(predictor.config.get("family")), 512)
        self._pool: ThreadPoolExecutor | None = None
        # An override never reads calibration.json, so `calibrate` can replace a corrupt one.
        self.calibration = read_calibration(model_dir) if model_dir is not None and neutral_margin is None else None
        if neutral_margin is not None:
            self.neutral_margin = check_margin(neutral_margin)
        else:
            self.neutral_margin = float(self.calibration["neutral_margin"]) if self.calibration else 0.0

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        neutral_margin: float | None = None,
        precision: str = "auto",
        workers: int | None = None,
        runtime: str = "auto",
    ) -> Classifier:
        """A run directory or its `model/` folder; no path: the model that ships with tweetsent.
        `neutral_margin` overrides the calibrated one (0: off); `precision` is auto (bf16 where the hardware has
        it), fp32 or bf16; `workers` threads share large inputs on a CPU [default: one per core]; `runtime`:
        torch, onnx (the folder's `tweetsent export`), numpy (a `bag` model on the CPU, without importing PyTorch),
        or auto: the ONNX export where the folder has one, else numpy where it can run, else torch."""
        folder = resolve_model_dir(path)
        return cls(
            _predictor(folder, runtime, device, precision),
            model_dir=folder,
            device=device,
            batch_size=batch_size,
            neutral_margin=neutral_margin,
            precision=precision,
            workers=workers,
        )

    @property
    def runtime(self) -> str:
        return "numpy" if self.numpy else "onnx" if self.onnx else "torch"

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    @property
    def name(self) -> str:
        return self.predictor.name

    @property
    def family(self) -> str:
        return str(self.predictor.config.get("family", "word"))

    @property
    def labels(self) -> LabelSet:
        """The model's labels: one probability column each."""
        return self.predictor.labels

    @property
    def decisions(self) -> LabelSet:
        """The labels `predict` can answer: the model's, plus neutral where the band applies."""
        return self.labels.with_neutral() if self.neutral_margin > 0 and self.labels.bandable else self.labels

    @property
    def run_dir(self) -> Path | None:
        """The run directory above `model/`, when the model lives in one."""
        if self.model_dir is not None and self.model_dir.name == "model":
            return self.model_dir.parent
        return None

    def predict_proba(
        self,
        texts: str | Iterable[str],
        *,
        progress: Callable[[int], None] | None = None,
        html_decoded: bool = False,
    ) -> np.ndarray:
        """Probabilities (N, len(labels)), one column per label of `labels`, in the order of `texts`.
        `progress(n)` is called after each chunk of n texts (from a worker thread on large inputs);
        `html_decoded`: the texts are a dataset's, whose HTML entities are decoded already."""
        items = as_texts(texts)
        n = len(items)
        probs = np.zeros((n, len(self.labels)), dtype=np.float32)
        # Large inputs in chunks shared by the workers: small enough that each gets a share, large enough
        # to bucket well.
        size = min(CHUNK, max(self.batch_size, -(-n // self.workers))) if n >= 2 * self.batch_size else CHUNK

        def run(start: int) -> None:
            chunk = items[start : start + size]
            probs[start : start + len(chunk)] = self._forward(chunk, html_decoded)
            if progress is not None:
                progress(len(chunk))

        if self.workers == 1:  # in the caller's thread, with its torch settings
            for start in range(0, n, size):
                run(start)
            return probs
        if self.numpy or self.onnx:  # NumPy and ONNX Runtime let go of the GIL: the threads share the cores
            list(self._workers().map(run, range(0, n, size)))
            return probs
        import torch

        threads = torch.get_num_threads()
        try:
            list(self._workers().map(run, range(0, n, size)))
        finally:
            torch.set_num_threads(threads)  # the workers' setup lowered torch's default for new threads
        return probs

    def _forward(self, texts: list[str], html_decoded: bool = False) -> np.ndarray:
        if self.numpy or self.onnx:
            return self.predictor.predict_proba(texts, self.batch_size, html_decoded)
        import torch

        with torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.bf16):
            return self.predictor.predict_proba(texts, self.batch_size, html_decoded)

    def _workers(self) -> ThreadPoolExecutor:
        if self._pool is None:
            setup = None if self.numpy or self.onnx else model_thread_setup
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tweetsent-predict", initializer=setup)
        return self._pool

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Indices into `decisions` from probabilities, with this classifier's neutral band."""
        return decide(probs, self.labels, self.neutral_margin, self.decisions)

    def predictions(self, probs: np.ndarray) -> list[Prediction]:
        names, decisions = self.labels.names, self.decisions.names
        return [
            Prediction(decisions[k], dict(zip(names, row, strict=True)))
            for k, row in zip(self.decide(probs).tolist(), probs.tolist(), strict=True)
        ]

    def predict(self, texts: str | Sequence[str]) -> list[Prediction]:
        """One `Prediction` (label and the probability of every label) per text."""
        return self.predictions(self.predict_proba(texts))

    def __repr__(self) -> str:
        where = self.model_dir or "memory"
        return (
            f"Classifier({self.name!r} from {where}, device={self.device!r}, precision={self.precision!r}, "
            f"neutral_margin={self.neutral_margin})"
        )


RUNTIMES = ("auto", "torch", "onnx", "numpy")


def _predictor(folder: Path, runtime: str, device: str | None, precision: str) -> Predictor:
    """The model folder loaded for `runtime`; auto takes the ONNX export, else NumPy, for a CPU in fp32."""
    if runtime not in RUNTIMES:
        raise UserError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    config = read_model_config(folder)
    cpu_fp32 = device in (None, "auto", "cpu") and precision in ("auto", "fp32")
    if runtime == "onnx" or (runtime == "auto" and cpu_fp32 and "export" in config):
        return OnnxPredictor(folder, config)
    if runtime == "numpy" or (runtime == "auto" and cpu_fp32 and runs_in_numpy(config)):
        if not runs_in_numpy(config):
            raise UserError(f"{folder}: the NumPy runtime runs `bag` models; this one is {config.get('model')!r}")
        return NumpyBag(folder, config)
    from tweetsent.models.artifact import load_artifact

    return load_artifact(folder)


# `tweetsent.load(path)`: a run directory or its `model/` folder to a Classifier (see `Classifier.load`);
# `tweetsent.load()`: the packaged model.
load = Classifier.load
