"""The fast students (`bag`, `cnn`): logits per tweet that padding and the batch's other tweets do not change, and
word pairs that tell "not good" from "good not"."""

from __future__ import annotations

import pytest
import torch

from tweetsent.models.registry import build_model, model_spec


@pytest.mark.parametrize("name", ["bag", "cnn"])
def test_padding_and_batch_do_not_change_a_tweets_logits(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 3, vocab_size=50, embed_dim=8).eval()
    ids = torch.randint(2, 50, (4, 9))
    lengths = torch.tensor([9, 4, 1, 6])
    full = model(ids, lengths)
    assert full.shape == (4, 3)
    for i in range(4):
        n = int(lengths[i])
        alone = model(ids[i : i + 1, :n], lengths[i : i + 1])
        padded = ids[i : i + 1].clone()
        padded[:, n:] = 0
        assert torch.allclose(alone, full[i : i + 1], atol=1e-6)
        assert torch.allclose(model(padded, lengths[i : i + 1]), alone, atol=1e-6)


def test_word_pairs_depend_on_order() -> None:
    torch.manual_seed(0)
    model = build_model("bag", 3, vocab_size=50, embed_dim=8).eval()
    torch.nn.init.normal_(model.pairs.weight)  # type: ignore[arg-type]
    a, b = torch.tensor([[5, 7]]), torch.tensor([[7, 5]])
    two = torch.tensor([2])
    assert not torch.allclose(model(a, two), model(b, two))


def test_students_are_not_trained_by_a_plain_compare() -> None:
    assert not model_spec("bag").compared and not model_spec("cnn").compared and model_spec("lstm").compared
