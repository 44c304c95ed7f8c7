"""A model folder made ready to ship: its weights (float16 where asked), its figures on hand-labelled test sets and
its speed beside VADER's (`results.json`), and a model card (`README.md`) written from them.

`tweetsent package RUN --out DIR --eval-data FILE ... [--teacher RUN]` makes one; `make model` makes the model
that ships inside tweetsent (src/tweetsent/packaged/).
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from tweetsent.core.atomic import atomic_dir
from tweetsent.core.errors import UserError
from tweetsent.core.labels import LabelSet
from tweetsent.core.metrics import split_metrics
from tweetsent.core.model_folder import resolve_model_dir
from tweetsent.core.runs import RunFolder
from tweetsent.data.dataset import file_name
from tweetsent.data.labelled import ReadOptions
from tweetsent.evaluation.datafile import read_labelled
from tweetsent.inference.classifier import Classifier
from tweetsent.models.lexicon import LABELS as VADER_LABELS
from tweetsent.models.lexicon import vader_probs, vader_scores

RESULTS = RunFolder.RESULTS  # compare recognises a packaged folder by it
CARD = "README.md"
STUDENTS = {
    "cnn": "convolutions of widths 2, 3 and 4 over GloVe-initialised word vectors, max-pooled over the tweet",
    "bag": "the mean and maximum of a tweet's word vectors and the mean of its word-pair vectors, one hidden layer",
}


def scores(predict: Any, labels: LabelSet, data: str | Path) -> dict[str, Any]:
    """Accuracy and macro-F1 of `predict` (texts -> probabilities over `labels`) on a labelled file, scored as
    `evaluate --data` scores it (rows whose label the model cannot predict are left out)."""
    labelled = read_labelled(data, ReadOptions(), labels)
    m = split_metrics(predict(labelled.rows.texts), labelled.gold, labels, labelled.space)
    return {"n": len(labelled.gold), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}


def vader_predict(texts: list[str]) -> np.ndarray:
    return vader_probs(vader_scores(texts))


def tweets_per_second(predict: Any, texts: list[str], warmup: int = 500, repeats: int = 3) -> float:
    """Raw texts to probabilities, after a warm-up on the first `warmup` texts: the best of `repeats` passes, as
    other processes on the machine slow a single pass by a third or more."""
    predict(texts[:warmup])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


@dataclass(frozen=True)
class PackageOptions:
    eval_data: tuple[str, ...]
    teacher: str | None = None
    speed_texts: tuple[str, ...] = ()  # tweets timed for the speed figures (a sample of an unlabelled file)
    half: bool = True  # float16 weights: half the size, the same labels on all but a few tweets
    command: str = ""  # how the model was built, for the card


def package(run: str | Path, out: Path, options: PackageOptions) -> dict[str, Any]:
    """Copy the model folder of `run` to `out` (float16 weights with `half`), score it, the teacher and VADER on
    every eval file, time it against VADER (and the teacher), and write results.json and the card."""
    source = resolve_model_dir(run)
    if not options.eval_data:
        raise UserError("--eval-data: give the hand-labelled test files the card reports")
    with atomic_dir(out) as tmp:
        for path in source.iterdir():
            if path.is_file() and path.suffix in (".json", ".txt") and path.name not in (RESULTS, CARD):
                shutil.copy2(path, tmp / path.name)
        for weights in source.glob("*.safetensors"):
            tensors = load_file(str(weights))
            if options.half:
                tensors = {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in tensors.items()}
            save_file(tensors, str(tmp / weights.name))
        results = _measure(Classifier.load(tmp), options)
        results["source"] = str(Path(run))
        results["data"] = _run_data(source.parent)
        (tmp / RESULTS).write_text(json.dumps(results, indent=2) + "\n")
        (tmp / CARD).write_text(model_card(results))
    return results


def _measure(student: Classifier, options: PackageOptions) -> dict[str, Any]:
    teacher = Classifier.load(options.teacher) if options.teacher else None
    sets: dict[str, Any] = {}
    for data in options.eval_data:
        entry = {"file": str(data), "student": scores(student.predict_proba, student.labels, data)}
        entry["vader"] = scores(vader_predict, VADER_LABELS, data)
        if teacher is not None:
            entry["teacher"] = scores(teacher.predict_proba, teacher.labels, data)
        sets[file_name(data)] = entry
    speed: dict[str, Any] = {}
    if options.speed_texts:
        texts = list(options.speed_texts)
        speed = {"tweets": len(texts), "student": tweets_per_second(student.predict_proba, texts)}
        speed["vader"] = tweets_per_second(vader_predict, texts)
        if teacher is not None:
            few = texts[: max(1000, len(texts) // 20)]  # the teacher is slow: a share of the texts
            speed["teacher"] = tweets_per_second(teacher.predict_proba, few, warmup=50)
            speed["teacher_tweets"] = len(few)
        speed["machine"] = f"{platform.machine()}, {platform.processor() or platform.system()}"
    config = json.loads((student.model_dir / "config.json").read_text()) if student.model_dir else {}
    return {
        "model": student.name,
        "labels": student.labels.to_list(),
        "teacher": str(options.teacher) if options.teacher else None,
        "half": options.half,
        "vocab_size": config.get("vocab_size"),
        "command": options.command,
        "sets": sets,
        "speed": speed,
    }


def model_card(results: dict[str, Any]) -> str:
    """The card: what the model is, what it learned from, its figures and their commands, its speed, its limits."""
    lines = [
        "# tweetsent's packaged model",
        "",
        f"A three-class tweet sentiment classifier ({', '.join(results['labels'])}): the `{results['model']}` "
        f"model ({STUDENTS.get(results['model'], 'a tweetsent model')}), distilled from a fine-tuned MiniLM-L6 "
        'teacher. It is what `tweetsent.load()`, `tweetsent predict "text"` and `tweetsent serve` use when no run '
        "folder is given.",
        "",
        "## Data and licence",
        "",
        *_data_lines(results.get("data") or {}),
        "- The data's own terms apply (SemEval task data: research use; Sentiment140: academic use, citing Go et "
        "al. 2009); tweet text is subject to Twitter's terms. The code is MIT-licensed.",
        "",
        "## Recipe",
        "",
        "```",
        results.get("command") or "make model",
        "```",
        "",
        "The teacher is MiniLM-L6 (all-MiniLM-L6-v2) fine-tuned on the hand labels with balanced class weights, "
        "its class priors then corrected (`tweetsent calibrate`: log-offsets with the best macro-F1 on a held-out "
        "tenth of the hand labels); the student trains on the teacher's corrected probabilities over the "
        "unlabelled sample plus the hand labels (one-hot), balanced class weights, checkpoint chosen by "
        "validation loss on the same held-out tenth. Nothing is chosen on a test set.",
        "",
        "## Figures",
        "",
        "Macro-F1 over the three classes (accuracy in brackets); Sanders without its `irrelevant` tweets.",
        "",
        "| test set | tweets | this model | teacher | VADER |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, entry in results["sets"].items():
        cells = [_cell(entry.get(k)) for k in ("student", "teacher", "vader")]
        lines.append(f"| {name} | {entry['student']['n']:,} | {' | '.join(cells)} |")
    lines += ["", "Each figure of this model comes from `tweetsent evaluate --data FILE` (no run folder: this model)."]
    lines += _speed_lines(results.get("speed") or {})
    lines += [
        "",
        "## Limits",
        "",
        "- English tweets of 2009-2016; the SemEval texts lost their non-ASCII characters, so emoji are learned "
        "from the unlabelled sample only.",
        "- No recurrence: word order counts only within a few neighbouring words, so long-range negation and "
        "sarcasm are often missed.",
        "- Tweets about one topic (Sanders: four tech companies) score lower than general tweets.",
        "",
    ]
    return "\n".join(lines)


def _speed_lines(speed: dict[str, Any]) -> list[str]:
    if not speed:
        return []
    ratio = speed["student"] / speed["vader"]
    teacher = (
        f", the teacher {speed['teacher']:,.0f} on {speed['teacher_tweets']:,} of them "
        f"({speed['student'] / speed['teacher']:,.0f}x the teacher)."
        if "teacher" in speed
        else "."
    )
    return [
        "",
        "## Speed",
        "",
        f"Raw tweets to probabilities in one process, {speed['tweets']:,} Sentiment140 tweets after a warm-up, "
        f"best of 3 ({speed.get('machine', '')}): this model {speed['student']:,.0f} tweets/s, VADER "
        f"{speed['vader']:,.0f} ({ratio:.2f}x VADER){teacher}",
        "`python bench/packaged_speed.py` measures it again.",
    ]


def _data_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    if data.get("files"):
        names = ", ".join(f"`{Path(f).name}`" for f in data["files"])
        lines.append(
            f"- Hand labels: {data.get('tweets', 0):,} distinct tweets of {names}; tweets also in a test file left "
            "out, duplicates kept once, ids given different labels dropped."
        )
    soft = data.get("soft_labelled")
    if soft:
        names = ", ".join(f"`{Path(f).name}`" for f in soft.get("unlabelled", []))
        lines.append(
            f"- Unlabelled tweets: {soft['tweets']:,} drawn (seeded) from {names}, labelled by the teacher's "
            "probabilities (any labels those files carry are not used)."
        )
    return lines


def _run_data(run: Path) -> dict[str, Any]:
    """What a run folder says it learned from: its training files and the teacher-labelled tweets."""
    try:
        summary = RunFolder(run).read_summary()
    except UserError:  # a model folder, or a run without a readable summary: nothing to say
        return {}
    files = summary.get("training_files") or {}
    return {
        "files": [f["file"] for f in files.get("files", [])],
        "tweets": files.get("tweets"),
        "soft_labelled": summary.get("soft_labelled"),
    }


def _cell(m: dict[str, Any] | None) -> str:
    return "—" if m is None else f"{m['macro_f1']:.3f} ({m['accuracy']:.1%})"
