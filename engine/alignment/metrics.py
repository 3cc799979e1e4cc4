"""Attention alignment metrics.

alignment: (T_steps, T_text) attention weights of one utterance (rows sum to ~1).
"""

from __future__ import annotations

import numpy as np


def focus_rate(alignment: np.ndarray) -> float:
    """Mean over decoder steps of the largest attention weight (1.0 = perfectly sharp)."""
    a = np.asarray(alignment)
    return float(a.max(axis=1).mean()) if a.size else 0.0


def alignment_complete(alignment: np.ndarray, max_jump_back: int = 2) -> bool:
    """docs/json.md (alignment_complete): the argmax moved monotonically (no jump back of more than `max_jump_back`
    symbols) and reached the last input symbol before the decoder stopped."""
    a = np.asarray(alignment)
    if a.size == 0:
        return False
    peaks = a.argmax(axis=1)
    running_max = np.maximum.accumulate(peaks)
    if np.any(running_max - peaks > max_jump_back):
        return False
    return bool(peaks.max() >= a.shape[1] - 1)


def diagonal_mass(alignment: np.ndarray, band: float = 0.1) -> float:
    """Share of the attention mass within +-band (fraction of the input length) of the diagonal."""
    a = np.asarray(alignment, dtype=np.float64)
    T, N = a.shape
    if T == 0 or N == 0:
        return 0.0
    t = (np.arange(T) + 0.5) / T
    n = (np.arange(N) + 0.5) / N
    near = np.abs(n[None, :] - t[:, None]) <= band
    return float((a * near).sum() / max(a.sum(), 1e-9))
