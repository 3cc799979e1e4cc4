"""The polisher's discriminator: a conditional convolutional PatchGAN (pix2pix).

It sees the partner's mel and a real or polished mel side by side as channels (plus a band
coordinate channel) and scores overlapping patches: (B, n_mels, T) x 2 -> logits (B, 1, n_mels/4, T/4)
(about; each logit sees a 26 x 26 patch with the default layers). Its intermediate activations are
exposed for the learned-similarity loss (VAE-GAN).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.polisher.unet import band_coordinates


class PatchDiscriminator(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (32, 64, 128), freq_coords: bool = True,
                 slope: float = 0.2) -> None:
        super().__init__()
        self.freq_coords = freq_coords
        layers = []
        c_in = 2 + int(freq_coords)
        for i, c in enumerate(channels):
            stride, kernel = (2, 4) if i < 2 else (1, 3)
            layers.append(nn.Sequential(nn.Conv2d(c_in, c, kernel, stride=stride, padding=1), nn.LeakyReLU(slope)))
            c_in = c
        self.layers = nn.ModuleList(layers)
        self.head = nn.Conv2d(c_in, 1, 3, padding=1)

    def forward(self, condition: torch.Tensor, mel: torch.Tensor, features: bool = False):
        """condition, mel: (B, n_mels, T) scaled normalised -> patch logits (B, 1, H', W');
        with features=True -> (logits, [activation of each layer (B, C_i, H_i, W_i)])."""
        h = torch.stack([condition, mel], dim=1)
        if self.freq_coords:
            h = torch.cat([h, band_coordinates(mel)], dim=1)
        short = max(0, 8 - h.shape[-1])
        if short:  # the strided 4x4 kernels need a few frames
            h = torch.nn.functional.pad(h, (0, short, 0, 0), mode="replicate")
        feats = []
        for layer in self.layers:
            h = layer(h)
            feats.append(h)
        logits = self.head(h)
        return (logits, feats) if features else logits
