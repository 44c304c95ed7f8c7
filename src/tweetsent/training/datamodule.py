"""The data side of a run, as a LightningDataModule: a dataset's splits, encoded for the model, as training and
validation batches, plus the sets scored every `eval_every` steps (a fixed validation sample and every test set).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from tweetsent.core.labels import LabelSet, evaluation_space
from tweetsent.core.splits import Split, seeded_subset
from tweetsent.data.batches import TweetBatches
from tweetsent.data.dataset import SELECT, Dataset
from tweetsent.training.config import TrainConfig

EVAL_BATCH = 1024


@dataclass
class EvalSet:
    """A split scored against its gold labels: `gold` indexes `space`, the labels the model's decisions are
    scored in (its classes, plus neutral for a negative/positive model on data with neutral tweets)."""

    name: str
    split: Split
    gold: np.ndarray
    space: LabelSet


def eval_set(dataset: Dataset, name: str, split: Split, classes: LabelSet) -> EvalSet:
    """`split` (the model's encoding of the dataset's split `name`, or rows of it) scored in its label space."""
    space = evaluation_space(classes, dataset.present(name), where=f"{name}: ")
    gold = dataset.labels.mapping_to(space)[split.labels.astype(np.int64)]
    return EvalSet(name, split, gold, space)


def chosen_rows(dataset: Dataset, train_size: int | None, val_size: int | None, seed: int) -> Dataset:
    """The dataset with its train and val splits cut to the seeded subsets `--train-size` and `--val-size` ask for
    (before encoding: a pretrained tokenizer then reads only the rows used)."""
    splits = dict(dataset.splits)
    splits["train"] = seeded_subset(splits["train"], train_size, seed)
    splits["val"] = seeded_subset(splits["val"], val_size, seed)
    return dataclasses.replace(dataset, splits=splits)


class TweetDataModule(L.LightningDataModule):
    """`inputs`: the dataset's splits (already cut by `chosen_rows`) encoded for the model."""

    def __init__(self, dataset: Dataset, inputs: dict[str, Split], config: TrainConfig) -> None:
        super().__init__()
        self.dataset = dataset
        to_class = np.maximum(dataset.labels.mapping_to(dataset.classes), 0)
        self.val = inputs["val"]
        self.train_batches = TweetBatches(
            inputs["train"].relabelled(to_class),
            config.batch_size,
            fixed_length=config.fixed_length,
            max_length=config.max_length,
            shuffle=True,
            bucket=config.bucket and config.fixed_length is None,
            seed=config.seed,
        )
        self.val_batches = TweetBatches(
            self.val.relabelled(to_class), EVAL_BATCH, max_length=config.max_length, bucket=True
        )
        classes = dataset.classes
        sample = seeded_subset(self.val, config.eval_sample, config.seed + 1)
        tests = [eval_set(dataset, name, inputs[name], classes) for name in dataset.tests]
        self.cadence = [eval_set(dataset, "val", sample, classes), *tests]  # every eval_every steps
        self.final = [eval_set(dataset, "val", self.val, classes), *tests]  # once training ends
        # --select-data: the hand-labelled set that chooses the checkpoint (scored in the model's own labels).
        self.select = eval_set(dataset, SELECT, inputs[SELECT], classes) if SELECT in inputs else None

    @property
    def train_labels(self) -> np.ndarray:
        return self.train_batches.split.labels

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_batches, batch_size=None, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_batches, batch_size=None, shuffle=False)
