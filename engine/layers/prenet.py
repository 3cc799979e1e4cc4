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

    def forward(self, x: torch.Tensor, keep_masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """`keep_masks` (one (…, size) 0/1 tensor per layer) replaces the random dropout draw, so
        inference can draw each sentence's masks from its own seed (see `draw_masks`)."""
        apply = self.training or self.always_dropout
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x))
            if keep_masks is not None:
                x = x * keep_masks[i] / (1.0 - self.dropout)
            else:
                x = F.dropout(x, p=self.dropout, training=apply)
        return x

    def draw_masks(self, n_steps: int, seed: int) -> list[torch.Tensor]:
        """Keep-masks for `n_steps` steps of one sentence: a list (per layer) of (n_steps, size).

        Each layer draws from its own generator, so step t's masks do not depend on n_steps."""
        sizes = [layer.out_features for layer in self.layers]
        if not self.always_dropout:
            return [torch.ones(n_steps, s) for s in sizes]
        masks = []
        for i, size in enumerate(sizes):
            gen = torch.Generator().manual_seed(int(seed) * 7919 + i)
            masks.append((torch.rand(n_steps, size, generator=gen) >= self.dropout).float())
        return masks
