"""The fast students that distillation trains (`tweetsent distill`): no recurrence, so a batch costs a few table
look-ups and small matrix products and they predict many times faster than the LSTMs.

`bag`: a tweet is the mean and the maximum of its word vectors plus the mean of its word-pair vectors (each pair of
neighbouring words hashed into `pair_buckets` rows, as fastText does with n-grams, so "not good" has a vector of its
own), then one hidden layer; it learns word order only as far as pairs carry it.
`cnn`: convolutions over the word vectors, max-pooled (see ConvClassifier).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tweetsent.models.registry import register

_PAIR_PRIME = 1_000_003  # mixes the first word's id into the pair's bucket


class Student(nn.Module):
    """What the students share: word vectors (GloVe-initialised by the word family), the trimmed ids and the mask of
    each tweet's real words, and one parameter group."""

    def __init__(self, vocab_size: int, embed_dim: int, train_embeddings: bool, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.embedding.weight.requires_grad_(train_embeddings)
        self.dropout = nn.Dropout(dropout)

    def param_groups(self, lr: float, head_lr: float) -> list[dict[str, Any]]:
        return [{"name": "all", "params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    def words(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids trimmed to the longest tweet, lengths of at least 1, mask (B, T, 1) of real words)."""
        lengths = lengths.to(ids.device).clamp(min=1)
        longest = int(lengths.max())
        mask = (torch.arange(longest, device=ids.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        return ids[:, :longest], lengths, mask


class BagClassifier(Student):
    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int = 50,
        pair_buckets: int = 32_768,
        hidden: int = 128,
        train_embeddings: bool = True,
        pack: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(vocab_size, embed_dim, train_embeddings, dropout)
        self.pairs = nn.Embedding(pair_buckets, embed_dim)
        nn.init.normal_(self.pairs.weight, std=0.01)  # pairs start near silent; the word vectors come from GloVe
        self.pair_buckets = pair_buckets
        self.hidden = nn.Linear(3 * embed_dim, hidden)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ids, lengths, mask = self.words(ids, lengths)
        longest = ids.shape[1]
        words = self.embedding(ids)
        mean = (words * mask).sum(1) / lengths[:, None]
        top = words.masked_fill(~mask, float("-inf")).amax(1)
        if longest > 1:
            buckets = (ids[:, :-1] * _PAIR_PRIME + ids[:, 1:]) % self.pair_buckets
            pairs = (self.pairs(buckets) * mask[:, 1:]).sum(1) / (lengths - 1).clamp(min=1)[:, None]
        else:
            pairs = torch.zeros_like(mean)
        features = torch.cat([mean, top, pairs], dim=-1)
        return self.head(self.dropout(torch.relu(self.hidden(self.dropout(features)))))


@register("bag", family="word", compared=False)
def bag(num_classes: int, **kwargs: Any) -> nn.Module:
    return BagClassifier(num_classes, **kwargs)


class ConvClassifier(Student):
    """`cnn`: convolutions of widths 2 and 3 over the word vectors, each max-pooled over the tweet (Kim 2014), then
    the head: the phrases that carry sentiment wherever they stand, still without recurrence. A convolution is one
    matrix product over the stacked windows (on a CPU about twice as fast as `nn.Conv1d` at these sizes)."""

    def __init__(
        self,
        num_classes: int,
        vocab_size: int,
        embed_dim: int = 50,
        filters: int = 64,
        widths: tuple[int, ...] = (2, 3),
        train_embeddings: bool = True,
        pack: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(vocab_size, embed_dim, train_embeddings, dropout)
        self.widths = tuple(widths)
        self.convs = nn.ModuleList(nn.Linear(w * embed_dim, filters) for w in widths)
        self.head = nn.Linear(filters * len(widths), num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ids, lengths, mask = self.words(ids, lengths)
        longest = ids.shape[1]
        words = self.embedding(ids) * mask  # (B, T, D), padding as zeros
        pooled = []
        for w, conv in zip(self.widths, self.convs, strict=True):
            padded = nn.functional.pad(words, (0, 0, w - 1, w - 1))
            windows = torch.cat([padded[:, i : i + longest + w - 1] for i in range(w)], dim=-1)
            out = torch.relu(conv(windows))  # (B, T + w - 1, F): every window that overlaps the tweet
            # Windows that start past a tweet's end lie wholly in its padding: out of the maximum.
            start = torch.arange(out.shape[1], device=ids.device)[None, :] - (w - 1)
            out = out.masked_fill((start >= lengths[:, None]).unsqueeze(-1), 0.0)
            pooled.append(out.amax(dim=1))
        return self.head(self.dropout(torch.cat(pooled, dim=-1)))


@register("cnn", family="word", compared=False)
def cnn(num_classes: int, **kwargs: Any) -> nn.Module:
    return ConvClassifier(num_classes, **kwargs)
