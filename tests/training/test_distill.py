"""Distillation end to end on a tiny teacher: the teacher's scores cached and resumed, a `bag` student that learns
the teacher's labels, a normal run folder, soft targets in the loss, and the bad inputs `distill` refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import tweetsent
from tests.conftest import module_caches
from tests.training.test_any_data import invoke, labelled_rows, write_labelled
from tweetsent.training import distill as distill_module
from tweetsent.training.config import make_config
from tweetsent.training.distill import sharpened
from tweetsent.training.system import SentimentSystem

STEPS = ["--batch-size", "16", "--eval-every", "20", "--log-every", "10", "--precision", "32-true"]
COMMON = [*STEPS, "--min-count", "1", "--no-progress"]
THREE = {"negative": 60, "neutral": 60, "positive": 60}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("distill")
    with module_caches(folder):
        write_labelled(folder / "hand.csv", THREE, seed=0)
        write_labelled(folder / "test.csv", {"negative": 20, "neutral": 20, "positive": 20}, seed=5)
        pool = labelled_rows({"negative": 300, "neutral": 300, "positive": 300}, seed=2)
        (folder / "pool.txt").write_text("\n".join(text for _, text in pool) + "\n")
        assert invoke("train", "lstm", "--data", str(folder / "hand.csv"), "--max-steps", "60", *COMMON,
                      "--out", str(folder / "teacher")) == 0  # fmt: skip
        assert invoke("distill", str(folder / "teacher"), "--out", str(folder / "student"), "--unlabelled",
                      str(folder / "pool.txt"), "--test-data", str(folder / "test.csv"), "--max-steps", "150",
                      *COMMON) == 0  # fmt: skip
        yield folder


def test_the_student_learns_the_teachers_labels(setup: Path) -> None:
    texts = [text for _, text in labelled_rows({"negative": 50, "neutral": 50, "positive": 50}, seed=9)]
    teacher, student = tweetsent.load(setup / "teacher"), tweetsent.load(setup / "student")
    assert student.name == "bag" and student.labels == teacher.labels
    agree = (teacher.predict_proba(texts).argmax(1) == student.predict_proba(texts).argmax(1)).mean()
    assert agree >= 0.9


def test_the_student_is_a_normal_run_folder(setup: Path) -> None:
    run = setup / "student"
    for name in ("config.json", "summary.json", "metrics.csv", "model/config.json", "checkpoints/last.ckpt"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["soft_labelled"]["tweets"] == 900
    assert summary["soft_labelled"]["teacher"] == str(setup / "teacher")
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["data"] == [str((setup / "hand.csv").resolve())]  # the teacher's files by default
    assert config["dataset"]["class_counts"]["val"] == {"negative": 6, "neutral": 6, "positive": 6}  # hand labels


def test_scores_are_cached_and_a_lost_chunk_is_scored_again(setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = setup / "student" / "teacher"
    texts = (folder / "pool.txt").read_text().split("\n")
    monkeypatch.setattr(distill_module, "CHUNK", 256)
    teacher = tweetsent.load(setup / "teacher")
    cache = setup / "cache-test"
    first = distill_module._score(teacher, texts, cache, log=lambda s: None)
    (cache / "probs-00001.npy").unlink()  # as if the run was killed while scoring that chunk
    calls: list[int] = []
    original = teacher.predict_proba
    monkeypatch.setattr(teacher, "predict_proba", lambda t, **k: calls.append(len(t)) or original(t, **k))
    again = distill_module._score(teacher, texts, cache, log=lambda s: None)
    assert calls == [256] and np.array_equal(first, again)


def test_sharpened() -> None:
    p = np.array([[0.2, 0.3, 0.5]], dtype=np.float32)
    assert np.allclose(sharpened(p, 1.0), p)
    soft, sharp = sharpened(p, 2.0), sharpened(p, 0.5)
    assert np.allclose(soft.sum(1), 1) and np.allclose(sharp.sum(1), 1)
    assert soft[0, 2] < 0.5 < sharp[0, 2]
    assert np.allclose(sharp, p**2 / (p**2).sum())


def test_soft_targets_in_the_loss_match_hard_labels_when_one_hot() -> None:
    system = SentimentSystem(torch.nn.Linear(2, 3), make_config("lstm", "fast"), 3, torch.tensor([1.0, 2.0, 0.5]))
    logits, labels = torch.randn(8, 3), torch.randint(0, 3, (8,))
    one_hot = torch.nn.functional.one_hot(labels, 3).float()
    # Weighted cross-entropy divides by the summed weights for indices and by N for probabilities.
    weights = system.class_weights[labels].sum() / len(labels)  # type: ignore[index]
    assert torch.allclose(system.loss(logits, one_hot), system.loss(logits, labels) * weights)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("two_class_teacher", "the teacher predicts negative, positive; the training files are labelled"),
        ("empty", "empty input"),
        ("binary", "binary data"),
        ("test_file", "are in the test file"),
        ("no_student", "unknown model 'gru'"),
        ("negative_augment", "--augment must be 0 or more"),
    ],
)
def test_bad_input_is_one_line(setup: Path, tmp_path: Path, run_cli, case: str, message: str) -> None:  # type: ignore[no-untyped-def]
    teacher, unlabelled, extra = setup / "teacher", setup / "pool.txt", []
    if case == "two_class_teacher":
        write_labelled(tmp_path / "two.csv", {"negative": 30, "positive": 30}, seed=3)
        assert invoke("train", "lstm", "--data", str(tmp_path / "two.csv"), "--max-steps", "2", *COMMON,
                      "--out", str(tmp_path / "two")) == 0  # fmt: skip
        teacher = tmp_path / "two"
        extra = ["--data", str(setup / "hand.csv")]
    elif case == "empty":
        unlabelled = tmp_path / "empty.txt"
        unlabelled.write_text("\n\n")
    elif case == "binary":
        unlabelled = tmp_path / "blob.txt"
        unlabelled.write_bytes(bytes(range(256)) * 20)
    elif case == "test_file":
        unlabelled = setup / "test.csv"
        extra = ["--test-data", str(setup / "test.csv")]
    elif case == "negative_augment":
        extra = ["--augment", "-1"]
    else:
        extra = ["--student", "gru"]
    code, _, err = run_cli("distill", str(teacher), "--out", str(tmp_path / "out"), "--unlabelled", str(unlabelled),
                           *extra, *COMMON)  # fmt: skip
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "model").exists()


def digest(run: Path) -> str:
    """The teacher's identity as the caches record it."""
    return distill_module._teacher_digest(tweetsent.load(run))


def test_the_pool_is_drawn_once_and_kept(setup: Path, tmp_path: Path) -> None:
    from tweetsent.core.errors import UserError
    from tweetsent.data.dataset import DataConfig

    teacher_id = digest(setup / "teacher")
    data = DataConfig(data=(str(setup / "hand.csv"),))
    options = distill_module.DistillOptions(str(setup / "teacher"), (str(setup / "pool.txt"),), unlabelled_size=100)
    first = distill_module._pool(options, data, tmp_path, teacher_id, log=lambda s: None)
    assert len(first) == 100 and len(set(first)) == 100
    assert distill_module._pool(options, data, tmp_path, teacher_id, log=lambda s: None) == first
    other = distill_module.DistillOptions(options.teacher, options.unlabelled, unlabelled_size=200)
    with pytest.raises(UserError, match="unlabelled_size differ"):
        distill_module._pool(other, data, tmp_path, teacher_id, log=lambda s: None)


def test_a_calibrated_teacher_is_another_teacher(setup: Path, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """`calibrate` on a run uses its validation split; the cached scores belong to the uncalibrated teacher."""
    import shutil

    from tweetsent.core.errors import UserError
    from tweetsent.data.dataset import DataConfig

    teacher = tmp_path / "teacher"
    shutil.copytree(setup / "teacher", teacher)
    data = DataConfig(data=(str(setup / "hand.csv"),))
    options = distill_module.DistillOptions(str(teacher), (str(setup / "pool.txt"),), unlabelled_size=50)
    distill_module._pool(options, data, tmp_path / "out", digest(teacher), log=lambda s: None)
    code, _, err = run_cli("calibrate", str(teacher))
    assert code == 0, err
    info = json.loads((teacher / "model" / "calibration.json").read_text())
    assert info["data"] == "validation split" and info["n"] == 18
    with pytest.raises(UserError, match="teacher differ"):
        distill_module._pool(options, data, tmp_path / "out", digest(teacher), log=lambda s: None)


def test_copies_come_from_the_training_split_and_are_cached(
    setup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweetsent.core.errors import UserError
    from tweetsent.data.dataset import DataConfig, hand_splits

    teacher_id = digest(setup / "teacher")
    data = DataConfig(data=(str(setup / "hand.csv"),))
    options = distill_module.DistillOptions(str(setup / "teacher"), (str(setup / "pool.txt"),), augment=3)
    given: list[list[str]] = []
    real = distill_module.augmented
    monkeypatch.setattr(distill_module, "augmented", lambda t, *a: given.append(list(t)) or real(t, *a))
    first = distill_module._copies(options, data, tmp_path, teacher_id, log=lambda s: None)
    hand = hand_splits(data)
    assert given == [hand.train.texts] and not set(hand.train.texts) & set(hand.val.texts)
    assert len(hand.train.texts) < len(first) <= 3 * len(hand.train.texts)
    assert distill_module._copies(options, data, tmp_path, teacher_id, log=lambda s: None) == first
    assert len(given) == 1  # the second call read the cache
    other = distill_module.DistillOptions(options.teacher, options.unlabelled, augment=2)
    with pytest.raises(UserError, match="copies differ"):
        distill_module._copies(other, data, tmp_path, teacher_id, log=lambda s: None)
