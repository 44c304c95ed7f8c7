from __future__ import annotations

import pytest
import torch

from tweetsent.errors import UserError
from tweetsent.models import MODELS, build_model
from tweetsent.models.recurrent import PyramidLSTM, reverse_within_length


def padded_batch(lengths: list[int], width: int, vocab: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, vocab, (len(lengths), width), generator=g)
    lens = torch.tensor(lengths)
    ids[torch.arange(width)[None, :] >= lens[:, None]] = 0
    return ids, lens


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("width", [40, 13])
def test_output_shape(name: str, width: int) -> None:
    model = build_model(name, 500, 50)
    ids, lengths = padded_batch([width, 1, 7, 2], width)
    assert model(ids, lengths).shape == (4, 3)


@pytest.mark.parametrize("name", list(MODELS))
def test_padding_never_changes_a_tweet_and_both_ways_agree(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 500, 50).eval()
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
    model = build_model("pyramid", 500, 50)
    sizes = [(lstm.input_size, lstm.hidden_size) for lstm in model.layers]
    assert sizes == [(50, 64), (128, 128), (256, 256), (512, 512)]
    assert model.head.in_features == 512


def test_lstm_and_bilstm_heads() -> None:
    assert build_model("lstm", 500, 50).head.in_features == 150
    assert build_model("bilstm", 500, 50).head.in_features == 300


def test_reverse_within_length() -> None:
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]], dtype=torch.float32)[:, :, None]
    out = reverse_within_length(x, torch.tensor([3, 2]))[:, :, 0]
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


def test_embeddings_frozen_unless_asked() -> None:
    assert not build_model("lstm", 500, 50).embedding.weight.requires_grad
    assert build_model("lstm", 500, 50, train_embeddings=True).embedding.weight.requires_grad


def test_unknown_model() -> None:
    with pytest.raises(UserError, match="unknown model 'gru': choose one of lstm, bilstm, pyramid"):
        build_model("gru", 10, 5)
