"""mu-law companding and quantisation (WaveNet's 8-bit output classes)."""

from __future__ import annotations

import math

import torch


def mulaw_encode(wav: torch.Tensor, quantization_channels: int = 256) -> torch.Tensor:
    """Waveform in [-1, 1] -> integer classes in [0, quantization_channels - 1] (long)."""
    mu = quantization_channels - 1
    wav = torch.clamp(torch.as_tensor(wav, dtype=torch.float32), -1.0, 1.0)
    companded = torch.sign(wav) * torch.log1p(mu * wav.abs()) / math.log1p(mu)
    return torch.round((companded + 1) / 2 * mu).long()


def mulaw_decode(classes: torch.Tensor, quantization_channels: int = 256) -> torch.Tensor:
    """Integer classes -> waveform in [-1, 1] (float32)."""
    mu = quantization_channels - 1
    companded = 2 * torch.as_tensor(classes).float() / mu - 1
    return torch.sign(companded) * (torch.pow(1.0 + mu, companded.abs()) - 1.0) / mu
