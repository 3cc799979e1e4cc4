"""Reduction factor r: each decoder step emits r frames.

The decoder's projection gives (B, T_steps, r * n_mels), read as r consecutive frames of n_mels
each. Frames must come out in time order: step k frame j is output frame k * r + j. Reshaping the
raw output straight to (B, n_mels, T) would interleave bands and frames (the classic bug).
"""

from __future__ import annotations

import torch


def frames_from_steps(step_outputs: torch.Tensor, r: int, n_mels: int) -> torch.Tensor:
    """(B, T_steps, r * n_mels) -> (B, n_mels, T_steps * r), frames in time order."""
    B, T_steps, _ = step_outputs.shape
    return step_outputs.reshape(B, T_steps, r, n_mels).reshape(B, T_steps * r, n_mels).transpose(1, 2)


def decoder_inputs_from_frames(mel: torch.Tensor, r: int) -> torch.Tensor:
    """Teacher forcing: (B, n_mels, T) with T a multiple of r -> (B, T // r, n_mels), the last frame
    of each step's group; the decoder sees it at the *next* step (a go frame comes first)."""
    return mel[:, :, r - 1 :: r].transpose(1, 2)
