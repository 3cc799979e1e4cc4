"""The polisher's generator: a 2-D U-Net over the mel image that adds a correction to its input.

Shapes: mels (B, n_mels, T) normalised with the partner's per-band statistics and divided by
`cfg.input_scale` (about [-1, 1]); any T: the image is padded (replicating its edges) to a multiple
of 2^(levels-1) in both axes and cropped back. The output is input + correction, and the last
convolution starts at zero, so an untrained generator is the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.layers.unet_blocks import ConvBlock, Down, ResBlock, Up
from engine.models.polisher.config import PolisherConfig
from engine.models.polisher.envelope_split import apply_split, split_matrix
from engine.models.polisher.gv_compensation import apply_gv_scale


def band_coordinates(x: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, T) -> (B, 1, n_mels, T): each band's position, -1 (lowest) .. 1 (highest)."""
    B, n, T = x.shape
    coords = torch.linspace(-1.0, 1.0, n, device=x.device, dtype=x.dtype)
    return coords[None, None, :, None].expand(B, 1, n, T)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H', W') with H', W' multiples of `multiple` (edges replicated)."""
    H, W = x.shape[-2:]
    ph, pw = (-H) % multiple, (-W) % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


class UNetGenerator(nn.Module):
    """Mel polisher: scaled normalised mel (B, n_mels, T) -> polished, same shape."""

    def __init__(self, cfg: PolisherConfig) -> None:
        super().__init__()
        if len(cfg.channels) < 1:
            raise ValueError("PolisherConfig.channels needs at least one level")
        self.cfg = cfg
        chans = tuple(cfg.channels)
        self.inp = ConvBlock(1 + int(cfg.freq_coords), chans[0])
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(len(chans) - 1))
        self.bottleneck = nn.Sequential(*[ResBlock(chans[-1]) for _ in range(cfg.bottleneck_blocks)])
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i]) for i in reversed(range(len(chans) - 1)))
        self.out = nn.Conv2d(chans[0], 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) scaled normalised mel -> (B, n_mels, T) polished (same scale)."""
        B, n, T = x.shape
        h = x[:, None]
        if self.cfg.freq_coords:
            h = torch.cat([h, band_coordinates(x)], dim=1)
        h = pad_to_multiple(h, self.cfg.multiple)
        h = self.inp(h)
        skips = []
        for down in self.downs:
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h)
        for up in self.ups:
            h = up(h, skips.pop())
        corr = self.out(h)[:, 0, :n, :T]
        m = self.cfg.max_correction
        if m > 0:
            corr = m * torch.tanh(corr / m)
        return x + corr

    # ----- log-mel in, log-mel out (the partner's statistics live in the bundle) -------------------
    def to_input(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Denormalised log-mel (B, n_mels, T) -> scaled normalised (B, n_mels, T)."""
        if self.cfg.audio.normalization == "none":
            return log_mel / self.cfg.input_scale
        return (log_mel - self.mel_mean[:, None]) / self.mel_std[:, None] / self.cfg.input_scale

    def from_output(self, y: torch.Tensor) -> torch.Tensor:
        """Scaled normalised (B, n_mels, T) -> denormalised log-mel."""
        if self.cfg.audio.normalization == "none":
            return y * self.cfg.input_scale
        return y * self.cfg.input_scale * self.mel_std[:, None] + self.mel_mean[:, None]

    @torch.inference_mode()
    def polish(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Denormalised log-mel (B, n_mels, T) -> polished log-mel, the whole utterance at once: GV
        compensation (when the bundle has a measured scale), then `strength` x the U-Net's correction,
        then (with envelope_order > 0) the change split into envelope and detail, each with its gain."""
        cfg = self.cfg
        polished = log_mel
        if cfg.gv_scale:
            scale = torch.as_tensor(cfg.gv_scale, dtype=log_mel.dtype, device=log_mel.device)
            polished = apply_gv_scale(log_mel, scale)
        if cfg.strength > 0:
            x = self.to_input(polished)
            y = self(x)
            if cfg.strength != 1.0:
                y = x + cfg.strength * (y - x)
            polished = self.from_output(y)
        if cfg.envelope_order > 0:
            split = split_matrix(cfg.n_mels, cfg.envelope_order, float(cfg.envelope_gain), float(cfg.detail_gain))
            polished = apply_split(log_mel, polished, split.to(log_mel.device))
        return polished
