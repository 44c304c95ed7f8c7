"""The study's three recurrent classifiers over word vectors.

Every model takes `ids` (B, T) and `lengths` (B,) and returns logits (B, num_classes). The final state used is that
of each tweet's last real token; padding never reaches it. Two exact ways to get there (`pack`):
- pack=True: `pack_padded_sequence`, the natural choice on GPUs (cuDNN runs packed batches natively);
- pack=False: run the padded batch, trimmed to its longest tweet, and gather each tweet's state at its own
  last token; outputs past a tweet's end are zeroed. On this 2-core CPU it is faster: BiLSTM, batch 256,
  bucketed, 2.9k (packed) vs 3.3k tweets/s in fp32 and 4.0k vs 4.7k with bf16; batch 16 padded to 40,
  0.8k vs 1.4k (see bench/train_throughput.py). Both give the same logits (tests/models).
A bidirectional layer is two unidirectional LSTMs, the backward one reading each tweet reversed within its
own length, so both ways share one set of weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tweetsent.data.vocab import PAD_ID
from tweetsent.models.registry import register


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, H): each row's first `length` steps reversed, padding left in place."""
    t = torch.arange(x.shape[1], device=x.device)
    lengths = lengths.to(x.device)[:, None]
    index = torch.where(t[None, :] < lengths, lengths - 1 - t[None, :], t[None, :])
    return x.gather(1, index[:, :, None].expand_as(x))


def run_lstm(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, pack: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A unidirectional LSTM over a padded batch: (outputs zeroed past each length, final state (B, H))."""
    if pack:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = lstm(packed)
        padded, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return padded, h_n[-1]
    out, _ = lstm(x)
    lengths = lengths.to(x.device)
    final = out[torch.arange(out.shape[0], device=x.device), lengths - 1]
    mask = torch.arange(out.shape[1], device=x.device)[None, :] < lengths[:, None]
    return out * mask[:, :, None].to(out.dtype), final


class RecurrentClassifier(nn.Module):
    """Shared parts: the embedding (from GloVe, frozen unless `train_embeddings`), trimming, dropout and the
    linear head on the final state."""

    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int,
        final_dim: int,
        train_embeddings: bool,
        pack: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.embedding.weight.requires_grad_(train_embeddings)
        self.pack = pack
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(final_dim, num_classes)

    def classify(self, final: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(final))

    def param_groups(self, lr: float, head_lr: float) -> list[dict[str, Any]]:
        """One group: every trainable weight at `lr` (a head learning rate is for new heads on pretrained
        encoders)."""
        return [{"name": "all", "params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def embed(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.clamp(min=1)
        longest = int(lengths.max())
        return self.embedding(ids[:, :longest]), lengths


class LSTMClassifier(RecurrentClassifier):
    """`lstm`: one LSTM layer, last hidden state -> linear -> classes. `bilstm`: both directions' final states
    (2 x hidden) -> linear -> classes."""

    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int = 50,
        hidden: int = 150,
        bidirectional: bool = False,
        train_embeddings: bool = False,
        pack: bool = False,
        dropout: float = 0.0,
    ) -> None:
        final_dim = hidden * (2 if bidirectional else 1)
        super().__init__(num_classes, vocab_size, embed_dim, final_dim, train_embeddings, pack, dropout)
        self.forward_lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.backward_lstm = nn.LSTM(embed_dim, hidden, batch_first=True) if bidirectional else None

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x, lengths = self.embed(ids, lengths)
        _, final = run_lstm(self.forward_lstm, x, lengths, self.pack)
        if self.backward_lstm is not None:
            _, back = run_lstm(self.backward_lstm, reverse_within_length(x, lengths), lengths, self.pack)
            final = torch.cat([final, back], dim=-1)
        return self.classify(final)


class PyramidLSTM(RecurrentClassifier):
    """`pyramid` (Listen-Attend-Spell style): LSTM layers of growing width; between two layers adjacent time
    steps are concatenated, halving the length (40 -> 20 -> 10 -> 5) and doubling the width."""

    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int = 50,
        hidden: tuple[int, ...] = (64, 128, 256, 512),
        train_embeddings: bool = False,
        pack: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes, vocab_size, embed_dim, hidden[-1], train_embeddings, pack, dropout)
        sizes = [embed_dim] + [2 * h for h in hidden[:-1]]
        self.layers: list[nn.LSTM] = nn.ModuleList(  # type: ignore[assignment]
            nn.LSTM(i, h, batch_first=True) for i, h in zip(sizes, hidden, strict=True)
        )

    @staticmethod
    def halve(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, H) -> (B, ceil(T/2), 2H): an odd length gets one zero step so pairs line up."""
        if x.shape[1] % 2:
            x = nn.functional.pad(x, (0, 0, 0, 1))
        b, t, h = x.shape
        return x.reshape(b, t // 2, 2 * h), (lengths + 1) // 2

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x, lengths = self.embed(ids, lengths)
        final = x.new_zeros(0)
        for i, lstm in enumerate(self.layers):
            out, final = run_lstm(lstm, x, lengths, self.pack)
            if i < len(self.layers) - 1:
                x, lengths = self.halve(out, lengths)
        return self.classify(final)


@register("lstm", family="word")
def lstm(num_classes: int, **kwargs: Any) -> LSTMClassifier:
    return LSTMClassifier(num_classes, **{"hidden": 150, **kwargs, "bidirectional": False})


@register("bilstm", family="word")
def bilstm(num_classes: int, **kwargs: Any) -> LSTMClassifier:
    return LSTMClassifier(num_classes, **{"hidden": 150, **kwargs, "bidirectional": True})


@register("pyramid", family="word", length_multiple=8)
def pyramid(num_classes: int, **kwargs: Any) -> PyramidLSTM:
    return PyramidLSTM(num_classes, **kwargs)
