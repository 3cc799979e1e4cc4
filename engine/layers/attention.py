"""Attention mechanisms of the Tacotron decoder.

Both share one interface, so the decoder does not care which it runs:

    processed = attn.preprocess_memory(memory)        # once per utterance
    state = attn.init_state(memory, mask)              # zero/initial alignment
    context, weights, state = attn(query, memory, processed, mask, state, window=None, temperature=1.0)

Shapes: query (B, query_dim); memory (B, T_in, memory_dim); mask (B, T_in) bool (True = valid);
context (B, memory_dim); weights (B, T_in).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def apply_window(energies: torch.Tensor, prev_weights: torch.Tensor, window: tuple[int, int]) -> torch.Tensor:
    """Inference-time monotonic window: keep positions in [argmax - back, argmax + ahead] of the
    previous alignment, mask the rest (keeps long sentences from skipping or repeating)."""
    back, ahead = window
    center = prev_weights.argmax(dim=1, keepdim=True)
    pos = torch.arange(energies.shape[1], device=energies.device)[None, :]
    outside = (pos < center - back) | (pos > center + ahead)
    return energies.masked_fill(outside, float("-inf"))


class LocationSensitiveAttention(nn.Module):
    """Chorowski et al. (2015): additive attention whose score also sees a convolution over the
    previous and the cumulative alignment."""

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int = 128,
                 n_filters: int = 32, kernel: int = 31) -> None:
        super().__init__()
        self.query_layer = nn.Linear(query_dim, attention_dim, bias=False)
        self.memory_layer = nn.Linear(memory_dim, attention_dim, bias=False)
        self.location_conv = nn.Conv1d(2, n_filters, kernel, padding=kernel // 2, bias=False)
        self.location_layer = nn.Linear(n_filters, attention_dim, bias=False)
        self.v = nn.Linear(attention_dim, 1, bias=True)

    def preprocess_memory(self, memory: torch.Tensor) -> torch.Tensor:
        return self.memory_layer(memory)

    def init_state(self, memory: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(previous weights, cumulative weights), both (B, T_in); all mass starts on symbol 0."""
        B, T_in = memory.shape[:2]
        prev = torch.zeros(B, T_in, device=memory.device, dtype=memory.dtype)
        prev[:, 0] = 1.0
        return prev, prev.clone()

    def forward(self, query, memory, processed_memory, mask, state, window=None, temperature: float = 1.0):
        prev, cumulative = state
        location = self.location_conv(torch.stack([prev, cumulative], dim=1)).transpose(1, 2)
        energies = self.v(torch.tanh(
            self.query_layer(query)[:, None, :] + processed_memory + self.location_layer(location)
        )).squeeze(-1)
        energies = energies.masked_fill(~mask, float("-inf"))
        if window is not None:
            energies = apply_window(energies, prev, window)
        weights = torch.softmax(energies / temperature, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights, (weights, cumulative + weights)


class GMMAttention(nn.Module):
    """Graves (2013) Gaussian-mixture attention, in the discretised-CDF form of Battenberg et al.
    (2019): the mixture means only move forward, which makes very long inputs safe."""

    def __init__(self, query_dim: int, memory_dim: int, n_mixtures: int = 5, hidden: int = 128) -> None:
        super().__init__()
        self.K = n_mixtures
        self.mlp = nn.Sequential(nn.Linear(query_dim, hidden), nn.Tanh(), nn.Linear(hidden, 3 * n_mixtures))
        # Start with small forward steps and moderate widths.
        nn.init.constant_(self.mlp[2].bias[n_mixtures:2 * n_mixtures], 0.0)
        nn.init.constant_(self.mlp[2].bias[2 * n_mixtures:], 2.0)

    def preprocess_memory(self, memory: torch.Tensor) -> torch.Tensor:
        return memory.new_zeros(0)

    def init_state(self, memory: torch.Tensor, mask: torch.Tensor):
        B, T_in = memory.shape[:2]
        prev = torch.zeros(B, T_in, device=memory.device, dtype=memory.dtype)
        prev[:, 0] = 1.0
        return prev, torch.zeros(B, self.K, device=memory.device, dtype=memory.dtype)

    def forward(self, query, memory, processed_memory, mask, state, window=None, temperature: float = 1.0):
        prev, mu_prev = state
        w_hat, delta_hat, sigma_hat = self.mlp(query).chunk(3, dim=-1)
        w = torch.softmax(w_hat, dim=-1)
        mu = mu_prev + F.softplus(delta_hat)
        sigma = (F.softplus(sigma_hat) + 1e-3) * temperature
        pos = torch.arange(memory.shape[1], device=memory.device, dtype=memory.dtype)[None, None, :]

        def cdf(x):
            return 0.5 * (1 + torch.erf((x - mu[..., None]) / (sigma[..., None] * math.sqrt(2))))

        weights = (w[..., None] * (cdf(pos + 0.5) - cdf(pos - 0.5))).sum(dim=1)
        weights = weights.masked_fill(~mask, 0.0)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights, (weights, mu)


def build_attention(kind: str, query_dim: int, memory_dim: int, attention_dim: int, n_filters: int,
                    kernel: int, n_mixtures: int) -> nn.Module:
    if kind == "location":
        return LocationSensitiveAttention(query_dim, memory_dim, attention_dim, n_filters, kernel)
    if kind == "gmm":
        return GMMAttention(query_dim, memory_dim, n_mixtures, attention_dim)
    raise ValueError(f"unknown attention {kind!r}: use 'location' or 'gmm'")
