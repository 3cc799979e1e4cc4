"""Prenet: dense layers with ReLU and dropout, kept on at inference (Tacotron, Tacotron 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Prenet(nn.Module):
    """(…, in_dim) -> (…, sizes[-1]). Dropout is always on unless `always_dropout` is cleared
    (tests switch it off to compare incremental and full-sequence decoding)."""

    def __init__(self, in_dim: int, sizes: tuple[int, ...] = (256, 128), dropout: float = 0.5) -> None:
        super().__init__()
        dims = [in_dim, *sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout
        self.always_dropout = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        apply = self.training or self.always_dropout
        for layer in self.layers:
            x = F.dropout(F.relu(layer(x)), p=self.dropout, training=apply)
        return x
