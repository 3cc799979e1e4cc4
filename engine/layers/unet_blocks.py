"""2-D convolution blocks of a U-Net over spectrogram images (B, C, n_mels, T)."""

from __future__ import annotations

import torch
from torch import nn


class ConvBlock(nn.Module):
    """Two 3x3 convolutions with LeakyReLU: (B, C_in, H, W) -> (B, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, slope: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.LeakyReLU(slope),
            nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.LeakyReLU(slope),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResBlock(nn.Module):
    """x + two 3x3 convolutions: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, slope: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(slope),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.net(x))


class Down(nn.Module):
    """Halve both axes with a strided 4x4 conv, then a ConvBlock: (B, C_in, H, W) -> (B, C_out, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int, slope: float = 0.2) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1), nn.LeakyReLU(slope))
        self.block = ConvBlock(out_channels, out_channels, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.down(x))


class Up(nn.Module):
    """Double both axes (nearest + 3x3 conv), concatenate the skip, ConvBlock:
    (B, C_in, H, W), skip (B, C_out, 2H, 2W) -> (B, C_out, 2H, 2W)."""

    def __init__(self, in_channels: int, out_channels: int, slope: float = 0.2) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.LeakyReLU(slope))
        self.block = ConvBlock(2 * out_channels, out_channels, slope)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.up(x), skip], dim=1))
