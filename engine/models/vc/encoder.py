"""The converter's speech encoder: conv front end -> pyramidal BLSTM -> memory for the attention,
with a CTC phoneme head on the BLSTM output (text supervision).

Shapes: mels (B, n_mels, T) normalised source log-mel, lengths (B,) ->
memory (B, T_enc, encoder_dim), enc_lengths (B,), ctc log-probs (B, T_enc, n_classes) or None;
T_enc = ceil(T / 2**pyramid_layers).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.conv import BatchNormConv1d
from engine.layers.ctc_head import CTCHead
from engine.layers.masks import time_mask
from engine.layers.pyramidal_lstm import PyramidalBLSTM


class ConvFrontEnd(nn.Module):
    """(B, n_mels, T) -> (B, T, channels): 1-D convs (kernel 5) with batch norm and ReLU; padded
    frames are zeroed before each conv so they never leak into an utterance's edges."""

    def __init__(self, n_mels: int, channels: int, n_convs: int = 2, kernel: int = 5) -> None:
        super().__init__()
        dims = [n_mels] + [channels] * n_convs
        self.convs = nn.ModuleList(BatchNormConv1d(a, b, kernel) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, mels: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = mels
        mask = time_mask(lengths, x.shape[-1], x)
        for conv in self.convs:
            if mask is not None:
                x = x * mask
            x = conv(x)
        return x.transpose(1, 2)


class SpeechEncoder(nn.Module):
    def __init__(self, n_mels: int, channels: int, n_convs: int, hidden: int, layers: int, encoder_dim: int,
                 n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.frontend = ConvFrontEnd(n_mels, channels, n_convs)
        self.pyramid = PyramidalBLSTM(channels, hidden, layers, dropout)
        self.proj = nn.Linear(self.pyramid.out_dim, encoder_dim)
        self.ctc = CTCHead(self.pyramid.out_dim, n_classes, dropout) if n_classes > 1 else None

    def forward(self, mels: torch.Tensor, lengths: torch.Tensor, with_ctc: bool = True):
        x = self.frontend(mels, lengths)
        h, enc_lengths = self.pyramid(x, lengths)
        memory = torch.tanh(self.proj(h))
        log_probs = self.ctc(h) if (with_ctc and self.ctc is not None) else None
        return memory, enc_lengths, log_probs
