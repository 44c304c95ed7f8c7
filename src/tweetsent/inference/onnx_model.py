"""ONNX exports of a model folder (`tweetsent export`) and the ONNX Runtime predictor that runs them.

Every model here takes `(ids, lengths) -> logits`, so one export serves every family: `torch.onnx.export` of the
network, then, for the encoder family, ONNX Runtime's transformer optimizer (fused attention, GELU and layer norms)
and, with `quantize="int8"`, dynamic int8 quantization of the matrix products. The export is written to
`model/onnx/` and recorded in `model/config.json` with the digest of the weights it came from; it is refused when
its probabilities differ from PyTorch's on a sample by more than the tolerances below. Tokenizing, cleaning and
the calibrated class priors stay the folder's own, so a later `calibrate` needs no new export.

Why not Optimum's exporter: optimum-onnx pins transformers < 4.58, older than the transformers tweetsent runs on;
`torch.onnx.export` plus ONNX Runtime's own optimizer and quantizer give the same graph.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tweetsent.core.atomic import atomic_dir
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, softmax, with_prior
from tweetsent.core.model_folder import EXPORT_DIR, class_bias, read_export, weights_digest, write_export
from tweetsent.core.splits import Split
from tweetsent.data.cleaning import CleaningConfig, clean_texts
from tweetsent.data.vocab import by_length

QUANTIZATIONS = ("none", "int8")
OPSET = 17
MODEL_FILE = "model.onnx"
# Largest probability difference from PyTorch on the sample an fp32 export may show (float rounding only) ...
FP32_TOLERANCE = 1e-4
# ... and for int8: the mean absolute difference, and the share of the sample whose label must not change.
INT8_MEAN_TOLERANCE = 0.03
INT8_AGREEMENT = 0.9

# What an export is checked on when no sample file is given: tweets of every polarity, length and kind of noise.
SAMPLE = (
    "what a great day to be alive :)",
    "my phone died again. worst week ever",
    "meeting at 3pm in room 204",
    "@someone thanks so much for the help yesterday!!! you are the best",
    "I can't believe they cancelled the show, so disappointed",
    "just landed in chicago",
    "loving the new album #music",
    "ugh traffic is terrible this morning",
    "the weather is ok i guess",
    "http://example.com new blog post is up",
    "not bad at all, actually pretty good",
    "this is not good. not good at all.",
    "happy birthday mom ❤️",
    "so tired of waiting for the bus 😡",
    "who is watching the game tonight?",
    "lol",
    "I hate mondays",
    "best pizza in town, highly recommend",
    "the update broke everything, nothing works anymore",
    "going to the gym then work",
    "can't wait for the weekend!!!",
    "my flight got delayed three hours and they lost my bag",
    "new phone who dis",
    "thank you all for the birthday wishes, feeling loved",
    "RT @someone: breaking news on the election results",
    "sick in bed again, missing the concert",
    "the food was amazing but the service was slow",
    "reading a book by the lake",
    "worst customer service I have ever experienced",
    "finally finished my thesis!!! so relieved",
    "it is raining",
    "this movie was a waste of time and money",
    "good morning everyone, have a nice day",
    "my cat knocked over my coffee... again",
    "proud of my team today, we won the final",
    "does anyone know when the store opens",
    "feeling sad and lonely tonight",
    "omg this is the funniest thing I have seen all year",
    "the meeting has been moved to thursday",
    "I love you guys so much",
)


def export_onnx(folder: Path, quantize: str = "none", sample: Sequence[str] | None = None) -> dict[str, Any]:
    """Export the model folder's network to ONNX (optionally int8), verify it on `sample` (default: SAMPLE) and
    record it; returns the record written to config.json."""
    from tweetsent.models.artifact import Artifact, load_artifact
    from tweetsent.models.families import FAMILIES
    from tweetsent.models.families.base import predict_split

    if quantize not in QUANTIZATIONS:
        raise UserError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}")
    artifact = load_artifact(folder)
    if not isinstance(artifact, Artifact):
        raise UserError(f"{folder}: an ensemble; export each member's run instead")
    family = FAMILIES[artifact.family]
    if family.no_onnx_export:
        raise UserError(f"{folder}: {artifact.name} is not exported to ONNX: {family.no_onnx_export}")
    texts = list(sample or SAMPLE)
    optimizer = family.export_ready(artifact.model)
    artifact.model.eval()
    split = artifact.encode(texts)
    reference = predict_split(artifact.model, split, artifact.max_length)
    with atomic_dir(folder / EXPORT_DIR) as tmp:
        path = tmp / MODEL_FILE
        with _quiet():
            _trace(
                artifact.model, next(by_length(split, 2, artifact.max_length))[1:], path, f"{folder}: {artifact.name}"
            )
            if optimizer is not None:
                _optimize(path, optimizer)
            if quantize == "int8":
                _quantize(path)
        try:
            # Through the runtime's own tokenizer path, so the check covers what `--runtime onnx` runs.
            probs = _run(path, PieceTexts(folder, artifact.config), texts, artifact.max_length)
        except Exception as e:  # a graph that traced shapes it should not have: it fails on other lengths
            raise UserError(
                f"{folder}: the ONNX export of {artifact.name} does not run ({str(e).splitlines()[0]})"
            ) from None
        check = verify(reference, probs, quantize)
    record = {
        "format": "onnx",
        "file": f"{EXPORT_DIR}/{MODEL_FILE}",
        "quantize": quantize,
        "opset": OPSET,
        "weights_digest": weights_digest(folder),
        "verified": check,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_export(folder, record)
    return record


def _trace(model: Any, batch: tuple[np.ndarray, np.ndarray], path: Path, what: str) -> None:
    """torch.onnx.export of `model` traced on one batch (ids, lengths), batch size and length left dynamic."""
    import torch

    ids, lengths = (torch.from_numpy(a.astype(np.int64)) for a in batch)
    try:
        with torch.inference_mode():
            torch.onnx.export(
                model,
                (ids, lengths),
                str(path),
                input_names=["ids", "lengths"],
                output_names=["logits"],
                dynamic_axes={"ids": {0: "batch", 1: "length"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as e:  # an operator the exporter does not know: one line, not its traceback
        raise UserError(f"{what} cannot be exported to ONNX ({str(e).splitlines()[0]})") from None


def verify(reference: np.ndarray, probs: np.ndarray, quantize: str) -> dict[str, Any]:
    """The export's probabilities against PyTorch's on the sample; a UserError when they are too far apart."""
    diff = np.abs(probs - reference)
    check = {
        "tweets": len(reference),
        "max_abs_diff": round(float(diff.max(initial=0.0)), 6),
        "mean_abs_diff": round(float(diff.mean()) if diff.size else 0.0, 6),
        "label_agreement": round(float((probs.argmax(1) == reference.argmax(1)).mean()) if len(probs) else 1.0, 4),
    }
    if quantize == "int8":
        ok = check["mean_abs_diff"] <= INT8_MEAN_TOLERANCE and check["label_agreement"] >= INT8_AGREEMENT
        limits = f"mean |dp| <= {INT8_MEAN_TOLERANCE}, labels agreeing on >= {INT8_AGREEMENT:.0%}"
    else:
        ok = check["max_abs_diff"] <= FP32_TOLERANCE
        limits = f"max |dp| <= {FP32_TOLERANCE}"
    if not ok:
        raise UserError(
            f"the export does not match PyTorch on {len(reference)} tweets (max |dp| {check['max_abs_diff']}, mean "
            f"{check['mean_abs_diff']}, labels agreeing {check['label_agreement']:.1%}; needed {limits}): refused"
        )
    return check


def _optimize(path: Path, settings: dict[str, Any]) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    # opt_level 1: graph fusions only, which are the same on every CPU (level 2+ would bake in this machine's).
    optimize_model(str(path), opt_level=1, **settings).save_model_to_file(str(path))


def _quantize(path: Path) -> None:
    import onnx
    from onnxruntime.quantization import quantize_dynamic

    fp32 = path.with_name("fp32.onnx")
    path.rename(fp32)
    quantize_dynamic(str(fp32), str(path), **int8_settings(onnx.load(str(fp32), load_external_data=False)))
    fp32.unlink()


def int8_settings(model: Any) -> dict[str, Any]:
    """`quantize_dynamic`'s arguments for an fp32 graph `model` (bench/int8_variants.py measures the others):
    per-channel weight scales with reduced range, because AVX2 CPUs without VNNI saturate int8 products at full
    range (ONNX Runtime's quantization docs); MatMul and fused Attention only, so embeddings and layer norms stay
    fp32; the outlier-prone projections below stay fp32 too."""
    import onnx
    from onnxruntime.quantization import QuantType

    return {
        "weight_type": QuantType.QInt8,
        "per_channel": True,
        "reduce_range": True,
        "op_types_to_quantize": ["MatMul", "Attention"],
        "nodes_to_exclude": _outlier_matmuls(model),
        "extra_options": {"DefaultTensorType": onnx.TensorProto.FLOAT},
    }


_FFN_OUTPUT = re.compile(r"layer\.(\d+)/output/dense/MatMul$")


def _outlier_matmuls(model: Any) -> list[str]:
    """The feed-forward output projections of a BERT encoder's first half of layers, kept in fp32: their inputs
    carry the activation outliers that int8 rounds worst (Bondarenko et al. 2021); docs/benchmarks.md has what
    keeping them costs and saves."""
    found = {int(m[1]): n.name for n in model.graph.node if n.op_type == "MatMul" and (m := _FFN_OUTPUT.search(n.name))}
    return [name for layer, name in found.items() if layer < len(found) // 2]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's and quantizer's advice (warnings, log lines) is not for a user of `tweetsent export`."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _logits(session: Any, split: Any, max_length: int, batch_size: int, n_labels: int) -> np.ndarray:
    logits = np.zeros((len(split), n_labels), dtype=np.float32)
    for rows, ids, lengths in by_length(split, batch_size, max_length):
        feed = {"ids": ids.astype(np.int64), "lengths": lengths.astype(np.int64)}
        logits[rows] = session.run(None, feed)[0]
    return logits


def _run(path: Path, encoder: Any, texts: list[str], max_length: int) -> np.ndarray:
    split = encoder.encode(texts)
    session = _session(path)
    return softmax(_logits(session, split, max_length, 64, session.get_outputs()[0].shape[1]))


class PieceTexts:
    """An encoder-family folder's texts -> token ids with the `tokenizers` library alone: its tokenizer.json, the
    cleaning and the length it was trained with, as models/families/pretrained.py's PieceEncoder gives them (the
    tests hold the two to the same ids). Why not PieceEncoder itself: it needs transformers and PyTorch, whose
    imports are most of the ONNX runtime's start-up (docs/benchmarks.md)."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        path = folder / str(config.get("encoder", "encoder")) / "tokenizer.json"
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # missing or not a tokenizer: the folder is damaged
            raise UserError(f"{path}: cannot read the tokenizer ({str(e).splitlines()[0]})") from None
        self.max_length = int(config["max_length"])
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.cleaning = CleaningConfig.from_dict(config["cleaning"])

    def encode(self, texts: Sequence[str] | pa.Array, html_decoded: bool = False) -> Split:
        column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), type=pa.string())
        cleaning = dataclasses.replace(self.cleaning, html_unescape=False) if html_decoded else self.cleaning
        encoded = self.tokenizer.encode_batch(clean_texts(column, cleaning).to_pylist(), add_special_tokens=True)
        return Split.from_lists("texts", [e.ids for e in encoded], column)


class OnnxPredictor:
    """A `Predictor` (models/artifact.py) for a model folder with an ONNX export: the folder's tokenizer, cleaning
    and class priors, the exported network run by ONNX Runtime on the CPU; neither PyTorch nor transformers is
    imported."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        record = read_export(folder)
        if record is None:
            raise UserError(f"{folder}: no ONNX export (make one with `tweetsent export RUN_DIR --format onnx`)")
        if config.get("family") != "pretrained":
            raise UserError(
                f"{folder}: an ONNX export of a {config.get('family')!r} model, which tweetsent never makes"
            )
        self.folder: Path | None = folder
        self.config = config
        self.export = record
        self.labels = LabelSet(tuple(config["labels"]))
        self.encoder = PieceTexts(folder, config)
        self.max_length = int(config["max_length"])
        self.class_bias = class_bias(folder, self.labels)
        self.session = _session(folder / record["file"])

    @property
    def name(self) -> str:
        return str(self.config.get("model", "model"))

    @property
    def quantize(self) -> str:
        return str(self.export.get("quantize", "none"))

    def to(self, device: str) -> None:
        if device != "cpu":
            raise UserError(f"the ONNX runtime predicts on the CPU here, not {device}")

    def predict_proba(
        self, texts: Sequence[str] | pa.Array, batch_size: int = 512, html_decoded: bool = False
    ) -> np.ndarray:
        split = self.encoder.encode(texts, html_decoded=html_decoded)
        return with_prior(
            softmax(_logits(self.session, split, self.max_length, batch_size, len(self.labels))), self.class_bias
        )
