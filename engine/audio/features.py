"""Batched spectrograms in torch (CPU or CUDA): linear magnitude, log-mel, and mel -> linear.

Shapes: waveforms (B, T_samples); linear spectrograms (B, n_freq, T_frames);
log-mels (B, n_mels, T_frames). Frames are centred (reflect padding), so
T_frames = T_samples // hop_length + 1.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from engine.audio.config import AudioConfig


@lru_cache(maxsize=16)
def _window(name: str, length: int, device: str) -> torch.Tensor:
    fn = getattr(torch, f"{name}_window", None)
    if fn is None:
        raise ValueError(f"unknown window {name!r}")
    return fn(length, device=device)


@lru_cache(maxsize=16)
def _mel_basis_np(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


_MEL_CACHE: dict = {}


def mel_basis(cfg: AudioConfig, device="cpu") -> torch.Tensor:
    """The (n_mels, n_freq) mel filterbank (Slaney-normalised, as librosa builds it)."""
    key = (cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, str(device))
    if key not in _MEL_CACHE:
        basis = _mel_basis_np(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
        _MEL_CACHE[key] = torch.from_numpy(basis).to(device)
    return _MEL_CACHE[key]


def _inverse_basis(cfg: AudioConfig, device) -> torch.Tensor:
    key = ("pinv", cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, str(device))
    if key not in _MEL_CACHE:
        _MEL_CACHE[key] = torch.linalg.pinv(mel_basis(cfg, "cpu").double()).float().to(device)
    return _MEL_CACHE[key]


def _as_batch(wav) -> tuple[torch.Tensor, bool]:
    if not torch.is_tensor(wav):
        wav = torch.as_tensor(np.asarray(wav, dtype=np.float32))
    squeeze = wav.dim() == 1
    if squeeze:
        wav = wav.unsqueeze(0)
    return wav.float(), squeeze


def stft(wav: torch.Tensor, cfg: AudioConfig) -> torch.Tensor:
    """Complex STFT (B, n_freq, T_frames) of waveforms (B, T_samples)."""
    window = _window(cfg.window, cfg.win_length, str(wav.device))
    return torch.stft(
        wav,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def istft(spec: torch.Tensor, cfg: AudioConfig, length: int | None = None) -> torch.Tensor:
    """Inverse of `stft`: (B, n_freq, T_frames) complex -> (B, T_samples)."""
    window = _window(cfg.window, cfg.win_length, str(spec.device))
    return torch.istft(
        spec,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window=window,
        center=True,
        length=length,
    )


def linear_spectrogram(wav, cfg: AudioConfig) -> torch.Tensor:
    """Magnitude spectrogram (B, n_freq, T_frames) (or (n_freq, T_frames) for a 1-D input)."""
    wav, squeeze = _as_batch(wav)
    mag = stft(wav, cfg).abs()
    return mag[0] if squeeze else mag


def linear_to_log_mel(mag: torch.Tensor, cfg: AudioConfig) -> torch.Tensor:
    """(B, n_freq, T) magnitudes -> (B, n_mels, T) natural-log mel."""
    mel = torch.matmul(mel_basis(cfg, mag.device), mag)
    return torch.log(torch.clamp(mel, min=cfg.log_floor))


def log_mel_spectrogram(wav, cfg: AudioConfig) -> torch.Tensor:
    """Log-mel spectrogram (B, n_mels, T_frames) of waveforms (B, T_samples); 1-D in, 2-D out."""
    wav, squeeze = _as_batch(wav)
    logmel = linear_to_log_mel(stft(wav, cfg).abs(), cfg)
    return logmel[0] if squeeze else logmel


def log_mel_to_linear(log_mel: torch.Tensor, cfg: AudioConfig) -> torch.Tensor:
    """Approximate inverse of the mel filterbank: (B, n_mels, T) log-mel -> (B, n_freq, T) magnitudes.

    Uses the pseudo-inverse of the filterbank, clamped at zero (fast; Griffin-Lim follows).
    """
    mel = torch.exp(log_mel)
    lin = torch.matmul(_inverse_basis(cfg, log_mel.device), mel)
    return torch.clamp(lin, min=0.0)


def frames_for_samples(n_samples: int, cfg: AudioConfig) -> int:
    return n_samples // cfg.hop_length + 1
