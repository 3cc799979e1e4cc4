"""Text normalisation: turn written English into the words a speaker would say.

Numbers, ordinals, currency, years, decades, percentages, clock times and common abbreviations
are expanded into words (numbers through the maintained ``num2words`` library), accented letters
are folded to ASCII, and whitespace is collapsed. Sentence punctuation is kept. Characters that
cannot be folded (CJK, emoji, ...) are left in place: :mod:`engine.text.cleaners` decides what to
drop and when to refuse the text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from num2words import num2words

__all__ = ["normalize_text", "fold_ascii", "KNOWN_NON_ASCII"]

# Letters and typography that NFKD does not decompose into ASCII.
_FOLD_TABLE: dict[str, str] = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "Th", "ı": "i", "ħ": "h", "Ħ": "H",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‹": "'", "›": "'",
    "–": "-", "—": " - ", "―": " - ", "‐": "-", "‑": "-", "‒": "-", "−": "-",
    "…": "...", "•": " ", "·": " ", "\u00a0": " ", "\u200b": "",
    "¡": "", "¿": "",
}

#: Non-ASCII characters the normaliser understands (they are not "unknown" characters).
KNOWN_NON_ASCII: frozenset[str] = frozenset("£€")

_TRANSLATE = str.maketrans(_FOLD_TABLE)

_INT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"  # "1,234,567" or "1234567"
_SCALES = r"thousand|million|billion|trillion"

_CURRENCIES: dict[str, tuple[str, str, str, str]] = {
    # symbol: (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}


def fold_ascii(text: str) -> str:
    """Fold accented Latin letters and typographic punctuation to ASCII.

    ``"café"`` becomes ``"cafe"``, curly quotes become straight ones and dashes become hyphens.
    Characters with no ASCII form (CJK, emoji, ...) are kept unchanged.
    """
    text = text.translate(_TRANSLATE)
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        out.append(ch)
    # NFKD may itself produce typography from the table (e.g. from compatibility forms).
    return "".join(out).translate(_TRANSLATE)


def _cardinal(digits: str) -> str:
    """Words for an unsigned integer written with or without thousands commas."""
    digits = digits.replace(",", "")
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 15:
        return _spell_digits(digits)
    try:
        words = num2words(int(digits), lang="en")
    except (OverflowError, NotImplementedError, ValueError):
        return _spell_digits(digits)
    return words.replace(",", "")


def _spell_digits(digits: str) -> str:
    """Read a digit string one digit at a time: ``"007"`` -> ``"zero zero seven"``."""
    return " ".join(num2words(int(d), lang="en") for d in digits if d.isdigit())


def _decimal(int_part: str, frac: str) -> str:
    """``("3", "14")`` -> ``"three point one four"``."""
    head = _cardinal(int_part) if int_part else ""
    return f"{head} point {_spell_digits(frac)}".strip()


def _number(int_part: str, frac: str | None) -> str:
    return _decimal(int_part, frac) if frac else _cardinal(int_part)


def _plural(words: str) -> str:
    """Pluralise the last word of a number: ``"nineteen ninety"`` -> ``"nineteen nineties"``."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + "s"


def _currency(m: re.Match[str]) -> str:
    unit, units, sub, subs = _CURRENCIES[m["sym"]]
    int_part, frac, scale = m["int"], m["frac"], m["scale"]
    if scale:  # "$3.5 million" -> "three point five million dollars"
        return f" {_number(int_part, frac)} {scale.lower()} {units} "
    whole = int(int_part.replace(",", ""))
    if frac is not None and len(frac) > 2:  # "$0.005" -> "zero point zero zero five dollars"
        return f" {_decimal(int_part, frac)} {units} "
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts: list[str] = []
    if whole or not cents:
        parts.append(f"{_cardinal(int_part)} {unit if whole == 1 else units}")
    if cents:
        parts.append(f"{_cardinal(str(cents))} {sub if cents == 1 else subs}")
    return " " + ", ".join(parts) + " "


def _percent(m: re.Match[str]) -> str:
    return f" {_number(m['int'], m['frac'])} percent "


def _time(m: re.Match[str]) -> str:
    hours, minutes = int(m[1]), int(m[2])
    if hours > 24 or minutes > 59:
        return m[0]
    h = num2words(hours, lang="en")
    if minutes == 0:
        return f" {h} o'clock "
    if minutes < 10:
        return f" {h} oh {num2words(minutes, lang='en')} "
    return f" {h} {num2words(minutes, lang='en')} "


def _ordinal(m: re.Match[str]) -> str:
    value = int(m[1].replace(",", ""))
    return f" {num2words(value, lang='en', to='ordinal').replace(',', '')} "


def _year(m: re.Match[str]) -> str:
    return f" {num2words(int(m[1]), lang='en', to='year')} "


def _decade(m: re.Match[str]) -> str:
    return f" {_plural(num2words(int(m[1]), lang='en', to='year'))} "


def _short_decade(m: re.Match[str]) -> str:  # "'90s" -> "nineties"
    return f" {_plural(num2words(int(m[1]), lang='en'))} "


def _saint_or_street(m: re.Match[str]) -> str:
    before = m.string[: m.start()].rstrip()
    after = m.string[m.end():]
    prev_word = before.split()[-1] if before.split() else ""
    if prev_word[:1].isupper() and not re.search(r"[.!?]$", prev_word):
        return "street" + _keep_period(after)   # "Baker St."
    if re.match(r"\s+[A-Z]", after):
        return "saint"                           # "St. Louis"
    return "street" + _keep_period(after)


def _keep_period(after: str) -> str:
    """An abbreviation's period also ends the sentence when the text ends or a capital follows."""
    if not after.strip() or re.match(r"\s+[\"')\]]*[A-Z]", after):
        return "."
    return ""


def _sentence_abbrev(expansion: str) -> Callable[[re.Match[str]], str]:
    def repl(m: re.Match[str]) -> str:
        return expansion + _keep_period(m.string[m.end():])
    return repl


# (pattern, replacement) applied in order; titles never end a sentence.
_ABBREVIATIONS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"\bMrs\.", re.I), "missus"),
    (re.compile(r"\bMr\.", re.I), "mister"),
    (re.compile(r"\bMs\.", re.I), "miz"),
    (re.compile(r"\bDr\.", re.I), "doctor"),
    (re.compile(r"\bProf\.", re.I), "professor"),
    (re.compile(r"\b(?:Mrs)(?=\s+[A-Z])"), "missus"),
    (re.compile(r"\b(?:Mr)(?=\s+[A-Z])"), "mister"),
    (re.compile(r"\b(?:Dr)(?=\s+[A-Z])"), "doctor"),
    (re.compile(r"\bSt\.", re.I), _saint_or_street),
    (re.compile(r"\bJr\.", re.I), _sentence_abbrev("junior")),
    (re.compile(r"\bSr\.", re.I), _sentence_abbrev("senior")),
    (re.compile(r"\bMt\.", re.I), "mount"),
    (re.compile(r"\bvs\.?(?=\s)", re.I), "versus"),
    (re.compile(r"\betc\.", re.I), _sentence_abbrev("et cetera")),
    (re.compile(r"\be\.g\.", re.I), "for example"),
    (re.compile(r"\bi\.e\.", re.I), "that is"),
    (re.compile(r"\s&\s|&"), " and "),
]

_NUMBER_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(rf"(?P<sym>[$£€])\s?(?P<int>{_INT})(?:\.(?P<frac>\d+))?"
                rf"(?:\s+(?P<scale>{_SCALES})\b)?", re.I), _currency),
    (re.compile(rf"(?<![\d.])(?P<int>{_INT})(?:\.(?P<frac>\d+))?\s?%"), _percent),
    (re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])"), _time),
    (re.compile(rf"(?<![\d.])({_INT})(?:st|nd|rd|th)\b", re.I), _ordinal),
    (re.compile(r"(?<![\d,.])((?:1[1-9]|20)\d0)s\b"), _decade),
    (re.compile(r"'(\d0)s\b"), _short_decade),
    (re.compile(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(?![\d]|[.,]\d)"), _year),
    (re.compile(r"(?<![\w-])-(?=\.?\d)"), lambda m: " minus "),
    (re.compile(rf"(?<![\d.])({_INT})\.(\d+)"), lambda m: f" {_decimal(m[1], m[2])} "),
    (re.compile(r"(?<![\w.])\.(\d+)"), lambda m: f" {_decimal('', m[1])} "),
    (re.compile(_INT), lambda m: f" {_cardinal(m[0])} "),
]


def normalize_text(text: str) -> str:
    """Expand written English into speakable words, keeping sentence punctuation.

    >>> normalize_text("Dr. Smith paid $3.50 on the 21st, in 1999.")
    'doctor Smith paid three dollars, fifty cents on the twenty-first, in nineteen ninety-nine.'

    Case is preserved except in expansions (which are lowercase); characters with no ASCII form
    are left for the cleaners to judge.
    """
    text = fold_ascii(text)
    for pattern, repl in _ABBREVIATIONS:
        text = pattern.sub(repl, text)
    for pattern, repl in _NUMBER_RULES:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r" ([,.;:!?)])", r"\1", text)  # no space before punctuation from padded expansions
    text = text.replace("( ", "(")
    return text.strip()
