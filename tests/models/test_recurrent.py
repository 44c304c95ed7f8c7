from __future__ import annotations

import pytest
import torch

from tweetsent.core.errors import UserError
from tweetsent.models import MODELS, build_model
from tweetsent.models.recurrent import PyramidLSTM, reverse_within_length

WORD_MODELS = [name for name, spec in MODELS.items() if spec.family == "word"]


def word_model(name: str, num_classes: int = 3, **kwargs: object) -> torch.nn.Module:
    return build_model(name, num_classes, vocab_size=500, embed_dim=50, **kwargs)


def padded_batch(lengths: list[int], width: int, vocab: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, vocab, (len(lengths), width), generator=g)
    lens = torch.tensor(lengths)
    ids[torch.arange(width)[None, :] >= lens[:, None]] = 0
    return ids, lens


@pytest.mark.parametrize("name", WORD_MODELS)
@pytest.mark.parametrize("width", [40, 13])
def test_output_shape(name: str, width: int) -> None:
    ids, lengths = padded_batch([width, 1, 7, 2], width)
    assert word_model(name)(ids, lengths).shape == (4, 3)
    assert word_model(name, num_classes=5)(ids, lengths).shape == (4, 5)  # num_classes is respected


@pytest.mark.parametrize("name", WORD_MODELS)
def test_padding_never_changes_a_tweet_and_both_ways_agree(name: str) -> None:
    torch.manual_seed(0)
    model = word_model(name).eval()
    ids, lengths = padded_batch([40, 1, 7, 2, 13, 33, 39, 8], 40)
    with torch.no_grad():
        trimmed = model(ids, lengths)
        alone = torch.cat([model(ids[i : i + 1, : lengths[i]], lengths[i : i + 1]) for i in range(len(ids))])
        model.pack = True
        packed = model(ids, lengths)
    torch.testing.assert_close(trimmed, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(trimmed, packed, atol=1e-5, rtol=1e-5)


def test_pyramid_halves_length_and_doubles_width() -> None:
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    halved, lengths = PyramidLSTM.halve(x, torch.tensor([5, 2]))
    assert halved.shape == (2, 3, 6)
    assert lengths.tolist() == [3, 1]
    assert halved[0, 0].tolist() == x[0, 0].tolist() + x[0, 1].tolist()
    assert halved[0, 2, 3:].tolist() == [0, 0, 0]  # the odd step is paired with zeros
    x40 = torch.zeros(1, 40, 64)
    lengths40 = torch.tensor([40])
    shapes = []
    for _ in range(3):
        x40, lengths40 = PyramidLSTM.halve(x40, lengths40)
        shapes.append((x40.shape[1], x40.shape[2]))
    assert shapes == [(20, 128), (10, 256), (5, 512)]


def test_pyramid_layer_sizes_are_the_study_s() -> None:
    model = word_model("pyramid")
    sizes = [(lstm.input_size, lstm.hidden_size) for lstm in model.layers]
    assert sizes == [(50, 64), (128, 128), (256, 256), (512, 512)]
    assert model.head.in_features == 512


def test_lstm_and_bilstm_heads() -> None:
    assert word_model("lstm").head.in_features == 150
    assert word_model("bilstm").head.in_features == 300


def test_reverse_within_length() -> None:
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]], dtype=torch.float32)[:, :, None]
    out = reverse_within_length(x, torch.tensor([3, 2]))[:, :, 0]
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


def test_embeddings_frozen_unless_asked() -> None:
    assert not word_model("lstm").embedding.weight.requires_grad
    assert word_model("lstm", train_embeddings=True).embedding.weight.requires_grad


def test_unknown_model() -> None:
    with pytest.raises(UserError, match="unknown model 'gru': choose one of "):
        build_model("gru", 3)
