"""Training throughput (tweets/s) on this machine, side by side in one script.

    python bench/train_throughput.py [--models lstm,bilstm,pyramid] [--seconds 20]

For each model:
- reference: plain PyTorch written the way the study did it: every tweet padded to 40, its GloVe vectors
  looked up per sample in `Dataset.__getitem__`, DataLoader batches of 16, Adam, the last time step's state;
- seed --fixed-length 40: the study's exact layout (every batch padded to 40) through our Lightning system;
- seed: `tweetsent train MODEL --preset seed` (batches of 16 similar-length tweets, up to 40 tokens, frozen
  vectors);
- fast: `tweetsent train MODEL --preset fast` (bucketed batches of 256, bf16 autocast, tuned vectors).
All of them see the same tokens and the same 50-d vectors. Throughput excludes evaluation in every case.
Targets: seed >= 1.5x and fast >= 4x the reference.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from tweetsent.core import paths
from tweetsent.core.splits import Split
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.embeddings.glove import embedding_matrix
from tweetsent.training.config import make_config, preset_data
from tweetsent.training.run import train


class StudyDataset(TorchDataset):
    """Tokens in, a (40, dim) array of looked-up vectors out, one tweet at a time."""

    def __init__(self, tokens: list[list[str]], labels: np.ndarray, vectors: dict[str, np.ndarray], dim: int):
        self.tokens, self.labels, self.vectors, self.dim = tokens, labels, vectors, dim

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = np.zeros((40, self.dim), dtype=np.float32)
        for j, word in enumerate(self.tokens[i][:40]):
            if word in self.vectors:
                x[j] = self.vectors[word]
        return torch.from_numpy(x), int(self.labels[i])


class StudyModel(nn.Module):
    def __init__(self, name: str, dim: int) -> None:
        super().__init__()
        self.name = name
        if name == "pyramid":
            sizes, hidden = [dim, 128, 256, 512], [64, 128, 256, 512]
            self.layers = nn.ModuleList(nn.LSTM(i, h, batch_first=True) for i, h in zip(sizes, hidden, strict=True))
            self.head = nn.Linear(512, 3)
        else:
            self.lstm = nn.LSTM(dim, 150, batch_first=True, bidirectional=name == "bilstm")
            self.head = nn.Linear(300 if name == "bilstm" else 150, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "pyramid":
            for i, lstm in enumerate(self.layers):
                x, (h, _) = lstm(x)
                if i < 3:
                    b, t, d = x.shape
                    x = x.reshape(b, t // 2, 2 * d)
            return self.head(h[-1])
        _, (h, _) = self.lstm(x)
        return self.head(torch.cat(list(h), dim=-1))


def reference_throughput(name: str, split: Split, words: list[str], matrix: np.ndarray, seconds: float) -> float:
    tokens = [[words[i] for i in split.ids[a:b]] for a, b in zip(split.offsets[:-1], split.offsets[1:], strict=True)]
    vectors = {w: matrix[i] for i, w in enumerate(words) if i >= 2}
    loader = DataLoader(StudyDataset(tokens, split.labels, vectors, matrix.shape[1]), batch_size=16, shuffle=True)
    model = StudyModel(name, matrix.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, start = 0, None
    for step, (x, y) in enumerate(loader):
        if step == 20:  # warm-up steps are not timed
            n, start = 0, time.perf_counter()
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n += len(y)
        if start is not None and time.perf_counter() - start > seconds:
            break
    assert start is not None
    return n / (time.perf_counter() - start)


def dataset_for(name: str, preset: str, data_dir: Path) -> Dataset:
    """The preset's data settings (the seed preset keeps every word) on the Sentiment140 folder."""
    return load_dataset(DataConfig(data_dir=str(data_dir), **preset_data(preset)))


def ours(name: str, preset: str, steps: int, data_dir: Path, **overrides: object) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(
            name, preset, max_steps=steps, eval_every=10**9, val_size=1000, train_size=200_000, **overrides
        )
        summary = train(config, dataset_for(name, preset, data_dir), Path(tmp) / "run", progress=False)
        assert summary is not None
        return float(summary["train_tweets_per_second"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="lstm,bilstm,pyramid")
    ap.add_argument("--seconds", type=float, default=20.0, help="timed seconds of the reference loop")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    os.environ.setdefault("POSSIBLE_USER_WARNING", "off")
    data_dir = paths.data_dir(args.data_dir)
    prepared = dataset_for("lstm", "fast", data_dir)
    vectors = embedding_matrix(prepared.vocab, "glove.6B.50d", paths.cache_dir(), paths.glove_dir())
    train_split = prepared.for_training("train")
    sample = train_split.subset(np.random.default_rng(0).choice(len(train_split), 50_000, replace=False))
    steps = {"lstm": (1500, 200), "bilstm": (800, 120), "pyramid": (400, 100)}
    rows = []
    for name in args.models.split(","):
        ref = reference_throughput(name, sample, prepared.vocab.words, vectors.matrix, args.seconds)
        exact = ours(name, "seed", steps[name][0], data_dir, fixed_length=40)
        seed = ours(name, "seed", steps[name][0], data_dir)
        fast = ours(name, "fast", steps[name][1], data_dir)
        rows.append((name, ref, exact, seed, fast))
    print("\ntweets/s   reference | seed --fixed-length 40 | seed | fast   (ratios to the reference)")
    for name, ref, exact, seed, fast in rows:
        print(
            f"{name:<8} {ref:>8,.0f} | {exact:>8,.0f} {exact / ref:5.2f}x | {seed:>8,.0f} {seed / ref:5.2f}x | "
            f"{fast:>8,.0f} {fast / ref:5.2f}x"
        )


if __name__ == "__main__":
    main()
