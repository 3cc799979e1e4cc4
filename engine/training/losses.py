"""Tacotron losses: masked L1 on the mel (before and after the postnet), stop-token BCE with a
positive weight, and the guided attention loss (Tachibana et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_l1(pred: torch.Tensor, target: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """pred, target (B, n_mels, T); frame_mask (B, T) bool."""
    m = frame_mask[:, None, :].to(pred.dtype)
    return ((pred - target).abs() * m).sum() / (m.sum() * pred.shape[1]).clamp(min=1)


def stop_targets(mel_lengths: torch.Tensor, n_steps: int, r: int) -> torch.Tensor:
    """(B, n_steps) float: 1 from the step holding the utterance's last frame onwards."""
    last_step = (mel_lengths + r - 1) // r - 1
    steps = torch.arange(n_steps, device=mel_lengths.device)[None, :]
    return (steps >= last_step[:, None]).float()


def stop_loss(stop_logits: torch.Tensor, targets: torch.Tensor, pos_weight: float = 5.0) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(
        stop_logits, targets, pos_weight=torch.tensor(pos_weight, device=stop_logits.device))


def guided_attention_weights(text_lengths: torch.Tensor, step_lengths: torch.Tensor, n_steps: int,
                             n_text: int, sigma: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Penalty W (B, n_steps, n_text) = 1 - exp(-(n/N - t/T)^2 / (2 sigma^2)) and its validity mask."""
    t = torch.arange(n_steps, device=text_lengths.device)[None, :, None].float()
    n = torch.arange(n_text, device=text_lengths.device)[None, None, :].float()
    T = step_lengths[:, None, None].float().clamp(min=1)
    N = text_lengths[:, None, None].float().clamp(min=1)
    W = 1.0 - torch.exp(-((n / N - t / T) ** 2) / (2 * sigma**2))
    mask = (t < T) & (n < N)
    return W, mask


def guided_attention_loss(alignments: torch.Tensor, text_lengths: torch.Tensor, mel_lengths: torch.Tensor,
                          r: int, sigma: float = 0.2) -> torch.Tensor:
    """alignments (B, T_steps, T_text) -> the attention mass far from the diagonal, averaged over
    valid decoder steps (0 = all mass on the diagonal, 1 = none near it)."""
    B, n_steps, n_text = alignments.shape
    step_lengths = (mel_lengths + r - 1) // r
    W, mask = guided_attention_weights(text_lengths, step_lengths, n_steps, n_text, sigma)
    return (alignments * W * mask).sum() / step_lengths.sum().clamp(min=1)
