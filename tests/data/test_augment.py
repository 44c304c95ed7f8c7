"""Perturbed copies of training tweets for distillation: seeded, distinct, made of the corpus' words, never longer
than their tweet."""

from __future__ import annotations

from tweetsent.data.augment import augmented

TEXTS = [
    "I love this new phone so much , best purchase ever",
    "the game tonight was a total disaster for the home team",
    "meeting moved to friday at 3pm",
    "meh",
]


def test_copies_are_seeded() -> None:
    assert augmented(TEXTS, 3, seed=0) == augmented(TEXTS, 3, seed=0)
    assert augmented(TEXTS, 3, seed=0) != augmented(TEXTS, 3, seed=1)


def test_copies_are_distinct_new_and_made_of_the_corpus_words() -> None:
    copies = augmented(TEXTS, 5, seed=0)
    corpus = {w for t in TEXTS for w in t.split()}
    assert 0 < len(copies) <= 5 * len(TEXTS)
    assert len(set(copies)) == len(copies)
    assert not set(copies) & set(TEXTS)
    assert all(c and set(c.split()) <= corpus for c in copies)
    assert max(len(c.split()) for c in copies) <= max(len(t.split()) for t in TEXTS)


def test_copies_follow_their_tweet_in_order() -> None:
    copies = augmented(TEXTS[:2], 4, seed=3)
    first = {w for w in TEXTS[0].split()}
    # Most of a copy's words are its own tweet's: the first tweet's copies come first.
    owners = [len(set(c.split()) & first) > len(c.split()) / 2 for c in copies]
    assert owners == sorted(owners, reverse=True) and owners[0] and not owners[-1]


def test_no_copies() -> None:
    assert augmented(TEXTS, 0) == [] and augmented([], 3) == [] and augmented([""], 3) == []
