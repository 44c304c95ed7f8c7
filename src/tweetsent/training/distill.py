"""Distillation: a teacher (any run or ensemble) labels unlabelled tweets with its probabilities, and a student
trains on them (soft targets) plus the hand labels, through the same `train()` as every other run.

RUN_DIR/teacher/        the teacher's scores, cached and resumable (scoring is the slow part on a CPU):
    pool.txt            the sampled unlabelled tweets, one per line (newlines inside a tweet as spaces)
    probs-NNNNN.npy     the teacher's probabilities, one file per chunk of `CHUNK` tweets, written atomically
    meta.json           what was scored: the teacher (its config digest), the files, the sample size and seed
    augmented/          the same for perturbed copies of the hand-labelled training tweets (`--augment`)
Everything else in RUN_DIR is a normal run folder: predict, serve, evaluate, ensemble and compare load it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweetsent.core.atomic import atomic_path, write_json
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet, with_prior
from tweetsent.core.locks import run_lock
from tweetsent.data.augment import augmented
from tweetsent.data.dataset import DataConfig, SoftLabelled, hand_splits, load_dataset, sentiment140_tests
from tweetsent.data.labelled import ReadOptions, parse_label_map, read_labelled_file, read_tweets
from tweetsent.data.union import normalized, read_training_files
from tweetsent.inference.classifier import Classifier
from tweetsent.models.registry import model_spec
from tweetsent.training.config import TrainConfig
from tweetsent.training.run import train

CHUNK = 4096  # tweets scored per cache file: a kill loses at most this much of the teacher's work
TEACHER_DIR = "teacher"
AUGMENTED = "augmented"
# An unlabelled file with this share of its tweets in a test set is that test set: refused.
TEST_SHARE = 0.5


@dataclass(frozen=True)
class DistillOptions:
    teacher: str
    unlabelled: tuple[str, ...]
    unlabelled_size: int | None = 200_000
    temperature: float = 1.0
    sample_seed: int = 0
    augment: int = 0  # perturbed copies of each hand-labelled training tweet for the teacher to label


def distill(
    options: DistillOptions,
    config: TrainConfig,
    data: DataConfig,
    run_dir: Path,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    """Score the unlabelled pool with the teacher (resuming from the cache), then train the student."""
    _check(options, config, data)
    # PyTorch, not an ONNX export the folder may have: the targets are the teacher's own probabilities.
    teacher = Classifier.load(options.teacher, runtime="torch")
    _check_labels(teacher.labels, data)
    digest = _teacher_digest(teacher)  # recorded with each cache: another teacher's scores are refused
    with run_lock(run_dir):
        texts = _pool(options, data, run_dir, digest, log)
        probs = _score(teacher, texts, run_dir / TEACHER_DIR, log)
        copies = _copies(options, data, run_dir, digest, log) if options.augment else []
        if copies:
            texts = [*texts, *copies]
            probs = np.concatenate([probs, _score(teacher, copies, run_dir / TEACHER_DIR / AUGMENTED, log)])
    soft = SoftLabelled(
        f"{options.teacher} on {len(texts):,} unlabelled tweets",
        texts,
        sharpened(probs, options.temperature),
        teacher.labels,
    )
    dataset = load_dataset(data, soft=soft)
    dataset.stats["soft_labelled"].update(
        teacher=str(options.teacher),
        unlabelled=list(options.unlabelled),
        augmented=len(copies),
        temperature=options.temperature,
    )
    return train(config, dataset, run_dir, resume=resume, progress=progress)


def sharpened(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities at another temperature: p^(1/T), renormalised (T > 1 softer, T < 1 sharper)."""
    return with_prior(probs.astype(np.float32), None, temperature)


def _check(options: DistillOptions, config: TrainConfig, data: DataConfig) -> None:
    model_spec(config.model)  # an unknown student is one line naming the registered models
    if not options.unlabelled:
        raise UserError("--unlabelled: give one or more files of tweets for the teacher to label")
    if not data.data:
        raise UserError("--data: give the hand-labelled training files (the teacher's run records none)")
    if options.temperature <= 0:
        raise UserError(f"--temperature must be positive, not {options.temperature}")
    if options.unlabelled_size is not None and options.unlabelled_size < 1:
        raise UserError(f"--unlabelled-size must be positive, not {options.unlabelled_size}")
    if options.augment < 0:
        raise UserError(f"--augment must be 0 or more, not {options.augment}")


def _check_labels(labels: LabelSet, data: DataConfig) -> None:
    rows, _ = read_training_files(data.data, data.read, parse_label_map(data.read.label_map))
    theirs = set(rows.labels or [])
    if theirs != set(labels):
        raise UserError(
            f"the teacher predicts {', '.join(labels)}; the training files are labelled "
            f"{', '.join(sorted(theirs))}: distil a teacher trained on the same labels"
        )


def _test_texts(data: DataConfig) -> dict[str, set[str]]:
    """Every test file's tweets (normalised), by file."""
    out: dict[str, set[str]] = {}
    for path in data.test_data:
        if path == "sentiment140":
            rows = sentiment140_tests(data)["test"]
        else:
            rows = read_labelled_file(path, data.read, parse_label_map(data.read.label_map))
        out[rows.source] = {normalized(t) for t in rows.texts}
    return out


def _pool(
    options: DistillOptions, data: DataConfig, run_dir: Path, teacher_digest: str, log: Callable[[str], None]
) -> list[str]:
    """The unlabelled tweets to score: the cached pool when it was drawn the same way, else a fresh seeded
    sample of the files' distinct tweets, less any that a test file holds."""
    meta = {
        "teacher": teacher_digest,
        "unlabelled": [str(Path(p).resolve()) for p in options.unlabelled],
        "unlabelled_size": options.unlabelled_size,
        "sample_seed": options.sample_seed,
    }
    return _cached_texts(run_dir / TEACHER_DIR, meta, lambda: _read_pool(options, data, log))


def _copies(
    options: DistillOptions, data: DataConfig, run_dir: Path, teacher_digest: str, log: Callable[[str], None]
) -> list[str]:
    """Perturbed copies of the hand-labelled training split's tweets (never validation's), cached like the pool."""
    meta = {
        "teacher": teacher_digest,
        "data": [str(Path(p).resolve()) for p in data.data],
        "val_data": data.val_data,
        "split_seed": data.split_seed,
        "copies": options.augment,
        "sample_seed": options.sample_seed,
    }

    def draw() -> list[str]:
        hand = hand_splits(data)  # its test files' rows too: a copy may land on a test tweet
        held = {normalized(t) for _, rows in hand.tests for t in rows.texts}
        texts = hand.train.texts
        copies = [t for t in augmented(texts, options.augment, options.sample_seed) if normalized(t) not in held]
        log(f"augmented: {len(copies):,} perturbed copies of {len(texts):,} hand-labelled training tweets")
        return copies

    return _cached_texts(run_dir / TEACHER_DIR / AUGMENTED, meta, draw)


def _cached_texts(folder: Path, meta: dict[str, Any], draw: Callable[[], list[str]]) -> list[str]:
    """The tweets a cache folder was drawn with when `meta` matches what it records, else `draw()`'s, recorded."""
    if (folder / "meta.json").is_file():
        saved = json.loads((folder / "meta.json").read_text())
        changed = ", ".join(k for k in meta if saved.get(k) != meta[k])
        if changed:
            raise UserError(f"{folder}: scores of another teacher or pool ({changed} differ); choose another --out")
        return (folder / "pool.txt").read_text(encoding="utf-8").split("\n")[: saved.get("tweets", None)]
    texts = draw()
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "pool.txt") as tmp:
        tmp.write_text("\n".join(texts), encoding="utf-8")
    write_json(folder / "meta.json", {**meta, "tweets": len(texts)})
    return texts


def _read_pool(options: DistillOptions, data: DataConfig, log: Callable[[str], None]) -> list[str]:
    tests = _test_texts(data)
    seen: dict[str, str] = {}
    for path in options.unlabelled:
        rows = read_tweets(path, read=ReadOptions(encoding_errors="replace", max_input_mb=data.read.max_input_mb))
        keys = [normalized(t) for t in rows.texts]
        for source, held in tests.items():
            inside = sum(k in held for k in keys)
            if inside >= TEST_SHARE * len(keys):
                raise UserError(
                    f"{path}: {inside:,} of its {len(keys):,} tweets are in the test file {source}; "
                    "a test set is for reporting, never for training"
                )
        for key, text in zip(keys, rows.texts, strict=True):
            if key and not any(key in held for held in tests.values()):
                seen.setdefault(key, " ".join(text.split()))
    texts = list(seen.values())
    if not texts:
        raise UserError(f"{', '.join(options.unlabelled)}: no tweets left to label")
    size = options.unlabelled_size
    if size is not None and size < len(texts):
        rows_ = np.sort(np.random.default_rng(options.sample_seed).choice(len(texts), size=size, replace=False))
        texts = [texts[i] for i in rows_]
    log(f"unlabelled: {len(texts):,} distinct tweets drawn from {len(seen):,}")
    return texts


def _teacher_digest(teacher: Classifier) -> str:
    folder = teacher.model_dir
    if folder is None:
        return teacher.name
    config = json.loads((folder / "config.json").read_bytes())
    config.pop("export", None)  # an ONNX export is recorded there; the teacher's probabilities stay the same
    digest = hashlib.sha256((json.dumps(config, indent=2) + "\n").encode())
    bias = getattr(teacher.predictor, "class_bias", None)  # its probabilities under a calibrated prior
    if bias is not None:
        digest.update(np.asarray(bias, dtype=np.float64).tobytes())
    for weights in sorted(folder.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _score(teacher: Classifier, texts: Sequence[str], folder: Path, log: Callable[[str], None]) -> np.ndarray:
    """The teacher's probabilities for `texts`, chunk by chunk; chunks already on disk are read, not scored."""
    chunks = range(0, len(texts), CHUNK)
    done = sum((folder / _chunk_name(start)).is_file() for start in chunks)
    if done < len(chunks):
        log(f"teacher {teacher.name}: scoring {len(texts):,} tweets ({done} of {len(chunks)} chunks cached)")
    started, scored = time.perf_counter(), 0
    parts = []
    for start in chunks:
        path = folder / _chunk_name(start)
        if path.is_file():
            parts.append(np.load(path))
            continue
        probs = teacher.predict_proba(texts[start : start + CHUNK])
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, probs)
        parts.append(probs)
        scored += len(probs)
        rate = scored / max(time.perf_counter() - started, 1e-9)
        left = (len(texts) - start - len(probs)) / rate
        log(f"  {start + len(probs):,} / {len(texts):,} scored, {rate:,.0f} tweets/s, {left / 60:.1f} min left")
    return np.concatenate(parts) if parts else np.zeros((0, len(teacher.labels)), dtype=np.float32)


def _chunk_name(start: int) -> str:
    return f"probs-{start // CHUNK:05d}.npy"
