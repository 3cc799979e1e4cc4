"""Text front end: normalisation, cleaning, sentence splitting and symbol sets."""

from engine.text.cleaners import english_cleaners
from engine.text.normalize import normalize_text
from engine.text.sentences import split_sentences
from engine.text.symbols import SymbolSet

__all__ = ["SymbolSet", "normalize_text", "english_cleaners", "split_sentences"]
