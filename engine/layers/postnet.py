"""Postnets that refine the decoder's mel: the Tacotron 2 conv stack or a CBHG."""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.cbhg import CBHG
from engine.layers.conv import BatchNormConv1d


class ConvPostnet(nn.Module):
    """(B, n_mels, T) -> (B, n_mels, T) residual: five 1-D convs with tanh (Tacotron 2)."""

    def __init__(self, n_mels: int, channels: int = 256, n_convs: int = 5, kernel: int = 5, dropout: float = 0.1) -> None:
        super().__init__()
        dims = [n_mels] + [channels] * (n_convs - 1) + [n_mels]
        layers = [BatchNormConv1d(a, b, kernel, activation="tanh" if i < n_convs - 1 else None, dropout=dropout)
                  for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))]
        self.net = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.net(mel)


class CBHGPostnet(nn.Module):
    """(B, n_mels, T) -> (B, n_mels, T) residual through a CBHG (Tacotron)."""

    def __init__(self, n_mels: int, K: int = 8, gru_dim: int = 128) -> None:
        super().__init__()
        self.cbhg = CBHG(n_mels, K=K, bank_channels=128, projections=(256, n_mels), n_highway=4, gru_dim=gru_dim)
        self.out = nn.Linear(self.cbhg.out_dim, n_mels)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.out(self.cbhg(mel.transpose(1, 2))).transpose(1, 2)
