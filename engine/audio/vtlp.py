"""Vocal-tract-length perturbation (VTLP, Jaitly & Hinton 2013) of log-mel spectrograms.

A longer or shorter vocal tract scales the formant frequencies by a factor alpha. Warping the frequency
axis of a source spectrogram by alpha makes the same recording sound like another apparent speaker, so
a converter trained on a handful of voices meets a wider spread of them. The warp is piecewise linear, as
in the paper: f -> alpha * f up to a boundary frequency f_b, then linear so that fmax stays in place
(nothing is pushed off the top of the band or left empty at it).

Applied on the log-mel frames themselves: each output band k reads the input at the (fractional) band
whose centre frequency is warp^-1(centre_k), linearly interpolated between neighbouring bands.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from engine.audio.config import AudioConfig


def warp_frequencies(freqs: np.ndarray, alpha: float, fmax: float, boundary: float = 0.8) -> np.ndarray:
    """The piecewise-linear VTLP warp of frequencies (Hz): alpha * f below f_b = boundary * fmax *
    min(alpha, 1) / alpha, then the line from (f_b, alpha * f_b) to (fmax, fmax)."""
    f_b = boundary * fmax * min(alpha, 1.0) / alpha
    upper = fmax - (fmax - alpha * f_b) * (fmax - freqs) / (fmax - f_b)
    return np.where(freqs <= f_b, alpha * freqs, upper)


ALPHA_STEP = 1e-3
"""Warp factors are rounded to this grid, so the band tables of a training run come from a small cache
(0.88..1.12 is 241 of them)."""


@lru_cache(maxsize=512)
def _band_sources(n_mels: int, fmin: float, fmax: float, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (lower band index, upper band index, weight of the upper) per output band, for a warp by alpha."""
    import librosa

    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax)[1:-1]
    # The output band at centre c shows what the input had at warp^-1(c): invert the monotone warp on a grid.
    grid = np.linspace(0.0, fmax, 4096)
    source_f = np.interp(centres, warp_frequencies(grid, alpha, fmax), grid)
    position = np.clip(np.interp(source_f, centres, np.arange(n_mels, dtype=np.float64)), 0, n_mels - 1)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, n_mels - 1)
    return lower, upper, (position - lower).astype(np.float32)


def vtlp_log_mel(log_mel: torch.Tensor, cfg: AudioConfig, alpha: float) -> torch.Tensor:
    """(n_mels, T) or (B, n_mels, T) log-mel -> the same shape, frequency-warped by alpha (1 = unchanged;
    > 1 raises the formants, as a shorter vocal tract does)."""
    if abs(alpha - 1.0) < 1e-6:
        return log_mel
    n_mels = log_mel.shape[-2]
    lower, upper, w = _band_sources(n_mels, float(cfg.fmin), float(cfg.fmax or cfg.sample_rate / 2), round(round(float(alpha) / ALPHA_STEP) * ALPHA_STEP, 6))
    dev = log_mel.device
    lo = log_mel.index_select(-2, torch.as_tensor(lower, device=dev))
    hi = log_mel.index_select(-2, torch.as_tensor(upper, device=dev))
    weight = torch.as_tensor(w, device=dev, dtype=log_mel.dtype).unsqueeze(-1)
    return lo + weight * (hi - lo)
