"""1-D convolution + batch norm + activation, the unit of the CBHG bank, the Tacotron 2 encoder
and the conv postnet."""

from __future__ import annotations

import torch
from torch import nn


class BatchNormConv1d(nn.Module):
    """(B, in_ch, T) -> (B, out_ch, T), 'same' padding (for even kernels the extra frame is cut)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, activation: str | None = "relu",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel, padding=kernel // 2, bias=False)
        self.norm = nn.BatchNorm1d(out_ch)
        self.activation = {"relu": nn.ReLU(), "tanh": nn.Tanh(), None: nn.Identity()}[activation]
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        y = self.conv(x)[..., :length]
        return self.dropout(self.activation(self.norm(y)))
