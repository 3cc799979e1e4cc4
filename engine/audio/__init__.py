"""Audio core: configuration, file I/O, spectrograms, Griffin-Lim, mu-law, trimming."""

from engine.audio.config import AudioConfig
from engine.audio.features import (
    istft,
    linear_spectrogram,
    linear_to_log_mel,
    log_mel_spectrogram,
    log_mel_to_linear,
    mel_basis,
    stft,
)
from engine.audio.griffinlim import griffin_lim, log_mel_to_audio, spectral_convergence
from engine.audio.io import load_audio, resample, save_audio
from engine.audio.mulaw import mulaw_decode, mulaw_encode
from engine.audio.trim import trim_silence

__all__ = [
    "AudioConfig", "istft", "linear_spectrogram", "linear_to_log_mel", "log_mel_spectrogram",
    "log_mel_to_linear", "mel_basis", "stft", "griffin_lim", "log_mel_to_audio",
    "spectral_convergence", "load_audio", "resample", "save_audio", "mulaw_decode", "mulaw_encode",
    "trim_silence",
]
