"""Global variance (GV) of log-mels: how much each mel band moves over an utterance.

Maximum-likelihood acoustic models under-estimate it (over-smoothing: a muffled sound). The gap is
measured per band on the log of the GV, averaged over utterances first, then over bands:

    gap = mean_b | log GV_gen[b] - log GV_nat[b] |,   GV_x[b] = mean over utterances of var_t(mel[b, t])
"""

from __future__ import annotations

import numpy as np


def global_variance(log_mel: np.ndarray) -> np.ndarray:
    """(n_mels, T) log-mel -> (n_mels,) variance over time of each band (0 for T < 2)."""
    m = np.asarray(log_mel, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a (n_mels, T) log-mel, got shape {m.shape}")
    if m.shape[1] < 2:
        return np.zeros(m.shape[0])
    return m.var(axis=1)


def mean_global_variance(log_mels: list[np.ndarray]) -> np.ndarray:
    """Several (n_mels, T_i) log-mels -> (n_mels,) their per-band GV averaged over utterances."""
    if not log_mels:
        raise ValueError("no log-mels to measure")
    return np.mean([global_variance(m) for m in log_mels], axis=0)


def log_gv_difference(generated: list[np.ndarray], natural: list[np.ndarray], eps: float = 1e-8) -> np.ndarray:
    """(n_mels,) log GV_gen - log GV_nat per band (negative: the generated mels are smoother)."""
    return np.log(mean_global_variance(generated) + eps) - np.log(mean_global_variance(natural) + eps)


def gv_gap(generated: list[np.ndarray], natural: list[np.ndarray]) -> float:
    """Mean over bands of |log GV_gen - log GV_nat| (0 = the variance of natural speech in every band)."""
    return float(np.mean(np.abs(log_gv_difference(generated, natural))))
