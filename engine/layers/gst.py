"""Global Style Tokens (Wang et al. 2018): a reference encoder and a style-token layer."""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.masks import sequence_mask

from engine.layers.rnn import run_packed


class ReferenceEncoder(nn.Module):
    """(B, n_mels, T_frames) mel -> (B, gru_dim) prosody embedding.

    A stack of 3x3 stride-2 conv2d + batch norm + ReLU, then a GRU over the remaining time axis.
    """

    def __init__(self, n_mels: int, filters: tuple[int, ...] = (32, 32, 64, 64, 128, 128), gru_dim: int = 128) -> None:
        super().__init__()
        chans = [1, *filters]
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU())
            for a, b in zip(chans[:-1], chans[1:])
        )
        freq = n_mels
        for _ in filters:
            freq = (freq - 1) // 2 + 1
        self.gru = nn.GRU(filters[-1] * freq, gru_dim, batch_first=True)
        self.n_convs = len(filters)

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = mel.unsqueeze(1)  # (B, 1, n_mels, T)
        valid = lengths
        for conv in self.convs:
            if valid is not None:  # padded frames are zero before every conv, as a lone clip's padding is
                x = x * sequence_mask(valid.to(x.device), x.shape[-1]).to(x.dtype)[:, None, None, :]
                valid = (valid - 1) // 2 + 1
            x = conv(x)
        B, C, F_, T = x.shape
        x = x.permute(0, 3, 1, 2).reshape(B, T, C * F_)
        if lengths is not None:
            out_lengths = lengths.clone()
            for _ in range(self.n_convs):
                out_lengths = (out_lengths - 1) // 2 + 1
            lengths = out_lengths.clamp(min=1, max=T)
        _, h = run_packed(self.gru, x, lengths)
        return h[-1]


class StyleTokenLayer(nn.Module):
    """Multi-head attention of a reference embedding over N learned tokens -> (B, style_dim).

    Also builds a style from explicit token weights (B, N), the same weights for every head.
    """

    def __init__(self, query_dim: int, n_tokens: int = 10, style_dim: int = 128, n_heads: int = 4) -> None:
        super().__init__()
        assert style_dim % n_heads == 0
        self.n_tokens, self.n_heads, self.style_dim = n_tokens, n_heads, style_dim
        self.tokens = nn.Parameter(torch.randn(n_tokens, style_dim // n_heads) * 0.5)
        self.query = nn.Linear(query_dim, style_dim, bias=False)
        self.key = nn.Linear(style_dim // n_heads, style_dim, bias=False)
        self.value = nn.Linear(style_dim // n_heads, style_dim, bias=False)

    def _keys_values(self):
        t = torch.tanh(self.tokens)
        return self.key(t), self.value(t)  # (N, style_dim) each

    def forward(self, ref_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (style (B, style_dim), token weights (B, n_heads, N))."""
        B = ref_embedding.shape[0]
        H, d = self.n_heads, self.style_dim // self.n_heads
        q = self.query(ref_embedding).view(B, H, 1, d)
        k, v = self._keys_values()
        k = k.view(self.n_tokens, H, d).transpose(0, 1)  # (H, N, d)
        v = v.view(self.n_tokens, H, d).transpose(0, 1)
        scores = torch.matmul(q, k.transpose(1, 2).unsqueeze(0)) / d**0.5  # (B, H, 1, N)
        weights = torch.softmax(scores, dim=-1)
        style = torch.matmul(weights, v.unsqueeze(0)).reshape(B, self.style_dim)
        return style, weights.squeeze(2)

    def from_weights(self, token_weights: torch.Tensor) -> torch.Tensor:
        """(B, N) explicit weights -> (B, style_dim)."""
        _, v = self._keys_values()
        H, d = self.n_heads, self.style_dim // self.n_heads
        v = v.view(self.n_tokens, H, d)
        return torch.einsum("bn,nhd->bhd", token_weights, v).reshape(token_weights.shape[0], self.style_dim)
