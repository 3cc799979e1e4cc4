"""Per-utterance recording-condition variation for corpus source voices (numpy/scipy, no sox).

So that a converter trained on clean synthetic voices meets real microphones and rooms, each source
utterance may get, drawn deterministically from (seed, speaker, id):

- `snr`: added pink noise at 15-30 dB signal-to-noise ratio (of the speech's active power),
- `rt60`: light room reverb, an exponentially decaying noise impulse response (0.15-0.5 s),
- `lowpass` / `highpass`: band limiting (telephone-like 300-3400 Hz up to a 7 kHz low-pass),
- `gain`: the peak level in dB below full scale (level changes, -20..-1 dB).

The draws are recorded in the corpus STYLE column (`snr=21.3;rt60=0.250;lowpass=3400;gain=-9.5`), so
a reader knows the condition of every file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass
class AugmentSettings:
    noise_prob: float = 0.5
    """Chance that an utterance gets added noise."""
    snr_range: tuple[float, float] = (15.0, 30.0)
    """Signal-to-noise ratio range in dB (uniform)."""
    reverb_prob: float = 0.35
    """Chance of room reverb."""
    rt60_range: tuple[float, float] = (0.15, 0.5)
    """Reverb time range in seconds."""
    band_prob: float = 0.35
    """Chance of band limiting."""
    lowpass_range: tuple[float, float] = (3400.0, 7000.0)
    """Low-pass cut-off range in Hz."""
    gain_range: tuple[float, float] = (-20.0, -1.0)
    """Peak level range in dB below full scale."""


def hashed_uniforms(key: str, n: int) -> list[float]:
    """n (<= 8) numbers in [0, 1) drawn from the SHA-256 of `key`: the same key, the same numbers, on any
    machine (the corpus builder's per-utterance variations)."""
    digest = hashlib.sha256(key.encode()).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "little") / 2**32 for i in range(n)]


def augment_for(seed: int, speaker: str, uid: str, settings: AugmentSettings | None = None) -> dict:
    """Deterministic recording conditions of one utterance (keys present only when applied)."""
    s = settings or AugmentSettings()
    u = hashed_uniforms(f"augment:{seed}:{speaker}:{uid}", 8)
    out: dict = {}
    if u[0] < s.noise_prob:
        out["snr"] = round(s.snr_range[0] + (s.snr_range[1] - s.snr_range[0]) * u[1], 1)
    if u[2] < s.reverb_prob:
        out["rt60"] = round(s.rt60_range[0] + (s.rt60_range[1] - s.rt60_range[0]) * u[3], 3)
    if u[4] < s.band_prob:
        out["lowpass"] = float(round(s.lowpass_range[0] + (s.lowpass_range[1] - s.lowpass_range[0]) * u[5], -1))
        if out["lowpass"] < 4000:
            out["highpass"] = 300.0
    out["gain"] = round(s.gain_range[0] + (s.gain_range[1] - s.gain_range[0]) * u[6], 1)
    return out


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power 1/f noise of n samples."""
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    pink = np.fft.irfft(spec / np.sqrt(f), n)
    return pink / (np.sqrt(np.mean(pink**2)) + 1e-12)


def active_power(wav: np.ndarray, sr: int, top_db: float = 40.0) -> float:
    """Mean power of the 20 ms frames within top_db of the loudest (the speech, not the pauses)."""
    hop = max(1, sr // 50)
    n = len(wav) // hop
    if n == 0:
        return float(np.mean(wav**2) + 1e-12)
    frames = wav[: n * hop].reshape(n, hop)
    power = np.mean(frames**2, axis=1) + 1e-12
    keep = power >= power.max() * 10 ** (-top_db / 10)
    return float(power[keep].mean())


def add_noise(wav: np.ndarray, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    noise = pink_noise(len(wav), rng) * np.sqrt(active_power(wav, sr) / 10 ** (snr_db / 10))
    return wav + noise


def add_reverb(wav: np.ndarray, sr: int, rt60: float, rng: np.random.Generator, wet: float = 0.35) -> np.ndarray:
    """Direct sound plus `wet` of an exponentially decaying noise tail (energy matched)."""
    from scipy.signal import fftconvolve

    n = int(rt60 * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    ir /= np.sqrt(np.sum(ir**2)) + 1e-12
    tail = fftconvolve(wav, ir)[: len(wav)]
    return (1 - wet) * wav + wet * tail


def band_limit(wav: np.ndarray, sr: int, lowpass: float | None, highpass: float | None = None) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    out = wav
    if lowpass is not None and lowpass < sr / 2 * 0.98:
        out = sosfiltfilt(butter(6, lowpass, btype="low", fs=sr, output="sos"), out)
    if highpass is not None and highpass > 0:
        out = sosfiltfilt(butter(4, highpass, btype="high", fs=sr, output="sos"), out)
    return np.ascontiguousarray(out)


def apply_augment(wav: np.ndarray, sr: int, aug: dict, seed: int = 0) -> np.ndarray:
    """Apply the conditions of `augment_for` (reverb, band, noise, then level); float32 out."""
    rng = np.random.default_rng(seed)
    out = np.asarray(wav, dtype=np.float64)
    if "rt60" in aug:
        out = add_reverb(out, sr, aug["rt60"], rng)
    if "lowpass" in aug or "highpass" in aug:
        out = band_limit(out, sr, aug.get("lowpass"), aug.get("highpass"))
    if "snr" in aug:
        out = add_noise(out, sr, aug["snr"], rng)
    if "gain" in aug:
        peak = float(np.abs(out).max()) or 1.0
        out = out * (10 ** (aug["gain"] / 20) / peak)
    return out.astype(np.float32)


def seed_of(seed: int, speaker: str, uid: str) -> int:
    """The noise seed of one utterance (so a rebuild writes the same samples)."""
    return int.from_bytes(hashlib.sha256(f"noise:{seed}:{speaker}:{uid}".encode()).digest()[:8], "little")
