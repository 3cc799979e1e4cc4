"""Silence trimming with a safety margin (no phoneme is clipped)."""

from __future__ import annotations

import numpy as np

from engine.audio.config import AudioConfig


def trim_silence(wav: np.ndarray, cfg: AudioConfig, top_db: float | None = None) -> np.ndarray:
    """Cut leading and trailing silence quieter than `top_db` below the peak, keeping
    `cfg.trim_margin_s` seconds on either side of the voiced region."""
    import librosa

    top_db = cfg.trim_top_db if top_db is None else top_db
    if wav.size == 0 or not np.any(wav):
        return wav
    _, (start, end) = librosa.effects.trim(wav, top_db=top_db, frame_length=1024, hop_length=256)
    margin = int(cfg.trim_margin_s * cfg.sample_rate)
    return wav[max(0, start - margin) : min(len(wav), end + margin)]


SILENCE_PEAK = 10 ** (-60 / 20)
"""A recording whose peak stays below -60 dBFS holds no usable sound."""


def has_sound(wav: np.ndarray) -> bool:
    """False for empty or silent audio (peak below -60 dBFS)."""
    return bool(wav.size) and float(np.max(np.abs(wav))) >= SILENCE_PEAK
