from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from tweetsent.data.cleaning import CleaningConfig, clean_texts, has_link

ALL_OFF = CleaningConfig(
    html_unescape=False,
    drop_link_tweets=False,
    strip_urls=False,
    strip_hash=False,
    mention_token=None,
    remove_noise_chars=False,
    lowercase=False,
)


def clean(text: str, **rules: object) -> str:
    config = dataclasses.replace(ALL_OFF, **rules)  # type: ignore[arg-type]
    return clean_texts(pa.array([text]), config)[0].as_py()


def test_all_rules_off_only_normalises_quotes() -> None:
    assert clean("Hi @Bob #Fun &amp; http://x.co ~|~ \u2019") == "Hi @Bob #Fun &amp; http://x.co ~|~ '"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("&quot;hi&quot; &amp; &lt;3", '"hi" & <3'), ("it&#39;s", "it's"), ("no entity & here", "no entity & here")],
)
def test_html_unescape(text: str, expected: str) -> None:
    assert clean(text, html_unescape=True) == expected


def test_hash_removed_word_kept() -> None:
    assert clean("love #kindle2 and # alone", strip_hash=True) == "love kindle2 and # alone"


def test_mentions_replaced_but_not_emails() -> None:
    assert clean("@bob_1 hi @Al, mail me@x.com", mention_token="someone") == "someone hi someone, mail me@x.com"


def test_mention_token_is_configurable() -> None:
    assert clean("@bob hi", mention_token="<user>") == "<user> hi"


def test_urls_removed() -> None:
    assert clean("see http://bit.ly/a1 and WWW.site.com/x now", strip_urls=True) == "see   and   now"


def test_noise_characters_removed_letters_and_emoticon_marks_kept() -> None:
    assert clean("caf\u00e9 ~so {good}~ :) <3 \u2603", remove_noise_chars=True) == "caf\u00e9  so  good   :) <3  "


def test_lowercase() -> None:
    assert clean("ÉCOLE Fun", lowercase=True) == "école fun"


def test_defaults_are_the_study_rules() -> None:
    out = clean_texts(pa.array(["@Jo I ♥ #Mondays http://x.co &amp; more"]), CleaningConfig())[0].as_py()
    assert out == "someone i   mondays   & more"


def test_link_rule_matches_the_spec() -> None:
    texts = pa.array(["a http://x", "b https://y", "c www.z.com", "d HTTP://caps", "e no link", "f http:/broken"])
    assert has_link(texts).tolist() == [True, True, True, False, False, False]


def test_null_text_is_empty() -> None:
    assert clean_texts(pa.array([None], type=pa.string()), CleaningConfig())[0].as_py() == ""
