"""A CTC phoneme classifier on encoder outputs (text supervision of a speech encoder).

Classes: the CTC blank (id 0), then the ARPAbet phonemes of a symbol set without stress digits, then
its letters (cmudict's unknown words are spelled). `phoneme_targets` turns a sentence into class ids
(spaces and punctuation dropped), so the encoder learns what is said, not who says it.
Shapes: features (B, T, in_dim) -> log-probabilities (B, T, n_classes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.text import SymbolSet
from engine.text.symbols import PHONEME_PREFIX

BLANK = "<blank>"


def _class_name(symbol: str) -> str:
    """A symbol's CTC class: a phoneme without its prefix and stress digit (@AH0 -> AH), else itself."""
    return symbol[len(PHONEME_PREFIX):].rstrip("012") if symbol.startswith(PHONEME_PREFIX) else symbol


def phoneme_classes(symbols: SymbolSet) -> list[str]:
    """[BLANK, phonemes without stress (AA, AE, ...), letters] of a symbol set, in id order."""
    out = [BLANK]
    for s in symbols.symbols:
        name = _class_name(s)
        if (s.startswith(PHONEME_PREFIX) or (len(s) == 1 and s.isalpha())) and name not in out:
            out.append(name)
    return out


def phoneme_targets(symbols: SymbolSet, classes: list[str], text: str) -> list[int]:
    """Class ids of a sentence's phonemes (and spelled letters), blank-free."""
    index = {c: i for i, c in enumerate(classes) if c != BLANK}
    names = (_class_name(symbols.symbols[i]) for i in symbols.encode(text))
    return [index[n] for n in names if n in index]


class CTCHead(nn.Module):
    """(B, T, in_dim) -> log-probabilities (B, T, n_classes) (a dropout and one linear layer)."""

    def __init__(self, in_dim: int, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(in_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.proj(self.dropout(x)).float(), dim=-1)


def ctc_loss(log_probs: torch.Tensor, lengths: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
    """Mean CTC loss per target symbol; log_probs (B, T, C), lengths (B,), targets one 1-D tensor each.
    Impossible alignments (a target longer than its input) count as zero (zero_infinity)."""
    target_lengths = torch.tensor([len(t) for t in targets], device=log_probs.device)
    flat = torch.cat([t.to(log_probs.device) for t in targets]) if targets else log_probs.new_zeros(0, dtype=torch.long)
    return F.ctc_loss(log_probs.transpose(0, 1), flat, lengths.to(log_probs.device), target_lengths,
                      blank=0, reduction="mean", zero_infinity=True)


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Best path: argmax per step, repeats merged, blanks dropped -> class ids per item."""
    best = log_probs.argmax(dim=-1).cpu()
    out = []
    for b in range(best.shape[0]):
        seq, prev = [], -1
        for c in best[b, : int(lengths[b])].tolist():
            if c != prev and c != 0:
                seq.append(c)
            prev = c
        out.append(seq)
    return out
