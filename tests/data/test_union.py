"""Training data from several files: SemEval's layout and its traps, duplicates and conflicting labels across files,
label names matched by name, tweets of a test file left out, and every count recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweetsent.core.errors import UserError
from tweetsent.data.dataset import DataConfig, load_dataset
from tweetsent.data.labelled import ReadOptions, read_labelled_file
from tweetsent.data.union import read_training_files

# The shapes of SemEval 2013-2016's files: id<TAB>label<TAB>text, texts wrapped in quotes with inner quotes doubled
# (or a quote opened and never closed), literal \\u escapes, an empty fourth field (2016 test), and one record whose
# text holds a raw line break.
SEMEVAL_2013 = (
    '100001\tpositive\t"Good morning Thursday. \\"""Life is fragile.\\""" It\\u2019s Tim Cook"\n'
    "100002\tneutral\tOrder Go Set a Watchman in store &amp; online\n"
    '100003\tnegative\t"If these renovations prevent me from seeing Taylor Swift, Bad Blood\n'
    "100004\tnegative\tmy phone died again and again\n"
    "100005\tpositive\tlove this so much\n"
)
SEMEVAL_2016 = (
    "200001\tneutral\t\" @SkyNews: Kanye West: 'I've decided to run for president - based on history!\n"
    '"\t\n'
    "200002\tpositive\tgreat game tonight\t\n"
    "100004\tnegative\tmy phone died again and again\t\n"  # a duplicate of a 2013 tweet (same id, same label)
    "100005\tnegative\tlove this so much\t\n"  # the same id with another label: dropped in both files
    "200003\tneutral\tthe bus was on time\t\n"
    "200004\tpositive\tsunny and warm today\t\n"
)


@pytest.fixture
def semeval(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "twitter-2013train-A.txt", tmp_path / "twitter-2016test-A.txt"
    a.write_text(SEMEVAL_2013)
    b.write_text(SEMEVAL_2016)
    return a, b


def test_semeval_traps_read_one_record_a_line(semeval: tuple[Path, Path]) -> None:
    a, b = semeval
    rows = read_labelled_file(a, ReadOptions(), None)
    assert rows.ids == ["100001", "100002", "100003", "100004", "100005"]
    assert rows.texts[0] == 'Good morning Thursday. "Life is fragile." It\u2019s Tim Cook'
    assert rows.texts[2] == "If these renovations prevent me from seeing Taylor Swift, Bad Blood"  # quote never closed
    assert rows.repaired == {"quotes or escapes decoded": 2}
    rows = read_labelled_file(b, ReadOptions(), None)
    assert len(rows) == 6 and rows.labels is not None and rows.labels[0] == "neutral"
    assert rows.texts[0].startswith(" @SkyNews: Kanye West") and rows.texts[0].endswith("history! ")
    assert rows.repaired["record broken over two lines, rejoined"] == 1
    assert not rows.dropped


def test_union_counts_duplicates_and_conflicts(semeval: tuple[Path, Path]) -> None:
    rows, stats = read_training_files([str(p) for p in semeval], ReadOptions(), None)
    assert stats.duplicates == 1  # 100004 twice with one label
    assert (stats.conflicting_tweets, stats.conflicting_rows) == (1, 2)  # 100005 positive and negative
    assert stats.tweets == len(rows) == 11 - 1 - 2
    assert rows.ids is not None and "100005" not in rows.ids and rows.ids.count("100004") == 1
    assert [f["rows_read"] for f in stats.files] == [5, 6]
    assert rows.dropped == {"tweet given different labels": 2, "duplicate tweet": 1}


def test_without_ids_duplicates_are_the_same_text(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("label,text\npositive,Great day!\nnegative,awful\n")
    b = tmp_path / "b.csv"
    b.write_text("label,text\npositive,great   DAY!\nneutral,awful\npositive,fine\n")
    rows, stats = read_training_files([str(a), str(b)], ReadOptions(), None)
    assert (stats.duplicates, stats.conflicting_tweets) == (1, 1)
    assert rows.texts == ["Great day!", "fine"]


def test_labels_are_matched_by_name_across_files(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("label,text\nNegative,bad\nPositive,good\n")
    b = tmp_path / "b.csv"
    b.write_text("label,text\nneg,worse\nneu,table\npos,better\n")
    rows, _ = read_training_files([str(a), str(b)], ReadOptions(), None)
    assert rows.labels == ["Negative", "Positive", "Negative", "neu", "Positive"]  # the first spelling


def test_labels_that_cannot_be_matched_are_one_line(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("label,text\n0,bad\n1,meh\n2,good\n")
    b = tmp_path / "b.csv"
    b.write_text("label,text\nnegative,worse\nneutral,table\npositive,better\n")
    with pytest.raises(UserError, match=r"b\.csv: its labels .* match none of the other files'.*--label-map"):
        read_training_files([str(a), str(b)], ReadOptions(), None)


def test_dataset_of_several_files_leaves_test_tweets_out(semeval: tuple[Path, Path], tmp_path: Path) -> None:
    test = tmp_path / "test.tsv"
    test.write_text("200002\tpositive\tgreat game tonight\n300001\tnegative\tso sad\n300002\tneutral\ta chair\n")
    config = DataConfig(data=tuple(str(p) for p in semeval), test_data=(str(test),), val_fraction=0.25, min_count=1)
    dataset = load_dataset(config)
    files = dataset.stats["training_files"]
    assert files["in_test_files"] == 1 and files["tweets"] == 7
    assert len(dataset["train"]) + len(dataset["val"]) == 7
    assert "great game tonight" not in dataset["train"].texts.to_pylist() + dataset["val"].texts.to_pylist()
    assert dataset.name == tmp_path.name


def test_train_takes_repeated_data_and_globs(semeval: tuple[Path, Path], tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    import json

    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", "lstm", "--data", str(tmp_path / "twitter-*-A.txt"), "--val-fraction", "0.2", "--min-count", "1",
        "--max-steps", "2", "--batch-size", "4", "--precision", "32-true", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["data"] == [str(p.resolve()) for p in semeval]
    assert config["dataset"]["training_files"]["duplicates"] == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training_files"]["conflicting_rows"] == 2
    code, _, err = run_cli("train", "lstm", "--data", str(tmp_path / "nothing-*.txt"), "--out", str(tmp_path / "r2"))
    assert code == 2 and "no file matches" in err
