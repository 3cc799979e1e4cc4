"""Tests for the text front end (engine.text)."""

from __future__ import annotations

import json

import pytest

from engine.errors import BadInput
from engine.text import SymbolSet, english_cleaners, normalize_text, split_sentences


@pytest.fixture(scope="module")
def chars() -> SymbolSet:
    return SymbolSet.create("chars")


@pytest.fixture(scope="module")
def arpabet() -> SymbolSet:
    return SymbolSet.create("arpabet")


# -- normalisation ---------------------------------------------------------------------------

def test_currency() -> None:
    out = normalize_text("$3.50")
    assert "three dollars" in out and "fifty cents" in out
    assert normalize_text("£2") == "two pounds"
    assert normalize_text("€1.01") == "one euro, one cent"
    assert normalize_text("$1") == "one dollar"
    assert normalize_text("$2 million") == "two million dollars"


def test_years_numbers_ordinals_percent() -> None:
    assert normalize_text("1999") == "nineteen ninety-nine"
    assert normalize_text("in 1999.") == "in nineteen ninety-nine."
    assert normalize_text("21st") == "twenty-first"
    assert normalize_text("1,234") == "one thousand two hundred and thirty-four"
    assert normalize_text("3.5") == "three point five"
    assert normalize_text("50%") == "fifty percent"
    assert normalize_text("the 1990s") == "the nineteen nineties"
    assert normalize_text("3000") == "three thousand"  # outside the year range


def test_abbreviations_and_whitespace() -> None:
    assert normalize_text("Dr.  Smith\n vs. Mr. Jones") == "doctor Smith versus mister Jones"
    assert normalize_text("apples, pears, etc.") == "apples, pears, et cetera."
    assert normalize_text("Hello, world!  How?") == "Hello, world! How?"


def test_cleaners_lowercase_and_domain() -> None:
    assert english_cleaners("Dr. Smith") == "doctor smith"
    assert english_cleaners("café") == "cafe"
    assert english_cleaners('Naïve "quotes" [x] 🙂!') == "naive quotes (x)!"


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="text is empty"):
        english_cleaners(text)


def test_unspeakable_text_is_bad_input(chars: SymbolSet) -> None:
    with pytest.raises(BadInput) as err:
        chars.encode("你好世界")
    msg = str(err.value)
    assert "\n" not in msg and "English" in msg and "你" in msg
    with pytest.raises(BadInput):
        english_cleaners("ok 你好世界")  # more than half unknown
    with pytest.raises(BadInput):
        english_cleaners("?!...")  # nothing speakable
    assert english_cleaners("hello 你") == "hello"  # a few unknown characters are dropped


# -- symbol sets -----------------------------------------------------------------------------

def test_chars_layout_and_round_trip(chars: SymbolSet) -> None:
    assert chars.name == "chars"
    assert (chars.pad_id, chars.eos_id) == (0, 1)
    assert chars.decode([0, 1]) == ["_", "~"]
    assert len(chars) == 3 + 10 + 26
    ids = chars.encode("Hello, world!")
    assert ids[-1] == chars.eos_id and chars.eos_id not in ids[:-1]
    assert "".join(chars.decode(ids[:-1])) == "hello, world!"
    assert len(chars.tokens("Hello, world!")) == len(ids)


def test_arpabet_hello_world(arpabet: SymbolSet) -> None:
    toks = arpabet.tokens("Hello world.")
    assert toks == ["HH", "AH0", "L", "OW1", " ", "W", "ER1", "L", "D", ".", "~"]
    ids = arpabet.encode("Hello world.")
    assert len(ids) == len(toks)
    assert ids[-1] == arpabet.eos_id
    assert arpabet.decode(ids[:4]) == ["@HH", "@AH0", "@L", "@OW1"]
    assert {"@AH0", "@AH1", "@AH2", "@ZH", "a", "z"} <= set(arpabet.symbols)


def test_arpabet_letter_fallback(arpabet: SymbolSet) -> None:
    toks = arpabet.tokens("zxqvy hello")
    assert toks[:5] == ["z", "x", "q", "v", "y"]
    assert toks[6:10] == ["HH", "AH0", "L", "OW1"]
    assert toks[-1] == "~"


def test_dict_round_trip(arpabet: SymbolSet, chars: SymbolSet) -> None:
    for sset in (arpabet, chars):
        d = json.loads(json.dumps(sset.to_dict()))
        back = SymbolSet.from_dict(d)
        assert back == sset and back.name == sset.name
        assert back.encode("Dr. Smith's 2 cats.") == sset.encode("Dr. Smith's 2 cats.")
    with pytest.raises(ValueError):
        SymbolSet.from_dict({"name": "chars", "symbols": ["a", "b"]})
    with pytest.raises(ValueError):
        SymbolSet.create("klingon")


# -- sentence splitting ----------------------------------------------------------------------

def test_split_abbreviations_and_decimals() -> None:
    text = "Dr. Smith met Mrs. Jones. It cost 3.5 dollars! Was it e.g. cheap? Yes"
    assert split_sentences(text) == [
        "Dr. Smith met Mrs. Jones.", "It cost 3.5 dollars!", "Was it e.g. cheap?", "Yes"]
    assert split_sentences("  ") == []


def test_split_long_sentences() -> None:
    long = "one two three, four five six; " * 20 + "and the end"
    parts = split_sentences(long, max_chars=40)
    assert all(len(p) <= 40 for p in parts)
    assert parts[0].endswith((",", ";"))  # cut at a clause boundary first
    assert " ".join(parts).split() == long.split()
    words = split_sentences("word " * 50, max_chars=12)
    assert all(len(p) <= 12 for p in words) and len(words) == 25
