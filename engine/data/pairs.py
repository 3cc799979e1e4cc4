"""Parallel utterances of two speakers (the same sentence said by both), for voice conversion."""

from __future__ import annotations

from typing import Iterable

from engine.data.utterance import Utterance
from engine.errors import BadInput


def speakers(utts: Iterable[Utterance]) -> list[str]:
    """The distinct speakers of a corpus, sorted."""
    return sorted({u.speaker for u in utts})


def parallel_pairs(
    utts: Iterable[Utterance], source_speaker: str, target_speaker: str
) -> list[tuple[Utterance, Utterance]]:
    """(source, target) utterances with the same id, sorted by id.

    A speaker absent from the corpus is BadInput; an id the other speaker lacks is left out. Where a
    speaker holds one id twice, the first occurrence is used.
    """
    utts = list(utts)
    known = speakers(utts)
    for name in (source_speaker, target_speaker):
        if name not in known:
            raise BadInput(f"speaker {name!r} is not in the corpus (speakers: {', '.join(known) or 'none'})")
    src: dict[str, Utterance] = {}
    tgt: dict[str, Utterance] = {}
    for u in utts:
        if u.speaker == source_speaker:
            src.setdefault(u.id, u)
        if u.speaker == target_speaker:
            tgt.setdefault(u.id, u)
    return [(src[i], tgt[i]) for i in sorted(src.keys() & tgt.keys())]
