"""Tacotron 2 encoder: a conv stack followed by a bidirectional LSTM."""

from __future__ import annotations

import torch
from torch import nn
from engine.layers.conv import BatchNormConv1d
from engine.layers.masks import time_mask
from engine.layers.rnn import run_packed


class ConvEncoder(nn.Module):
    """(B, T, in_dim) -> (B, T, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int = 256, n_convs: int = 3, kernel: int = 5,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.convs = nn.Sequential(*[
            BatchNormConv1d(in_dim if i == 0 else out_dim, out_dim, kernel, dropout=dropout)
            for i in range(n_convs)
        ])
        self.lstm = nn.LSTM(out_dim, out_dim // 2, batch_first=True, bidirectional=True)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        y = x.transpose(1, 2)
        mask = time_mask(lengths, x.shape[1], x)
        for conv in self.convs:
            y = conv(y if mask is None else y * mask)
        return run_packed(self.lstm, y.transpose(1, 2), lengths)[0]
