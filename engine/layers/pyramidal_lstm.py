"""The pyramidal bidirectional LSTM of Listen, Attend and Spell (Chan et al. 2016).

Each layer concatenates pairs of neighbouring frames (halving the time steps) and runs a BLSTM over
them, so L layers give 2**L fewer steps for the attention to read: (B, T, in) -> (B, ceil(T / 2**L),
2 * hidden). Padded steps are skipped (packed sequences), so an utterance encodes the same alone or in
a padded batch.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.masks import sequence_mask
from engine.layers.rnn import run_packed


def halve_time(x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, C) -> (B, ceil(T / 2), 2C) by concatenating frames 2t and 2t+1 (an odd end is padded
    with zeros, and so is a padded item's odd end); lengths -> ceil(lengths / 2)."""
    B, T, C = x.shape
    x = x * sequence_mask(lengths.to(x.device), T).to(x.dtype)[:, :, None]
    if T % 2:
        x = torch.cat([x, x.new_zeros(B, 1, C)], dim=1)
        T += 1
    return x.reshape(B, T // 2, 2 * C), (lengths + 1) // 2


class PyramidalBLSTM(nn.Module):
    """(B, T, in_dim) + lengths (B,) -> (B, T', 2 * hidden) + lengths', T' = ceil(T / 2**layers)."""

    def __init__(self, in_dim: int, hidden: int, layers: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = layers
        dims = [in_dim] + [2 * hidden] * layers
        self.rnns = nn.ModuleList(nn.LSTM(2 * d, hidden, batch_first=True, bidirectional=True) for d in dims[:-1])
        self.dropout = nn.Dropout(dropout)
        self.out_dim = 2 * hidden

    @property
    def reduction(self) -> int:
        """Input frames per output step (2 ** layers)."""
        return 2 ** self.layers

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i, rnn in enumerate(self.rnns):
            x, lengths = halve_time(x, lengths)
            x, _ = run_packed(rnn, x, lengths)
            if i < len(self.rnns) - 1:
                x = self.dropout(x)
        return x, lengths


def reduced_length(lengths: torch.Tensor, layers: int) -> torch.Tensor:
    """The output lengths of a pyramid of `layers` layers for input lengths."""
    for _ in range(layers):
        lengths = (lengths + 1) // 2
    return lengths
