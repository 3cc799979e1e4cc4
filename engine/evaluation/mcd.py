"""Mel-cepstral distortion with dynamic time warping (MCD-DTW), the usual objective distance between a
converted utterance and the target speaker's own rendering of the same sentence.

    mcd_dtw(wav_a, wav_b, sr) -> dB (lower is closer)

Cepstra: SPTK mel-cepstra (pysptk `sp2mc`, order 24, all-pass constant 0.42 at 16 kHz) when pysptk is
installed (optional extra: `pip install pysptk`), otherwise the DCT of the log mel power spectrum
(MFCC, 25 coefficients) - `cepstrum_method()` says which. c0 (energy) is left out; silence is trimmed
from both ends first; frames are aligned by DTW on the cepstra and
MCD = 10 / ln 10 * sqrt(2 * sum_d (a_d - b_d)^2), averaged over the aligned path.
"""

from __future__ import annotations

import math

import numpy as np

FRAME_SHIFT_S = 0.005
"""5 ms frame shift."""
ORDER = 24
"""Cepstral order (c1..c24 compared)."""
TOP_DB = 40.0
"""Silence trimming threshold before measuring."""


def _alpha(sr: int) -> float:
    return {8000: 0.31, 16000: 0.42, 22050: 0.455, 24000: 0.46, 44100: 0.53, 48000: 0.55}.get(sr, 0.42)


def cepstrum_method() -> str:
    """'sptk-mcep' with pysptk installed, else 'mfcc'."""
    try:
        import pysptk  # noqa: F401
    except ImportError:
        return "mfcc"
    return "sptk-mcep"


def _trim(wav: np.ndarray) -> np.ndarray:
    import librosa

    wav = np.asarray(wav, dtype=np.float64)
    if wav.size == 0 or not np.any(wav):
        return wav
    trimmed, _ = librosa.effects.trim(wav, top_db=TOP_DB, frame_length=1024, hop_length=256)
    return trimmed if trimmed.size else wav


def mel_cepstrum(wav: np.ndarray, sr: int, order: int = ORDER) -> np.ndarray:
    """(T, order) cepstra c1..c_order of a waveform (trimmed), 5 ms shift, 25 ms Blackman window."""
    wav = _trim(wav)
    hop = int(sr * FRAME_SHIFT_S)
    n_fft = 1024 if sr >= 16000 else 512
    win = int(0.025 * sr)
    if cepstrum_method() == "sptk-mcep":
        import librosa
        import pysptk

        frames = librosa.util.frame(np.pad(wav, (win // 2, win // 2)), frame_length=win, hop_length=hop).T
        frames = frames * np.blackman(win)[None, :]
        power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2 + 1e-10
        mc = np.stack([pysptk.sp2mc(p, order=order, alpha=_alpha(sr)) for p in power])
        return mc[:, 1:]
    import librosa

    mel = librosa.feature.melspectrogram(y=wav, sr=sr, n_fft=n_fft, hop_length=hop, win_length=win,
                                         window="blackman", n_mels=40, power=2.0)
    log_mel = np.log(mel + 1e-10)
    from scipy.fft import dct

    c = dct(log_mel, type=2, axis=0, norm="ortho")[: order + 1].T
    return c[:, 1:] / 2.0  # natural-log amplitude cepstrum scale, like mcep


def mcd_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame MCD in dB of two aligned (T, D) cepstra."""
    return (10.0 / math.log(10.0)) * np.sqrt(2.0 * np.sum((a - b) ** 2, axis=1))


def dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ia, ib) of the DTW path between (Ta, D) and (Tb, D) on Euclidean frame distance."""
    import librosa

    _, wp = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    wp = wp[::-1]
    return wp[:, 0], wp[:, 1]


def mcd_dtw_cepstra(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    ia, ib = dtw_path(a, b)
    return float(np.mean(mcd_frames(a[ia], b[ib])))


def mcd_dtw(wav_a: np.ndarray, wav_b: np.ndarray, sr: int, sr_b: int | None = None) -> float:
    """MCD-DTW in dB between two recordings of the same sentence (b at `sr_b` if different)."""
    if sr_b is not None and sr_b != sr:
        from engine.audio.io import resample

        wav_b = resample(np.asarray(wav_b, dtype=np.float32), sr_b, sr)
    return mcd_dtw_cepstra(mel_cepstrum(wav_a, sr), mel_cepstrum(wav_b, sr))
