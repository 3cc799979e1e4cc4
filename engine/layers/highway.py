"""Highway layer (Srivastava et al. 2015), used in the CBHG module."""

from __future__ import annotations

import torch
from torch import nn


class Highway(nn.Module):
    """(…, dim) -> (…, dim): y = T * relu(H x) + (1 - T) * x."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.constant_(self.gate.bias, -1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * torch.relu(self.transform(x)) + (1.0 - t) * x
