"""BERT fine-tuning throughput (tweets/s): `tweetsent train bert --preset fast` against Hugging Face `Trainer`,
side by side in one script, on the same model, tweets and batch size.

    python bench/bert_throughput.py [--steps 60] [--batch-size 64] [--train-size 20000] [--peers default,tuned]

- ours: the training engine with the fast preset's settings (length-bucketed batches padded to their
  longest tweet, bf16 autocast, AdamW with two learning rates, warm-up + linear decay);
- Trainer (default): `transformers.Trainer` as its documentation sets it up for text classification:
  `DataCollatorWithPadding` (each random batch padded to its longest tweet), fp32, its default optimiser;
- Trainer (tuned): the same with `bf16=True` and `train_sampling_strategy="group_by_length"`, Trainer's own
  answers to padding and precision, to show where the difference comes from.
All three read the same seeded sample of the training split, tokenized once by the same tokenizer (the
cleaned texts, special tokens, at most --max-length tokens), in batches of --batch-size, for --steps steps.
Throughput counts the time from each step's start to its end (forward, backward, optimiser), i.e. net of
data loading, evaluation and start-up, for all three alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tweetsent.core.splits import Split
from tweetsent.data.dataset import DataConfig, Dataset, load_dataset
from tweetsent.models.bert import resolve_pretrained
from tweetsent.models.families import family_of
from tweetsent.training.config import make_config
from tweetsent.training.datamodule import chosen_rows
from tweetsent.training.run import train


def config_of(args: argparse.Namespace) -> Any:
    return make_config(
        "bert",
        "fast",
        max_steps=args.steps,
        batch_size=args.batch_size,
        train_size=args.train_size,
        val_size=500,
        max_length=args.max_length,
        eval_every=10**9,
        pretrained=args.pretrained,
    )


def ours(args: argparse.Namespace, dataset: Dataset) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = train(config_of(args), dataset, Path(tmp) / "run", progress=False)
        assert summary is not None
        return float(summary["train_tweets_per_second"]), str(summary["precision"])


class TweetIds(torch.utils.data.Dataset):
    def __init__(self, split: Split) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> dict[str, Any]:
        a, b = self.split.offsets[i], self.split.offsets[i + 1]
        return {"input_ids": self.split.ids[a:b].tolist(), "labels": int(self.split.labels[i])}


def trainer(args: argparse.Namespace, split: Split, tokenizer: Any, tuned: bool) -> tuple[float, str]:
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.seconds = 0.0
            self.steps = 0
            self._tick = 0.0

        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self._tick = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            self.seconds += time.perf_counter() - self._tick
            self.steps += 1

    model = AutoModelForSequenceClassification.from_pretrained(resolve_pretrained(args.pretrained), num_labels=2)
    clock = StepClock()
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.steps,
            learning_rate=5e-5,
            bf16=tuned,
            train_sampling_strategy="group_by_length" if tuned else "random",
            use_cpu=not torch.cuda.is_available(),
            report_to="none",
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_num_workers=0,
            seed=0,
        )
        run = Trainer(
            model=model,
            args=targs,
            train_dataset=TweetIds(split),
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[clock],
        )
        run.train()
    assert clock.steps == args.steps
    return (
        clock.steps * args.batch_size / clock.seconds,
        f"{getattr(targs.optim, 'value', targs.optim)}, {'bf16' if tuned else 'fp32'}",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--train-size", type=int, default=20_000, help="seeded sample of the training split")
    ap.add_argument("--pretrained", default=None, help="model id or folder [default: packaged all-MiniLM-L6-v2]")
    ap.add_argument("--peers", default="default,tuned", help="Trainer set-ups to run: default, tuned")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("POSSIBLE_USER_WARNING", "off")
    torch.set_flush_denormal(True)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the load report of the new head, on every load
    hf_logging.disable_progress_bar()
    dataset = load_dataset(DataConfig(data_dir=str(args.data_dir) if args.data_dir else None))
    # The very rows and tokens our run trains on: its family's encoder over the same seeded subset.
    config = config_of(args)
    family = family_of("bert")
    chosen = chosen_rows(dataset, config.train_size, config.val_size, config.seed)
    encoder = family.encoder(config, chosen, None)
    split = {"train": encoder.encode(chosen["train"].texts, chosen.for_training("train").labels, html_decoded=True)}
    tokenizer = encoder.tokenizer  # type: ignore[attr-defined]
    lengths = split["train"].lengths
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"{len(lengths):,} tweets, {lengths.mean():.1f} tokens on average (p99 {np.percentile(lengths, 99):.0f}); "
        f"batch {args.batch_size}, {args.steps} steps each"
    )

    results: list[tuple[str, float, str]] = []
    rate, precision = ours(args, dataset)
    results.append(("tweetsent train bert --preset fast", rate, f"bucketed, {precision}"))
    print(f"  {results[-1][0]}: {rate:,.1f} tweets/s", flush=True)
    for peer in args.peers.split(","):
        rate, how = trainer(args, split["train"], tokenizer, tuned=peer == "tuned")
        results.append((f"transformers.Trainer ({peer})", rate, how))
        print(f"  {results[-1][0]}: {rate:,.1f} tweets/s", flush=True)

    print("\n| run | tweets/s | ours / run | set-up |\n|---|---|---|---|")
    for name, rate, how in results:
        print(f"| {name} | {rate:,.1f} | {results[0][1] / rate:.2f}x | {how} |")


if __name__ == "__main__":
    main()
