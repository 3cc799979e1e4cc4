"""WaveNet's output head: summed skips -> ReLU -> 1x1 -> ReLU -> 1x1 -> mu-law class logits."""

from __future__ import annotations

import torch
from torch import nn


class MuLawHead(nn.Module):
    """(B, S, T) summed skip connections -> (B, classes, T) logits."""

    def __init__(self, skip: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv1d(skip, hidden, 1)
        self.fc2 = nn.Conv1d(hidden, classes, 1)

    def forward(self, skip: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(torch.relu(skip))))
