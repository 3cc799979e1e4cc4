"""The learned mel upsampler of a WaveNet vocoder: frame-rate conv, then repeat + smoothing conv stages
up to the sample rate."""

from __future__ import annotations

import torch
from torch import nn


class MelUpsampler(nn.Module):
    """(B, n_mels, T_frames) normalised log-mel -> (B, C, T_frames * hop) sample-rate conditioning.

    The frame conv sees `frame_kernel` frames (edge-replicated at the ends), so a window of frames
    with (frame_kernel // 2) margin frames on each side gives the same features as the whole
    utterance. Each stage repeats every step `scale` times and smooths with a depthwise conv of width
    2 * scale + 1 initialised to a moving average.
    """

    def __init__(self, n_mels: int, channels: int, frame_kernel: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.margin = frame_kernel // 2
        self.frame_conv = nn.Conv1d(n_mels, channels, frame_kernel)
        self.scales = tuple(int(s) for s in scales)
        self.smooth = nn.ModuleList()
        for s in self.scales:
            conv = nn.Conv1d(channels, channels, 2 * s + 1, groups=channels, bias=False)
            nn.init.constant_(conv.weight, 1.0 / (2 * s + 1))
            self.smooth.append(conv)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(mel, (self.margin, self.margin), mode="replicate") if self.margin else mel
        x = torch.tanh(self.frame_conv(x))
        for s, conv in zip(self.scales, self.smooth):
            x = torch.repeat_interleave(x, s, dim=-1)
            x = conv(nn.functional.pad(x, (s, s), mode="replicate"))
        return x
