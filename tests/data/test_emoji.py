"""Emoji as words (`CleaningConfig(emoji_words=True)`, `--emoji-words`): each emoji, skin-toned and joined
sequences included, becomes its name's words apart from the text around it; texts without emoji are untouched;
the default still drops emoji as noise; a trained model records the setting and applies it when predicting."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

import tweetsent
from tests.conftest import NEG_WORDS, POS_WORDS, write_csv
from tweetsent.data.cleaning import CleaningConfig, clean_texts, emoji_to_words
from tweetsent.data.tokenizer import tokenize_one
from tweetsent.data.vocab import UNK_ID

Cli = Callable[..., tuple[int, str, str]]
WORDS = CleaningConfig(emoji_words=True)
TONES = ("\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff")
ZWJ = "\u200d"
FAMILY = f"👨{ZWJ}👩{ZWJ}👧"


def words(text: str, config: CleaningConfig = WORDS) -> list[str]:
    """The tokens of one text after cleaning."""
    return tokenize_one(clean_texts(pa.array([text]), config)[0].as_py())


def test_a_single_emoji_becomes_its_name() -> None:
    """😂 -> the words of its CLDR name, set apart by spaces."""
    assert emoji_to_words(pa.array(["😂"]))[0].as_py().split() == ["face", "with", "tears", "of", "joy"]
    assert words("so 😂") == ["so", "face", "with", "tears", "of", "joy"]
    assert words("I ❤️ it") == ["i", "red", "heart", "it"]  # the variation selector goes with the heart


@pytest.mark.parametrize("tone", TONES)
def test_skin_tones_are_dropped(tone: str) -> None:
    """👍 with any of the five skin tones is plain 'thumbs up': a tone says nothing about sentiment."""
    assert words(f"👍{tone}") == ["thumbs", "up"] == words("👍")


def test_a_zwj_sequence_is_one_name() -> None:
    """A family joined with zero-width joiners is one emoji (one name), not three people; with skin tones too."""
    joined = words(FAMILY)
    assert joined[0] == "family" and joined.count("man") == 1
    assert words("👨 👩 👧") == ["man", "woman", "girl"]  # the same people, not joined: three names
    assert joined != words("👨 👩 👧")
    assert ZWJ not in emoji_to_words(pa.array([FAMILY]))[0].as_py()
    assert words(f"👩{TONES[2]}{ZWJ}💻") == ["woman", "technologist"]


@pytest.mark.parametrize("text", ["good😂", "😂good", "so😂good"])
def test_an_emoji_glued_to_a_word_is_split_from_it(text: str) -> None:
    """The words around an emoji stay words of their own."""
    out = words(text)
    assert "good" in out and out[out.index("face") : out.index("face") + 5] == ["face", "with", "tears", "of", "joy"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain words",
        "Café ñandú 日本語 Ελληνικά",
        "a → b ≠ c",  # an arrow in the emoji hint's range that is not an emoji
        "<3 :) :-( ;D",
        "tabs\tand  double  spaces ",
        "&amp; #tag @user http://t.co/x",
        "#1 fan",
    ],
)
def test_text_without_emoji_is_unchanged(text: str) -> None:
    """emoji_to_words leaves a text without emoji exactly as it was."""
    assert emoji_to_words(pa.array([text, "😂"]))[0].as_py().encode() == text.encode()


def test_by_default_emoji_are_removed_as_noise() -> None:
    """emoji_words is off by default; an old config without the field reads as off; emoji are then noise."""
    assert CleaningConfig().emoji_words is False
    old = {k: v for k, v in CleaningConfig().to_dict().items() if k != "emoji_words"}
    assert CleaningConfig.from_dict(old) == CleaningConfig()
    assert words("so happy 😂", CleaningConfig()) == ["so", "happy"]
    assert words("good😂", CleaningConfig()) == ["good"]
    assert words(FAMILY, CleaningConfig()) == []
    assert words(f"👍{TONES[2]} ok", CleaningConfig()) == ["ok"]
    assert words("so happy 😂") != words("so happy 😂", CleaningConfig())


def emoji_rows(n: int, seed: int = 0) -> list[list[str]]:
    """(text, label) rows: positive tweets with 😂 or 👍 (some glued, some toned), negative ones with 😢."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 1
        text = " ".join(rng.choice(POS_WORDS if positive else NEG_WORDS) for _ in range(rng.randint(2, 5)))
        mark = rng.choice(["😂", f"👍{rng.choice(TONES)}"]) if positive else "😢"
        rows.append([text + mark if i % 3 == 0 else f"{text} {mark}", "positive" if positive else "negative"])
    return rows


@pytest.fixture
def emoji_run(run_cli: Cli, tmp_path: Path) -> Iterator[Path]:
    """A run trained a few steps with --emoji-words on tweets with emoji."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine's cores are shared: one thread is faster here, and the same maths
    data = write_csv(tmp_path / "emoji.csv", emoji_rows(80), header=["text", "label"])
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", "lstm", "--data", str(data), "--emoji-words", "--max-steps", "5", "--batch-size", "16",
        "--eval-every", "5", "--log-every", "5", "--precision", "32-true", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    yield out
    torch.set_num_threads(threads)


def test_the_setting_is_recorded_and_applied_when_predicting(emoji_run: Path, tmp_path: Path) -> None:
    """--emoji-words is saved in model/config.json's cleaning and the run's data settings; the loaded model
    encodes 😂 as the known words of its name (as if the words were typed), where the same model with the setting
    off sees one unknown token."""
    model_config = json.loads((emoji_run / "model" / "config.json").read_text())
    assert model_config["cleaning"]["emoji_words"] is True
    assert json.loads((emoji_run / "config.json").read_text())["data"]["cleaning"]["emoji_words"] is True

    classifier = tweetsent.load(emoji_run, device="cpu", precision="fp32", workers=1)
    artifact = classifier.predictor
    emoji = artifact.encode(["😂", f"👍{TONES[3]}"])
    typed = artifact.encode(["face with tears of joy", "thumbs up"])
    np.testing.assert_array_equal(emoji.ids, typed.ids)
    np.testing.assert_array_equal(emoji.offsets, typed.offsets)
    assert len(emoji.ids) == 7 and UNK_ID not in emoji.ids.tolist()
    np.testing.assert_array_equal(
        classifier.predict_proba(["😂"]), classifier.predict_proba(["face with tears of joy"])
    )

    off = tmp_path / "off"
    shutil.copytree(emoji_run / "model", off / "model")
    model_config["cleaning"]["emoji_words"] = False
    (off / "model" / "config.json").write_text(json.dumps(model_config))
    assert tweetsent.load(off, device="cpu").predictor.encode(["😂"]).ids.tolist() == [UNK_ID]
