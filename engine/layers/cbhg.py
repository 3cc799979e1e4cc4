"""CBHG: 1-D convolution bank + highway network + bidirectional GRU (Tacotron)."""

from __future__ import annotations

import torch
from torch import nn
from engine.layers.conv import BatchNormConv1d
from engine.layers.highway import Highway
from engine.layers.masks import time_mask
from engine.layers.rnn import run_packed


class CBHG(nn.Module):
    """(B, T, in_dim) -> (B, T, 2 * gru_dim).

    Conv bank of widths 1..K, max-pool (stride 1), two projection convs, a residual connection,
    highway layers and a BiGRU.
    """

    def __init__(self, in_dim: int, K: int = 16, bank_channels: int = 128,
                 projections: tuple[int, int] = (256, 128), n_highway: int = 4, gru_dim: int = 128) -> None:
        super().__init__()
        self.bank = nn.ModuleList(BatchNormConv1d(in_dim, bank_channels, k) for k in range(1, K + 1))
        self.pool = nn.MaxPool1d(2, stride=1, padding=1)
        self.proj1 = BatchNormConv1d(K * bank_channels, projections[0], 3)
        self.proj2 = BatchNormConv1d(projections[0], projections[1], 3, activation=None)
        self.pre_highway = nn.Linear(projections[1], gru_dim) if projections[1] != gru_dim else nn.Identity()
        self.residual = nn.Linear(in_dim, projections[1]) if in_dim != projections[1] else nn.Identity()
        self.highways = nn.Sequential(*[Highway(gru_dim) for _ in range(n_highway)])
        self.gru = nn.GRU(gru_dim, gru_dim, batch_first=True, bidirectional=True)
        self.out_dim = 2 * gru_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Padded positions (beyond `lengths`) are zeroed before every convolution, so a sentence
        gives the same output alone or in a padded batch."""
        T = x.shape[1]
        mask = time_mask(lengths, T, x)
        y = x.transpose(1, 2)
        if mask is not None:
            y = y * mask
        y = torch.cat([conv(y) for conv in self.bank], dim=1)
        if mask is not None:
            y = y * mask
        y = self.pool(y)[..., :T]
        if mask is not None:
            y = y * mask
        y = self.proj1(y)
        if mask is not None:
            y = y * mask
        y = self.proj2(y).transpose(1, 2)
        y = y + self.residual(x)
        y = self.highways(self.pre_highway(y))
        return run_packed(self.gru, y, lengths)[0]
