"""Cleaners: normalised text reduced to the character domain the symbol sets understand.

The domain is lowercase ``a``-``z``, space and the punctuation ``!'(),.:;?-``. Text that has
nothing speakable left, or is mostly made of characters that cannot be spoken (CJK, emoji, ...),
is refused with :class:`engine.errors.BadInput`.
"""

from __future__ import annotations

import re
import string

from engine.errors import BadInput
from engine.text.normalize import KNOWN_NON_ASCII, fold_ascii, normalize_text

__all__ = ["english_cleaners", "PUNCTUATION", "LETTERS", "ALLOWED_CHARS", "unknown_characters"]

#: Punctuation kept in cleaned text (and given symbols of its own).
PUNCTUATION: str = "!'(),.:;?-"
#: Letters kept in cleaned text.
LETTERS: str = string.ascii_lowercase
#: Every character cleaned text may contain.
ALLOWED_CHARS: frozenset[str] = frozenset(" " + PUNCTUATION + LETTERS)

# ASCII characters outside the domain mapped to something inside it (the rest are dropped).
_ASCII_MAP = str.maketrans({
    "[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")",
    "/": " ", "\\": " ", "_": " ", "|": " ", "\t": " ", "\n": " ", "\r": " ",
    "+": " plus ", "=": " equals ", "@": " at ",
})

_MAX_NAMED = 5


def unknown_characters(text: str) -> list[str]:
    """Characters of ``text`` that cannot be spoken even after ASCII folding, in order, with repeats."""
    return [c for c in fold_ascii(text)
            if ord(c) > 127 and not c.isspace() and c not in KNOWN_NON_ASCII]


def _describe(chars: list[str]) -> str:
    distinct = list(dict.fromkeys(chars))
    named = ", ".join(repr(c) for c in distinct[:_MAX_NAMED])
    more = f" and {len(distinct) - _MAX_NAMED} more" if len(distinct) > _MAX_NAMED else ""
    return named + more


def _preview(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def english_cleaners(text: str) -> str:
    """Normalise, lowercase and strip ``text`` to the symbol sets' character domain.

    Raises :class:`~engine.errors.BadInput` when the text is empty, has nothing speakable left,
    or more than half of its non-space characters cannot be spoken.
    """
    if not text or not text.strip():
        raise BadInput("text is empty: type some English text to speak")
    unknown = unknown_characters(text)
    visible = sum(1 for c in fold_ascii(text) if not c.isspace())
    if unknown and len(unknown) * 2 > visible:
        raise BadInput(f"text cannot be spoken: {len(unknown)} of its {visible} characters "
                       f"are not English ({_describe(unknown)}); please use English text")

    cleaned = normalize_text(text).lower().translate(_ASCII_MAP)
    cleaned = "".join(c for c in cleaned if c in ALLOWED_CHARS)
    cleaned = re.sub(r"\s+", " ", cleaned)
    cleaned = re.sub(r" ([,.;:!?)])", r"\1", cleaned)
    cleaned = cleaned.replace("( ", "(").strip()

    if not any(c in LETTERS for c in cleaned):
        if unknown:
            raise BadInput(f"text has nothing speakable left after dropping "
                           f"{_describe(unknown)}; please use English text")
        raise BadInput(f"text has nothing to speak ({_preview(text)!r}); please use English words")
    return cleaned
