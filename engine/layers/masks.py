"""Sequence masks."""

from __future__ import annotations

import torch


def sequence_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B,) lengths -> (B, max_len) bool, True on valid positions."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def time_mask(lengths: torch.Tensor | None, T: int, like: torch.Tensor) -> torch.Tensor | None:
    """(B,) lengths -> (B, 1, T) 0/1 mask in `like`'s dtype and device, for (B, C, T) features."""
    if lengths is None:
        return None
    return sequence_mask(lengths.to(like.device), T).to(like.dtype)[:, None, :]
