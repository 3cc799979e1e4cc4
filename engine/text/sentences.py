"""Sentence splitting: long text into synthesis-sized pieces.

Splits at ``.``, ``!`` and ``?`` followed by whitespace or the end (not after abbreviations such
as "Dr." or "e.g.", initials, or inside decimals such as "3.5"), at blank lines, and then cuts any
piece longer than ``max_chars`` at commas/semicolons/colons, then at spaces.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# A period after these never ends a sentence.
_NEVER_END = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "vs", "e.g", "i.e", "cf", "approx", "fig",
})
# A period after these ends a sentence only when a capitalised word follows.
_END_IF_CAPITAL = frozenset({"etc", "jr", "sr", "inc", "ltd", "co", "al"})

_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|$)")
_CLAUSE = re.compile(r"(?<=[,;:])\s+")


def _is_boundary(text: str, m: re.Match[str]) -> bool:
    if not m.group().startswith(".") or len(m.group().rstrip("\"')]")) > 1:
        return True  # "!", "?", "..." always end a sentence
    before = text[: m.start()]
    word_m = re.search(r"(\S+)$", before)
    if not word_m:
        return True
    word = word_m.group(1).lstrip("\"'([").lower()
    if word in _NEVER_END:
        return False
    if re.fullmatch(r"[A-Z]", word_m.group(1).lstrip("\"'([")):  # an initial: "J. Smith"
        return False
    if word in _END_IF_CAPITAL:
        nxt = re.match(r"\s*[\"'(\[]*(\S)", text[m.end():])
        return nxt is None or nxt.group(1).isupper()
    return True


def _sentences(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _END.finditer(paragraph):
        if _is_boundary(paragraph, m):
            out.append(paragraph[start:m.end()].strip())
            start = m.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Join consecutive ``pieces`` with spaces into chunks of at most ``max_chars`` where possible."""
    out: list[str] = []
    cur = ""
    for piece in pieces:
        if cur and len(cur) + 1 + len(piece) <= max_chars:
            cur = f"{cur} {piece}"
        else:
            if cur:
                out.append(cur)
            cur = piece
    if cur:
        out.append(cur)
    return out


def _cut(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    out: list[str] = []
    for clause in _pack(_CLAUSE.split(sentence), max_chars):
        if len(clause) <= max_chars:
            out.append(clause)
            continue
        for chunk in _pack(clause.split(" "), max_chars):
            # a single word longer than max_chars is cut hard
            out.extend(chunk[i:i + max_chars] for i in range(0, len(chunk), max_chars))
    return out


def split_sentences(text: str, max_chars: int = 300) -> list[str]:
    """Split ``text`` into sentences of at most ``max_chars`` characters each.

    Whitespace inside a sentence is collapsed; blank lines also end a sentence. Returns ``[]``
    for empty text. Raises ``ValueError`` when ``max_chars`` is less than 1.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        for sentence in _sentences(paragraph):
            out.extend(_cut(sentence, max_chars))
    return out
