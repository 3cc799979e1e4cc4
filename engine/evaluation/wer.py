"""Word error rate."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """Normalised words for scoring: numbers spelled out, lowercase, punctuation dropped."""
    from engine.text import normalize_text

    text = normalize_text(text).lower().replace("-", " ")
    return re.findall(r"[a-z']+", text)


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus WER: total word edits / total reference words."""
    errors = total = 0
    for r, h in zip(refs, hyps):
        rw, hw = words(r), words(h)
        errors += edit_distance(rw, hw)
        total += len(rw)
    return errors / max(total, 1)
