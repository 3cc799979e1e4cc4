"""Vocoders: mel -> waveform. Griffin-Lim always; neural vocoders as they are built."""

from __future__ import annotations

import numpy as np
import torch

from engine.audio.config import AudioConfig
from engine.audio.griffinlim import log_mel_to_audio
from engine.errors import BadInput, NotBuiltYet


class GriffinLimVocoder:
    """Mel inversion + batched fast Griffin-Lim (torch, CPU or CUDA)."""

    name = "griffinlim"

    def __init__(self, audio: AudioConfig, n_iter: int = 32, power: float = 1.2, device="cpu") -> None:
        self.audio, self.n_iter, self.power, self.device = audio, n_iter, power, torch.device(device)

    def vocode_batch(self, log_mels: list[np.ndarray]) -> list[np.ndarray]:
        """Several (n_mels, T_i) log-mels -> waveforms of T_i * hop samples each (one batched run)."""
        if not log_mels:
            return []
        # Reflect padding of the STFT needs a few frames more than half a window.
        T = max(max(m.shape[-1] for m in log_mels), self.audio.n_fft // self.audio.hop_length + 2)
        floor = float(np.log(self.audio.log_floor))
        batch = torch.full((len(log_mels), self.audio.n_mels, T), floor)
        for i, m in enumerate(log_mels):
            batch[i, :, : m.shape[-1]] = torch.as_tensor(m)
        with torch.inference_mode():
            wav = log_mel_to_audio(batch.to(self.device), self.audio, n_iter=self.n_iter, power=self.power)
        wav = wav.float().cpu().numpy()
        out = []
        for i, m in enumerate(log_mels):
            w = wav[i, : m.shape[-1] * self.audio.hop_length]
            peak = np.abs(w).max()
            out.append((w * (0.95 / peak) if peak > 0.95 else w).astype(np.float32))
        return out

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        return self.vocode_batch([log_mel])[0]


def load_vocoder(spec: str, audio: AudioConfig, device="cpu"):
    """'griffinlim' or a vocoder model NAME/DIR; the vocoder's audio config must match the voice's."""
    if spec in ("griffinlim", "gl", "griffin-lim"):
        return GriffinLimVocoder(audio, device=device)
    if spec == "wavenet":
        raise NotBuiltYet("the WaveNet vocoder is not built yet in this version: use --vocoder griffinlim")
    from engine.bundle import load_bundle

    bundle = load_bundle(spec)
    if bundle.kind != "wavenet":
        raise BadInput(f"{spec} is a {bundle.kind} model, not a vocoder")
    raise NotBuiltYet("WaveNet vocoder models are not supported yet in this version")
