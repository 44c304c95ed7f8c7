"""Reading tweets from user files: formats, header and column detection, label maps, drops, errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tweetsent.core.errors import UserError
from tweetsent.data.labelled import parse_label_map, read_tweets


def test_parse_label_map() -> None:
    assert parse_label_map("negative=0,neutral=1,positive=2") == {"0": "negative", "1": "neutral", "2": "positive"}
    assert parse_label_map("negative=0, negative=-1 ,Happy=YES") == {"0": "negative", "-1": "negative", "yes": "Happy"}
    assert parse_label_map(None) is None
    for bad, message in [
        ("negative", "NAME=VALUE"),
        ("=1", "NAME=VALUE"),
        ("negative=1,positive=1", "both negative and positive"),
        ("negative=", "NAME=VALUE"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_label_map(bad)


def test_tsv_without_header_finds_columns_by_content(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text('1\tpositive\tgreat "day\n2\tNeutral\ton my way\n3\tnegative\tugh\n4\tmixed\thm\n')
    rows = read_tweets(path, with_labels=True)
    assert rows.texts == ['great "day', "on my way", "ugh", "hm"]  # an unbalanced quote is text in TSV
    assert rows.labels == ["positive", "Neutral", "negative", "mixed"]  # as written
    assert (rows.text_column, rows.label_column) == ("2", "1")
    mapped = read_tweets(path, with_labels=True, label_map={"positive": "pos", "neutral": "neu", "negative": "neg"})
    assert mapped.labels == ["pos", "neu", "neg"] and mapped.rows_read == 4
    assert mapped.dropped == {"label 'mixed' not in the label map": 1}


def test_csv_with_header_and_label_map(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('score,id,message\n4,1,"nice, really"\n0,2,bad\n2,3,"line one\nline two"\n7,4,odd\n')
    rows = read_tweets(path, label_column="score", label_map=parse_label_map("negative=0,neutral=2,positive=4"))
    assert rows.texts == ["nice, really", "bad", "line one\nline two", "odd"]
    assert rows.labels is None and rows.dropped == {}  # texts only unless labels are asked for
    rows = read_tweets(
        path, with_labels=True, label_column="score", label_map=parse_label_map("negative=0,neutral=2,positive=4")
    )
    assert rows.texts == ["nice, really", "bad", "line one\nline two"]
    assert rows.labels == ["positive", "negative", "neutral"]
    assert rows.text_column == "message" and rows.dropped == {"label '7' not in the label map": 1}


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    records = [{"tweet": "yay", "y": 2}, {"tweet": "boo", "y": 0}, {"tweet": None, "y": 1}, {"tweet": "so so", "y": 1}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    rows = read_tweets(
        path, with_labels=True, label_column="y", label_map=parse_label_map("negative=0,neutral=1,positive=2")
    )
    assert rows.texts == ["yay", "boo", "so so"]
    assert rows.labels == ["positive", "negative", "neutral"] and rows.dropped == {"text missing or not a string": 1}


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        ("a.jsonl", '{"text": "x", "label": "positive"}\n[1]\n', {"with_labels": True}, "a.jsonl:2: expected a JSON"),
        ("a.jsonl", '{"text": "x"}\n{oops\n', {}, "a.jsonl:2: not valid JSON"),
        ("a.csv", "text,label\nhi,positive\n", {"text_column": "body"}, "no column 'body'"),
        (
            "a.csv",
            "text,label\nhi,1\nho,0\n",
            {"with_labels": True, "label_map": {"4": "positive"}},
            "no row has a label in the label map",
        ),
        ("a.csv", "", {}, "empty input"),
        ("a.txt", "hello\n", {"with_labels": True}, "plain lines have no labels"),
        ("a.csv", "a,b,c\n" + "1,2\n" * 30 + "1,2,3\n", {}, "a.csv:2: expected 3 CSV columns"),
    ],
)
def test_errors_name_the_file(tmp_path: Path, name: str, content: str, kwargs: dict, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError) as info:
        read_tweets(path, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_latin1_on_request_and_crlf(tmp_path: Path) -> None:
    from tweetsent.data.labelled import ReadOptions

    path = tmp_path / "x.txt"
    path.write_bytes("caf\xe9 time\r\nna\xefve\r\n".encode("latin-1"))
    assert read_tweets(path, read=ReadOptions(encoding="latin-1")).texts == ["café time", "naïve"]
    with pytest.raises(UserError, match=r"x.txt:1: byte 0xe9 is not UTF-8"):  # never guessed: it names the line
        read_tweets(path)


@pytest.mark.parametrize(
    ("path", "counts"),
    [
        ("semeval2016_task4a/train.tsv", {"negative": 781, "neutral": 1874, "positive": 2805}),
        (
            "sanders_twitter_corpus/full-corpus.csv",
            {"negative": 572, "neutral": 2336, "positive": 521, "irrelevant": 1693},
        ),
    ],
)
def test_real_labelled_sets(shared_data_dir: Path, path: str, counts: dict[str, int]) -> None:
    """The counts SOURCES.md gives for these files, labels as written."""
    rows = read_tweets(shared_data_dir / path, with_labels=True)
    assert Counter(rows.labels) == counts
    assert rows.dropped == {} and rows.rows_read == sum(counts.values())
