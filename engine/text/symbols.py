"""Symbol sets: the mapping between cleaned text and the integer ids a model reads.

Two sets exist:

``chars``
    pad ``_`` (id 0), eos ``~`` (id 1), space, the punctuation ``!'(),.:;?-`` and ``a``-``z``.
``arpabet``
    pad, eos, space, punctuation, the 39 ARPAbet phonemes as ``@AH0``-style symbols (vowels with
    stress digits 0/1/2) and the letters ``a``-``z`` for words cmudict does not know.

A model stores its set with :meth:`SymbolSet.to_dict` in ``config.json`` and gets the exact same
id mapping back with :meth:`SymbolSet.from_dict`.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from engine.text.cleaners import LETTERS, PUNCTUATION, english_cleaners
from engine.text.pronounce import ARPABET, lookup

__all__ = ["SymbolSet", "PAD", "EOS", "PHONEME_PREFIX", "SYMBOL_SET_NAMES"]

PAD: str = "_"
EOS: str = "~"
#: Prefix that marks a phoneme symbol (``"@AH0"``), keeping it distinct from letters.
PHONEME_PREFIX: str = "@"
SYMBOL_SET_NAMES: tuple[str, ...] = ("chars", "arpabet")

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def _default_symbols(name: str) -> list[str]:
    base = [PAD, EOS, " ", *PUNCTUATION]
    if name == "chars":
        return base + list(LETTERS)
    if name == "arpabet":
        return base + [PHONEME_PREFIX + p for p in ARPABET] + list(LETTERS)
    raise ValueError(f"unknown symbol set {name!r}; choose one of {', '.join(SYMBOL_SET_NAMES)}")


class SymbolSet:
    """An ordered list of symbols with text encoding for one of :data:`SYMBOL_SET_NAMES`."""

    def __init__(self, name: str, symbols: Iterable[str]) -> None:
        """Build a set from its ``name`` (which picks the encoding) and its ordered ``symbols``.

        Raises ``ValueError`` for an unknown name, duplicate or non-string symbols, or a list
        without the pad and eos symbols at ids 0 and 1.
        """
        if name not in SYMBOL_SET_NAMES:
            raise ValueError(f"unknown symbol set {name!r}; choose one of "
                             f"{', '.join(SYMBOL_SET_NAMES)}")
        syms = list(symbols)
        if not all(isinstance(s, str) and s for s in syms):
            raise ValueError("symbols must be non-empty strings")
        if len(set(syms)) != len(syms):
            raise ValueError("symbol list has duplicates")
        if syms[:2] != [PAD, EOS]:
            raise ValueError(f"symbol list must start with pad {PAD!r} and eos {EOS!r}")
        self._name = name
        self._symbols: tuple[str, ...] = tuple(syms)
        self._ids: dict[str, int] = {s: i for i, s in enumerate(syms)}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str) -> "SymbolSet":
        """The standard set called ``name`` (``"chars"`` or ``"arpabet"``)."""
        return cls(name, _default_symbols(name))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SymbolSet":
        """Rebuild a set saved by :meth:`to_dict`, with exactly the stored id mapping."""
        try:
            name, symbols = d["name"], d["symbols"]
        except (KeyError, TypeError) as e:
            raise ValueError(f"symbol set description needs 'name' and 'symbols': {d!r}") from e
        if not isinstance(symbols, list):
            raise ValueError("symbol set 'symbols' must be a list")
        return cls(name, symbols)

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., "symbols": [...]}``, JSON-ready, for a model's ``config.json``."""
        return {"name": self._name, "symbols": list(self._symbols)}

    # -- properties ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``"chars"`` or ``"arpabet"``."""
        return self._name

    @property
    def symbols(self) -> tuple[str, ...]:
        """All symbols in id order."""
        return self._symbols

    @property
    def pad_id(self) -> int:
        """Id of the padding symbol (0)."""
        return self._ids[PAD]

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence symbol (1), appended by :meth:`encode`."""
        return self._ids[EOS]

    def __len__(self) -> int:
        return len(self._symbols)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SymbolSet):
            return NotImplemented
        return self._name == other._name and self._symbols == other._symbols

    def __hash__(self) -> int:
        return hash((self._name, self._symbols))

    def __repr__(self) -> str:
        return f"SymbolSet({self._name!r}, {len(self)} symbols)"

    # -- encoding -----------------------------------------------------------------------------

    def _to_symbols(self, text: str) -> list[str]:
        """Cleaned ``text`` as symbol strings, eos last (symbols missing from the set are skipped)."""
        cleaned = english_cleaners(text)
        if self._name == "arpabet":
            out: list[str] = []
            pos = 0
            for m in _WORD.finditer(cleaned):
                out.extend(cleaned[pos:m.start()])
                phones = lookup(m.group())
                if phones is None:
                    out.extend(c for c in m.group() if c != "'")  # letter fallback
                else:
                    out.extend(PHONEME_PREFIX + p for p in phones)
                pos = m.end()
            out.extend(cleaned[pos:])
        else:
            out = list(cleaned)
        out = [s for s in out if s in self._ids]
        out.append(EOS)
        return out

    def encode(self, text: str) -> list[int]:
        """Clean ``text`` and map it to ids, eos last.

        For ``arpabet`` each word is looked up in cmudict (first pronunciation); unknown words are
        spelled with letter symbols. Raises :class:`~engine.errors.BadInput` for empty or
        unspeakable text.
        """
        return [self._ids[s] for s in self._to_symbols(text)]

    def tokens(self, text: str) -> list[str]:
        """Display strings of the symbols :meth:`encode` produces (same length), e.g. for the
        attention plot's axis: phonemes without their ``@`` prefix (``"AH0"``), eos as ``"~"``."""
        return [self.display(s) for s in self._to_symbols(text)]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The symbols for ``ids`` as stored in the set (phonemes keep their ``@`` prefix).

        Raises ``ValueError`` for an id outside the set.
        """
        out: list[str] = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._symbols):
                raise ValueError(f"symbol id {i} is outside this {len(self)}-symbol set")
            out.append(self._symbols[i])
        return out

    @staticmethod
    def display(symbol: str) -> str:
        """Human-readable form of one symbol (``"@AH0"`` -> ``"AH0"``)."""
        return symbol[len(PHONEME_PREFIX):] if symbol.startswith(PHONEME_PREFIX) else symbol
