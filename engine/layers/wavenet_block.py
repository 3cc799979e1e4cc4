"""WaveNet's residual block: dilated causal conv (kernel 2), gated tanh x sigmoid unit, local and
global conditioning, residual and skip 1x1 outputs."""

from __future__ import annotations

import math

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """(B, R, T) residual stream + (B, 2G, T) conditioning -> new residual (B, R, T), skip (B, S, T).

    gate = W_past * x[t - d] + W_now * x[t] + cond;  z = tanh(gate[:G]) * sigmoid(gate[G:]);
    x' = sqrt(0.5) * (x + W_res z);  skip = W_skip z.  The residual 1x1 has no bias (the generator
    fuses it with the scale into one addmm).
    """

    def __init__(self, residual: int, gate: int, skip: int, dilation: int, last: bool = False) -> None:
        super().__init__()
        self.dilation, self.gate_channels, self.last = dilation, gate, last
        self.conv = nn.Conv1d(residual, 2 * gate, kernel_size=2, dilation=dilation)
        self.res = None if last else nn.Conv1d(gate, residual, 1, bias=False)
        self.skip = nn.Conv1d(gate, skip, 1, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(nn.functional.pad(x, (self.dilation, 0))) + cond
        a, b = h.chunk(2, dim=1)
        z = torch.tanh(a) * torch.sigmoid(b)
        skip = self.skip(z)
        if self.res is None:
            return x, skip
        return (x + self.res(z)) * math.sqrt(0.5), skip

    def step_weights(self) -> dict[str, torch.Tensor]:
        """Weights as plain matrices for one-sample steps: past/now (R, 2G), res (G, R) pre-scaled,
        skip (G, S), bias (2G,)."""
        w = self.conv.weight  # (2G, R, 2): tap 0 = x[t - d], tap 1 = x[t]
        out = {"past": w[:, :, 0].t().contiguous(), "now": w[:, :, 1].t().contiguous(),
               "bias": self.conv.bias.detach().clone(), "skip": self.skip.weight[:, :, 0].t().contiguous()}
        if self.res is not None:
            out["res"] = (self.res.weight[:, :, 0].t() * math.sqrt(0.5)).contiguous()
        return out
