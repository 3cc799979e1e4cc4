"""Envelope/detail split of a polisher's change to a mel.

Each frame's change (polished - unpolished log-mel, over the mel bands) is taken apart by the orthonormal
cosine transform over the bands (the mel-cepstrum of the change, as in engine.models.polisher.evaluate):

    coefficients 1 .. order-1   the spectral envelope: what mel-cepstral distortion measures and what the
                                acoustic model's L1/L2 training already estimates best;
    coefficient 0 and >= order  the frame's level and the finer structure across bands (harmonics,
                                formant sharpness): what maximum-likelihood training smooths away.

The two parts are scaled by their own gains and added back, so a polisher can sharpen detail without
moving the envelope. As one (n_mels, n_mels) matrix over the band axis:

    split = detail_gain x I + (envelope_gain - detail_gain) x D^T diag(1 for 1 <= k < order) D

with D the orthonormal DCT-II matrix; order 0 (or both gains 1) is the identity.

Shapes: log-mels (B, n_mels, T); the matrix (n_mels, n_mels).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


def cosine_basis(n_bands: int, dtype=torch.float32) -> torch.Tensor:
    """(n_bands, n_bands) orthonormal DCT-II matrix D: coefficients = D @ bands."""
    k = torch.arange(n_bands, dtype=torch.float64)[:, None]
    n = torch.arange(n_bands, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi * k * (n + 0.5) / n_bands) * math.sqrt(2.0 / n_bands)
    basis[0] /= math.sqrt(2.0)
    return basis.to(dtype)


@lru_cache(maxsize=16)
def split_matrix(n_bands: int, order: int, envelope_gain: float, detail_gain: float,
                 dtype=torch.float32) -> torch.Tensor:
    """(n_bands, n_bands) matrix applying envelope_gain to cosine coefficients 1..order-1 of a change and
    detail_gain to the rest (cached per setting; callers must not modify it)."""
    eye = torch.eye(n_bands, dtype=torch.float64)
    if order <= 1:
        return (detail_gain * eye).to(dtype)
    D = cosine_basis(n_bands, torch.float64)
    keep = torch.zeros(n_bands, dtype=torch.float64)
    keep[1:min(order, n_bands)] = 1.0
    envelope = D.T @ torch.diag(keep) @ D
    return (detail_gain * eye + (envelope_gain - detail_gain) * envelope).to(dtype)


def apply_split(before: torch.Tensor, after: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, T) unpolished and polished log-mels -> before + matrix applied to the change per frame."""
    change = after - before
    return before + torch.einsum("kj,bjt->bkt", matrix.to(change.dtype), change)
