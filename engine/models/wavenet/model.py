"""The WaveNet vocoder network: mu-law sample embedding, dilated gated residual stack with mel
(local) and speaker (global) conditioning, skip sum and softmax head.

Shapes: previous-sample classes (B, T) long; log-mels (B, n_mels, T_frames); sample-rate conditioning
(B, cond_channels, T); logits (B, quantization_channels, T). Logits at t predict sample t from samples
< t (the input at t is the class of sample t - 1).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.conditioning import MelUpsampler
from engine.layers.mulaw_head import MuLawHead
from engine.layers.wavenet_block import ResidualBlock
from engine.models.wavenet.config import WaveNetConfig


class WaveNet(nn.Module):
    def __init__(self, cfg: WaveNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        R, G, S, L = cfg.residual_channels, cfg.gate_channels, cfg.skip_channels, cfg.layers
        self.embed = nn.Embedding(cfg.quantization_channels, R)
        self.upsampler = MelUpsampler(cfg.audio.n_mels, cfg.cond_channels, cfg.cond_frame_kernel,
                                      cfg.upsample_scales)
        self.cond_proj = nn.Conv1d(cfg.cond_channels, L * 2 * G, 1)
        if cfg.multi_speaker:
            self.speaker_embed = nn.Embedding(len(cfg.speakers), cfg.speaker_dim)
            self.speaker_proj = nn.Linear(cfg.speaker_dim, L * 2 * G, bias=False)
        else:
            self.speaker_embed = self.speaker_proj = None
        dil = cfg.dilations
        self.blocks = nn.ModuleList(ResidualBlock(R, G, S, d, last=(i == L - 1)) for i, d in enumerate(dil))
        self.skip_bias = nn.Parameter(torch.zeros(S))
        self.head = MuLawHead(S, cfg.head_channels, cfg.quantization_channels)
        self.register_buffer("mel_mean", torch.zeros(cfg.audio.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.audio.n_mels))

    # ----- conditioning -------------------------------------------------------------------------
    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) natural-log mel -> normalised with the bundle's statistics."""
        if self.cfg.audio.normalization == "none":
            return log_mel
        return (log_mel - self.mel_mean[:, None]) / self.mel_std[:, None]

    def upsample(self, mel_norm: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T_frames) normalised mel -> (B, cond_channels, T_frames * hop)."""
        return self.upsampler(mel_norm)

    def speaker_bias(self, speaker: torch.Tensor | None, batch: int, device) -> torch.Tensor | None:
        """(B,) speaker ids -> (B, layers * 2G) gate offsets, or None for a single-speaker model."""
        if self.speaker_embed is None:
            return None
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=device)
        return self.speaker_proj(self.speaker_embed(speaker))

    def gate_conditioning(self, cond: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """(B, cond_channels, T) -> (B, layers * 2G, T): every layer's gate offset (projection + bias
        of its dilated conv + speaker)."""
        c = self.cond_proj(cond)
        bias = torch.cat([b.conv.bias for b in self.blocks])
        c = c + bias[None, :, None]
        spk = self.speaker_bias(speaker, cond.shape[0], cond.device)
        if spk is not None:
            c = c + spk[:, :, None]
        return c

    # ----- the network --------------------------------------------------------------------------
    def forward(self, prev: torch.Tensor, cond: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """prev (B, T) classes of samples t-1, cond (B, cond_channels, T) -> logits (B, classes, T)."""
        G2 = 2 * self.cfg.gate_channels
        c = self.cond_proj(cond)
        spk = self.speaker_bias(speaker, cond.shape[0], cond.device)
        if spk is not None:
            c = c + spk[:, :, None]
        x = self.embed(prev).transpose(1, 2)
        skip = None
        for block, ci in zip(self.blocks, c.split(G2, dim=1)):  # split: no full-size zero fill in backward
            x, s = block(x, ci)
            skip = s if skip is None else skip + s
        return self.head(skip + self.skip_bias[None, :, None])

    def logits_from_mel(self, prev: torch.Tensor, log_mel: torch.Tensor, speaker=None) -> torch.Tensor:
        """prev (B, T_frames * hop), natural-log mel (B, n_mels, T_frames) -> logits."""
        cond = self.upsample(self.normalize(log_mel))
        return self.forward(prev, cond[..., : prev.shape[1]], speaker)
