"""`tweetsent export --format onnx`: an export that matches PyTorch or is refused, recorded in the model folder,
used by `--runtime onnx` and `auto`, and refused once the weights it came from change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import tweetsent
from tests.bert_support import make_tiny_bert
from tests.inference.fixtures import TEXTS, make_run
from tweetsent.core.labels import LabelSet
from tweetsent.data.cleaning import CleaningConfig
from tweetsent.models.artifact import Artifact, save_artifact
from tweetsent.models.bert import BertClassifier, load_tokenizer
from tweetsent.models.families.pretrained import PieceEncoder

pytest.importorskip("onnxruntime")
Cli = Callable[..., tuple[int, str, str]]
THREE = ("negative", "neutral", "positive")


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of a tiny random BERT with MiniLM's tokenizer, confident enough that labels vary."""
    root = tmp_path_factory.mktemp("onnx")
    tiny = make_tiny_bert(root / "tiny")
    torch.manual_seed(0)
    tokenizer = load_tokenizer(str(tiny))
    net = BertClassifier(3, str(tiny), label_names=THREE)
    net.set_pad_id(tokenizer.pad_token_id)
    with torch.no_grad():
        net.head.weight.mul_(30.0)
    encoder = PieceEncoder(tokenizer, CleaningConfig(), 32, str(tiny))
    artifact = Artifact("pretrained", net.eval(), encoder, LabelSet(THREE), {"model": "bert"})
    save_artifact(root / "run" / "model", artifact, {"freeze_encoder": False, "pretrained": str(tiny)}, {})
    return root / "run"


def test_export_matches_pytorch_and_auto_uses_it(run_cli: Cli, bert_run: Path) -> None:
    texts = [t for t in TEXTS if t]
    torch_probs = tweetsent.load(bert_run, runtime="torch").predict_proba(texts)
    code, out, err = run_cli("export", str(bert_run), "--format", "onnx")
    assert code == 0, err
    assert "ONNX export (fp32)" in out
    record = json.loads((bert_run / "model" / "config.json").read_text())["export"]
    assert record["quantize"] == "none" and record["verified"]["max_abs_diff"] <= 1e-4
    clf = tweetsent.load(bert_run)
    assert clf.runtime == "onnx"
    np.testing.assert_allclose(clf.predict_proba(texts), torch_probs, atol=1e-4)
    assert tweetsent.load(bert_run, runtime="torch").runtime == "torch"
    code, out, err = run_cli("predict", str(bert_run), *texts[:3], "-f", "jsonl")
    assert code == 0 and "using the model's ONNX export (fp32)" in err and len(out.splitlines()) == 3


def test_int8_export_is_verified_or_refused(run_cli: Cli, bert_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tweetsent.inference import onnx_model

    code, _out, err = run_cli("export", str(bert_run), "--quantize", "int8")
    assert code == 0, err
    record = json.loads((bert_run / "model" / "config.json").read_text())["export"]
    assert record["quantize"] == "int8" and record["verified"]["label_agreement"] >= onnx_model.INT8_AGREEMENT
    assert tweetsent.load(bert_run).predictor.quantize == "int8"  # type: ignore[attr-defined]
    monkeypatch.setattr(onnx_model, "INT8_MEAN_TOLERANCE", -1.0)  # no export can pass: it must be refused
    code, _, err = run_cli("export", str(bert_run), "--quantize", "int8")
    assert code == 2 and "does not match PyTorch" in err and "refused" in err and len(err.strip().splitlines()) == 1
    # The refused export left the previous one in place and recorded.
    assert json.loads((bert_run / "model" / "config.json").read_text())["export"] == record


def test_runtime_onnx_without_an_export_or_after_the_weights_changed(
    run_cli: Cli, bert_run: Path, tmp_path: Path
) -> None:
    plain = make_run(tmp_path / "lstm", model="lstm")
    code, _, err = run_cli("predict", str(plain), "good day", "--runtime", "onnx")
    assert code == 2 and "no ONNX export" in err and len(err.strip().splitlines()) == 1
    import shutil

    bert_run = Path(shutil.copytree(bert_run, tmp_path / "bert"))  # the weights change: a copy of its own
    assert run_cli("export", str(bert_run))[0] == 0
    weights = bert_run / "model" / "encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    code, _, err = run_cli("predict", str(bert_run), "good day", "--runtime", "onnx")
    assert code == 2 and "made from other weights" in err
    code, _, err = run_cli("predict", str(bert_run), "good day")  # auto too: a stale export is never used quietly
    assert code == 2 and "run `tweetsent export` again" in err


def test_bad_export_requests(run_cli: Cli, bert_run: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("export", str(bert_run), "--format", "tflite")
    assert code == 2 and "--format must be onnx" in err
    code, _, err = run_cli("export", str(bert_run), "--quantize", "int4")
    assert code == 2 and "--quantize must be one of none, int8" in err
    code, _, err = run_cli("export", str(tmp_path / "missing"))
    assert code == 2 and "no such run directory" in err
    code, _, err = run_cli("export", str(make_run(tmp_path / "bilstm")))
    assert code == 2 and "bilstm is not exported to ONNX" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bilstm" / "model" / "onnx").exists()


def test_the_onnx_runtime_tokenizes_as_training_did_without_pytorch(bert_run: Path) -> None:
    import subprocess
    import sys

    from tweetsent.inference.onnx_model import PieceTexts
    from tweetsent.models.artifact import load_artifact

    texts = [*TEXTS, "&amp; 😀 @someone http://t.co/x #tag", "word " * 100, ""]
    ours = PieceTexts(bert_run / "model", json.loads((bert_run / "model" / "config.json").read_text()))
    theirs = load_artifact(bert_run).encode(texts)  # type: ignore[attr-defined]
    mine = ours.encode(texts)
    assert np.array_equal(mine.ids, theirs.ids) and np.array_equal(mine.offsets, theirs.offsets)
    code = (
        f"import sys, tweetsent; c = tweetsent.load({str(bert_run)!r}, runtime='onnx'); c.predict(['good day']); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
