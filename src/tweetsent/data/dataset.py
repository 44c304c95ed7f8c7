"""Datasets: named splits of labelled tweets (train, val, then any number of test sets) with their label names,
and the two loaders that make one: Sentiment140 (the prepared cache and the study's two test protocols) and any
labelled file a user has (`train --data`). Training, evaluation and compare take a `Dataset` and never ask
where it came from.

Every split holds the texts (HTML entities decoded once, here), the labels as indices into `Dataset.labels`,
and word ids under `Dataset.vocab` (built from the training split), which the word-vector models and TF-IDF
read; a pretrained encoder tokenizes the texts itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetsent.core import paths
from tweetsent.core.errors import UserError
from tweetsent.core.labels import NEUTRAL, LabelSet
from tweetsent.core.records import to_dict
from tweetsent.core.splits import Split, stratified_split
from tweetsent.data.cleaning import CleaningConfig, has_link, unescape_html
from tweetsent.data.labelled import ReadOptions, TweetRows, parse_label_map, parse_labels, read_labelled_file
from tweetsent.data.prepare import LABELS, PrepareConfig, prepare, word_tokens
from tweetsent.data.reader import read_sentiment140
from tweetsent.data.sources import locate
from tweetsent.data.union import UnionStats, read_training_files, without_tests
from tweetsent.data.vocab import Vocab, at_least_one_token

SENTIMENT140 = "sentiment140"
SELECT = "select"  # the split of --select-data
RESERVED = ("train", "val", SELECT)  # `--test-data sentiment140`: the official test tweets, both protocols
SENTIMENT140_CLASSES = LabelSet(("negative", "positive"))  # its training tweets are labelled by emoticons only
# Published figures on Sentiment140's test tweets, for reports: binary accuracy on the 359 polar tweets of `test`
# (SPEC 4), and the study's own table on `test_seed` (method, epochs, test loss, 3-class accuracy, a reading of
# its binary accuracy on the 301 polar tweets).
SENTIMENT140_REFERENCES: dict[str, Any] = {
    "binary": {
        "split": "test",
        "results": [
            ["Go et al. 2009 (MaxEnt)", 0.830],
            ["CharSCNN (dos Santos & Gatti 2014)", 0.864],
            ["DCNN (Kalchbrenner et al. 2014)", 0.874],
        ],
    },
    "study": {
        "split": "test_seed",
        "rows": [
            ["LSTM", "30", 0.9122, 0.64, "≈ 78 %"],
            ["BiLSTM", "18", 0.9229, 0.6278, "—"],
            ["Pyramid", "8", 0.9415, 0.5978, "—"],
            ["BERT", "—", None, 0.6685, "≈ 81.5 %"],
        ],
    },
}
FILE_VAL_FRACTION = 0.1
SENTIMENT140_VAL_FRACTION = 0.05


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class DataConfig:
    """Where a run's tweets come from and how they are split and cleaned (config.json's "data")."""

    data: tuple[str, ...] = _f(
        (),
        "labelled files to train on (CSV, TSV, JSONL, .gz/.zip; repeatable, globs; tweets deduplicated) "
        "[default: Sentiment140]",
    )
    val_data: str | None = _f(None, "a labelled validation file (default: a stratified --val-fraction of --data)")
    val_fraction: float | None = _f(None, "share of --data held out for validation [default: 0.1; Sentiment140 0.05]")
    test_data: tuple[str, ...] = _f((), "a labelled test file (repeatable; `sentiment140`: its official test tweets)")
    labels: str | None = _f(None, "label names in the order the model uses, e.g. negative,neutral,positive")
    select_data: str | None = _f(
        None, "a hand-labelled file whose best macro-F1 chooses the checkpoint (instead of validation loss)"
    )
    read: ReadOptions = field(default_factory=ReadOptions)
    data_dir: str | None = _f(None, "Sentiment140 folder [default: $TWEETSENT_DATA_DIR]")
    train_file: str | None = _f(None, "Sentiment140 training CSV/zip/gz instead of the data folder's")
    test_file: str | None = _f(None, "Sentiment140 test CSV instead of the data folder's")
    download: bool = _f(True, "download the official Sentiment140 zip when its files are missing")
    min_count: int = _f(2, "words seen fewer times in training are unknown")
    max_vocab: int | None = _f(None, "keep at most this many words")
    split_seed: int = _f(0, "seed of the validation split")
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)

    def __post_init__(self) -> None:
        if isinstance(self.data, str):  # one file given as a plain string
            object.__setattr__(self, "data", (self.data,))
        elif self.data is None:
            object.__setattr__(self, "data", ())

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass
class Dataset:
    name: str
    labels: LabelSet  # every label of any split
    classes: LabelSet  # the labels of the training split: what a model trained on it predicts
    splits: dict[str, Split]  # "train", "val", then the test sets; labels index `labels`
    vocab: Vocab
    config: DataConfig
    stats: dict[str, Any] = field(default_factory=dict)
    references: dict[str, Any] = field(default_factory=dict)  # published results on its test sets

    def __getitem__(self, name: str) -> Split:
        return self.splits[name]

    @property
    def tests(self) -> list[str]:
        return [n for n in self.splits if n not in RESERVED]

    @property
    def cleaning(self) -> CleaningConfig:
        return self.config.cleaning

    def for_training(self, name: str) -> Split:
        """A split with its labels as indices into `classes` (train and val hold only those)."""
        return self.splits[name].relabelled(np.maximum(self.labels.mapping_to(self.classes), 0))

    def present(self, name: str) -> LabelSet:
        """The labels that occur in a split, in the dataset's order."""
        seen = set(np.unique(self.splits[name].labels).tolist())
        return LabelSet(tuple(n for i, n in enumerate(self.labels) if i in seen) or self.labels.names[:1])

    def gold(self, name: str, space: LabelSet) -> np.ndarray:
        """A split's labels as indices into `space` (which must hold all of them)."""
        return self.labels.mapping_to(space)[self.splits[name].labels.astype(np.int64)]


@dataclass
class SoftLabelled:
    """Tweets labelled by a teacher's probabilities (distillation): they join the training split only, with the
    probabilities as soft targets; validation and tests stay hand-labelled."""

    source: str
    texts: list[str]
    probs: np.ndarray  # (N, len(labels)), float32
    labels: LabelSet


def load_dataset(config: DataConfig, cache_dir: Path | None = None, soft: SoftLabelled | None = None) -> Dataset:
    """Sentiment140 (no `config.data`) or the labelled files `config.data`, with validation and test sets;
    `soft`: teacher-labelled tweets added to the training split (labelled files only)."""
    cache_dir = cache_dir or paths.cache_dir()
    _check(config)
    if soft is not None and not config.data:
        raise UserError("soft-labelled tweets join hand-labelled training files: give --data")
    return labelled_file(config, soft) if config.data else sentiment140(config, cache_dir)


def _check(config: DataConfig) -> None:
    if config.val_data is not None and config.val_fraction is not None:
        raise UserError("give --val-data or --val-fraction, not both")
    if config.val_fraction is not None and not 0 < config.val_fraction < 1:
        raise UserError(f"--val-fraction must be between 0 and 1, not {config.val_fraction}")
    if not config.data and (config.val_data or config.labels or config.read.label_map):
        raise UserError("--val-data, --labels and --label-map apply to --data (a labelled training file)")
    if config.min_count < 1:
        raise UserError(f"--min-count must be at least 1, not {config.min_count}")


# ---------------------------------------------------------------------------------------------- Sentiment140


def sentiment140(config: DataConfig, cache_dir: Path) -> Dataset:
    """The prepared cache: train and val (5 % stratified), `test` (all 498 official tweets) and `test_seed` (the
    study's protocol: without link tweets), plus any --test-data files."""
    files = locate(
        paths.data_dir(config.data_dir),
        train_file=config.train_file,
        test_file=config.test_file,
        allow_download=config.download,
    )
    fraction = config.val_fraction if config.val_fraction is not None else SENTIMENT140_VAL_FRACTION
    prepare_config = PrepareConfig(config.cleaning, config.min_count, config.max_vocab, fraction, config.split_seed)
    prepared = prepare(files, prepare_config, cache_dir)
    labels = LabelSet(LABELS)
    splits = dict(prepared.splits)
    stats = {**prepared.stats, "cache": str(prepared.path), "cache_hit": prepared.cache_hit, "val_fraction": fraction}
    extra = _test_files(config, labels) + _select_file(config, SENTIMENT140_CLASSES, labels)
    for name, rows in extra:
        splits[name] = _encode(rows, prepared.vocab, config.cleaning, labels, name, keep_empty=True)[0]
    return Dataset(
        SENTIMENT140, labels, SENTIMENT140_CLASSES, splits, prepared.vocab, config, stats, SENTIMENT140_REFERENCES
    )


def sentiment140_tests(config: DataConfig) -> dict[str, TweetRows]:
    """`test` and `test_seed` from Sentiment140's official test file, as rows with label names."""
    files = locate(
        paths.data_dir(config.data_dir),
        train_file=config.train_file,
        test_file=config.test_file,
        allow_download=config.download,
    )
    raw = read_sentiment140(files.test.path, files.test.member)
    texts = raw.texts.to_pylist()
    names = [LABELS[i] for i in raw.labels.tolist()]
    link = has_link(raw.texts)
    test = TweetRows(str(files.test), texts, names, rows_read=raw.rows_read)
    seed = TweetRows(
        str(files.test),
        [t for t, x in zip(texts, link, strict=True) if not x],
        [n for n, x in zip(names, link, strict=True) if not x],
        rows_read=raw.rows_read,
        dropped={"tweet with a link": int(link.sum())},
    )
    # The official files carry HTML entities; decoding happens where every file's texts are decoded.
    return {"test": test, "test_seed": seed}


# ---------------------------------------------------------------------------------------------- any labelled file


@dataclass
class HandSplits:
    """The hand-labelled rows of `--data` files as training sees them: merged, less the test files' tweets, split
    into training and validation."""

    train: TweetRows
    val: TweetRows
    classes: LabelSet
    tests: list[tuple[str, TweetRows]]
    val_fraction: float | None  # None: validation is --val-data
    union: UnionStats


def hand_splits(config: DataConfig) -> HandSplits:
    """Read the `config.data` files (see union.py) and split off validation: `config.val_data` or a stratified
    fraction (tweets of a test file are never trained on)."""
    assert config.data
    label_map = parse_label_map(config.read.label_map)
    train_rows, union = read_training_files(config.data, config.read, label_map)
    classes = _classes(train_rows, parse_labels(config.labels))
    tests = _test_files(config, classes)
    train_rows = without_tests(train_rows, (r for _, r in tests), union)
    train_names = np.array(train_rows.labels or [], dtype=object)
    fraction: float | None = None
    if config.val_data is not None:
        val_rows = _matched(read_labelled_file(config.val_data, config.read, label_map), classes, "validation")
    else:
        fraction = config.val_fraction if config.val_fraction is not None else FILE_VAL_FRACTION
        codes = np.array([classes.index(n) for n in train_names], dtype=np.int64)
        train_idx, val_idx = stratified_split(codes, fraction, config.split_seed)
        if len(val_idx) == 0:
            raise UserError(f"{train_rows.source}: too few tweets to hold out {fraction:.0%} for validation")
        val_rows = dataclasses.replace(_take(train_rows, val_idx), dropped={})  # the reader's drops count once
        train_rows = _take(train_rows, train_idx)
    return HandSplits(train_rows, val_rows, classes, tests, fraction, union)


def labelled_file(config: DataConfig, soft: SoftLabelled | None = None) -> Dataset:
    """Train on the `config.data` files; validate and test as `hand_splits` says."""
    hand = hand_splits(config)
    classes, tests, train_rows = hand.classes, hand.tests, hand.train
    with_neutral = classes.bandable and any(NEUTRAL in (r.labels or []) for _, r in tests)
    labels = classes.with_neutral() if with_neutral else classes
    targets = None
    if soft is not None:
        train_rows, targets = _with_soft(train_rows, soft, classes)

    texts = _decoded(train_rows.texts, config.cleaning)
    tokens = word_tokens(texts, config.cleaning)
    nonempty = pc.list_value_length(tokens).to_numpy(zero_copy_only=False) > 0
    vocab = Vocab.build(tokens.filter(pa.array(nonempty)), config.min_count, config.max_vocab)
    splits: dict[str, Split] = {}
    dropped: dict[str, dict[str, int]] = {}
    for name, rows in (("train", train_rows), ("val", hand.val), *tests, *_select_file(config, classes, labels)):
        keep_empty, soft_targets = name not in ("train", "val"), targets if name == "train" else None
        splits[name], empty = _encode(rows, vocab, config.cleaning, labels, name, keep_empty, soft_targets)
        dropped[name] = {**rows.dropped, **({"empty after cleaning": empty} if empty else {})}
    for name in ("train", "val"):
        if len(splits[name]) == 0:
            raise UserError(f"{config.data}: no {name} tweets left after cleaning")
    _check_class_sizes(splits["train"], labels, classes, train_rows.source)
    stats = {
        "files": {"train": list(config.data), "val": config.val_data, "tests": {n: r.source for n, r in tests}},
        "rows_read": {"train": train_rows.rows_read},
        "dropped": dropped,
        "class_counts": {n: _counts(s, labels) for n, s in splits.items()},
        "vocab_size": len(vocab),
        "val_fraction": hand.val_fraction,
        "text_column": train_rows.text_column,
        "label_column": train_rows.label_column,
        "training_files": hand.union.to_dict(),
        **({"soft_labelled": {"source": soft.source, "tweets": len(soft.texts)}} if soft is not None else {}),
    }
    return Dataset(data_name(config.data), labels, classes, splits, vocab, config, stats)


def _with_soft(rows: TweetRows, soft: SoftLabelled, classes: LabelSet) -> tuple[TweetRows, np.ndarray]:
    """The hand-labelled training rows followed by the soft-labelled ones, and every row's targets over `classes`:
    one-hot for a hand label, the teacher's probabilities otherwise."""
    if set(soft.labels) != set(classes):
        raise UserError(
            f"{soft.source}: the teacher predicts {', '.join(soft.labels)}, the training files are labelled "
            f"{', '.join(classes)}; distil a teacher trained on the same labels"
        )
    probs = soft.probs[:, classes.mapping_to(soft.labels)].astype(np.float32)
    codes = np.array([classes.index(n) for n in rows.labels or []], dtype=np.int64)
    targets = np.concatenate([np.eye(len(classes), dtype=np.float32)[codes], probs])
    names = [classes[i] for i in probs.argmax(axis=1)] if len(probs) else []
    merged = dataclasses.replace(
        rows, texts=[*rows.texts, *soft.texts], labels=[*(rows.labels or []), *names], ids=None
    )
    return merged, targets


def _classes(rows: TweetRows, order: tuple[str, ...] | None) -> LabelSet:
    counts = Counter(rows.labels or [])
    if order is not None:
        missing = [n for n in order if n not in counts]
        if missing:
            raise UserError(f"{rows.source}: --labels names {', '.join(map(repr, missing))}, which the file lacks")
        extra = sorted(set(counts) - set(order))
        if extra:
            raise UserError(f"{rows.source}: labels {', '.join(map(repr, extra))} are not in --labels")
    classes = LabelSet.of(counts, order)
    if len(classes) < 2:
        raise UserError(f"{rows.source}: every tweet has the label {classes.names[0]!r}; training needs two or more")
    return classes


def _check_class_sizes(train: Split, labels: LabelSet, classes: LabelSet, source: str) -> None:
    counts = np.bincount(train.labels.astype(np.int64), minlength=len(labels))
    few = [f"{n!r} ({counts[labels.index(n)]})" for n in classes if counts[labels.index(n)] < 2]
    if few:
        raise UserError(
            f"{source}: fewer than 2 training tweets for {', '.join(few)}; training needs 2 or more a label"
        )


def _matched(rows: TweetRows, classes: LabelSet, role: str, bandable: bool = False) -> TweetRows:
    """Rows whose label names are matched to the training labels (any case, neg/neu/pos); a label training never
    saw is a UserError (neutral is allowed in a test set of a negative/positive model: the band predicts it)."""
    allowed = classes.matching(band=bandable)
    names = []
    for value in rows.labels or []:
        name = allowed.get(value.lower())
        if name is None:
            raise UserError(
                f"{rows.source}: {role} label {value!r} never seen in training (training labels: "
                f"{', '.join(classes.names)}); map it with --label-map or remove those rows"
            )
        names.append(name)
    if not names:
        raise UserError(f"{rows.source}: no {role} tweets left")
    return dataclasses.replace(rows, labels=names)


def _test_files(config: DataConfig, labels: LabelSet) -> list[tuple[str, TweetRows]]:
    """(name, rows) of every --test-data file, in order; `sentiment140` stands for its two test protocols."""
    label_map = parse_label_map(config.read.label_map)
    out: list[tuple[str, TweetRows]] = []
    taken: set[str] = set()
    for path in config.test_data:
        if path == SENTIMENT140:
            found = list(sentiment140_tests(config).items())
        else:
            found = [(file_name(path), read_labelled_file(path, config.read, label_map))]
        for name, rows in found:
            unique, k = name, 2
            while unique in taken or unique in RESERVED:
                unique, k = f"{name}-{k}", k + 1
            taken.add(unique)
            out.append((unique, _matched(rows, labels, "test", bandable=True)))
    return out


def _select_file(config: DataConfig, classes: LabelSet, labels: LabelSet) -> list[tuple[str, TweetRows]]:
    """The --select-data rows as [("select", rows)] (or []): labels matched to the training labels; neutral tweets
    are left out (counted) for a negative/positive model, which has no neutral output to be chosen by."""
    if config.select_data is None:
        return []
    rows = _matched(
        read_labelled_file(config.select_data, config.read, parse_label_map(config.read.label_map)),
        classes,
        "selection",
        bandable=True,
    )
    keep = [n in classes for n in rows.labels or []]
    if not all(keep):
        kept = [i for i, k in enumerate(keep) if k]
        dropped = {**rows.dropped, "neutral (the model has no neutral label)": len(keep) - len(kept)}
        rows = dataclasses.replace(_take(rows, np.array(kept, dtype=np.int64)), dropped=dropped)
    if not rows.texts:
        raise UserError(f"{config.select_data}: no selection tweets with the training labels ({', '.join(classes)})")
    return [(SELECT, rows)]


def _take(rows: TweetRows, idx: np.ndarray) -> TweetRows:
    labels = rows.labels or []
    ids = [rows.ids[i] for i in idx] if rows.ids is not None else None
    return dataclasses.replace(rows, texts=[rows.texts[i] for i in idx], labels=[labels[i] for i in idx], ids=ids)


def _decoded(texts: list[str], cleaning: CleaningConfig) -> pa.Array:
    column = pa.array(texts, type=pa.string())
    return unescape_html(column) if cleaning.html_unescape else column


def _encode(
    rows: TweetRows,
    vocab: Vocab,
    cleaning: CleaningConfig,
    labels: LabelSet,
    name: str,
    keep_empty: bool,
    targets: np.ndarray | None = None,
) -> tuple[Split, int]:
    """Rows -> a Split of word ids (texts decoded); tweets empty after cleaning are dropped from training and
    validation (counted) and kept as one unknown word in test sets, which must answer every tweet."""
    texts = _decoded(rows.texts, cleaning)
    tokens = word_tokens(texts, cleaning)
    codes = np.array([labels.index(n) for n in rows.labels or []], dtype=np.int8)
    empty = pc.list_value_length(tokens).to_numpy(zero_copy_only=False) == 0
    if not keep_empty and empty.any():
        keep = pa.array(~empty)
        tokens, texts, codes = tokens.filter(keep), texts.filter(keep), codes[~empty]
        targets = targets[~empty] if targets is not None else None
    ids = at_least_one_token(vocab.encode(tokens))
    flat = ids.values.to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = ids.offsets.to_numpy().astype(np.int64)
    split = Split(name, flat, offsets - offsets[0], codes, texts, targets)
    return split, 0 if keep_empty else int(empty.sum())


def _counts(split: Split, labels: LabelSet) -> dict[str, int]:
    counts = np.bincount(split.labels.astype(np.int64), minlength=len(labels))
    return {n: int(c) for n, c in zip(labels, counts, strict=True)}


def data_name(paths: tuple[str, ...]) -> str:
    """A short name for training files: one file's name; several in one folder: the folder's; else the first's
    name and how many more."""
    if len(paths) == 1:
        return file_name(paths[0])
    parents = {Path(p).parent for p in paths}
    if len(parents) == 1:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", parents.pop().name).strip(".-") or "data"
    return f"{file_name(paths[0])}-and-{len(paths) - 1}-more"


def file_name(path: str | Path) -> str:
    """A short name for a data file: `../semeval2016_task4a/train.tsv` -> `semeval2016_task4a-train`."""
    if str(path) == "-":
        return "stdin"
    p = Path(path)
    stem = p.name
    for suffix in (".gz", ".zip", ".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".json", ".txt"):
        stem = stem.removesuffix(suffix)
    name = f"{p.parent.name}-{stem}" if p.parent.name else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "data"
