"""Tacotron 2 encoder: a conv stack followed by a bidirectional LSTM."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from engine.layers.conv import BatchNormConv1d


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
        T = x.shape[1]
        y = x.transpose(1, 2)
        if lengths is None:
            y = self.convs(y)
        else:
            mask = (torch.arange(T, device=x.device)[None, :] < lengths.to(x.device)[:, None]).to(x.dtype)[:, None, :]
            for conv in self.convs:
                y = conv(y * mask)
        y = y.transpose(1, 2)
        if lengths is not None:
            packed = pack_padded_sequence(y, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
            return out
        out, _ = self.lstm(y)
        return out
