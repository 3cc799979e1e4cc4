"""AudioConfig: every number that defines the audio features of a model.

A model bundle saves its AudioConfig in config.json; a voice and a vocoder whose configs differ are
refused (or bridged explicitly), never mixed silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class AudioConfig:
    sample_rate: int = 16000
    """Samples per second of every waveform the models see; input audio is resampled to it."""
    n_fft: int = 1024
    """FFT size of the short-time Fourier transform."""
    hop_length: int = 200
    """Samples between successive frames (12.5 ms at 16 kHz)."""
    win_length: int = 800
    """Analysis window length in samples (50 ms at 16 kHz), zero-padded to n_fft."""
    window: str = "hann"
    """Window function name (torch.<name>_window)."""
    n_mels: int = 80
    """Number of mel bands."""
    fmin: float = 55.0
    """Lowest mel band edge in Hz."""
    fmax: float = 7600.0
    """Highest mel band edge in Hz (at most sample_rate / 2)."""
    log_floor: float = 1e-5
    """Magnitudes are clamped to this before the natural log (log-mel = ln(max(mel, floor)))."""
    normalization: str = "mean_std"
    """How models normalise log-mels: 'mean_std' (per-band statistics stored inside each model
    bundle) or 'none'."""
    trim_top_db: float = 40.0
    """Silence trimming threshold in dB below the peak."""
    trim_margin_s: float = 0.05
    """Seconds kept on each side of the trimmed region so no phoneme is clipped."""

    def __post_init__(self) -> None:
        if self.win_length > self.n_fft:
            raise ValueError("win_length must not exceed n_fft")
        if self.fmax > self.sample_rate / 2:
            raise ValueError("fmax must not exceed the Nyquist frequency")
        if self.normalization not in ("mean_std", "none"):
            raise ValueError(f"unknown normalization {self.normalization!r}")

    @property
    def n_freq(self) -> int:
        """Bins of the linear spectrogram (n_fft // 2 + 1)."""
        return self.n_fft // 2 + 1

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AudioConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown audio config fields: {sorted(unknown)}")
        return cls(**d)

    def key(self) -> str:
        """A short stable hash: feature caches are keyed by it."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:12]

    def differences(self, other: "AudioConfig") -> list[str]:
        """Names of fields whose values differ (for clear mismatch messages)."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if a[k] != b[k]]
