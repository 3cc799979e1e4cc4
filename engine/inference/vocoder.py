"""Vocoders: mel -> waveform, behind one small protocol.

    class Vocoder(Protocol):
        name: str                       # what --json and the take report
        audio: AudioConfig              # the mel configuration it expects
        def vocode_batch(self, log_mels) -> list[np.ndarray]
        def stream(self, log_mel, chunk_frames) -> Iterator[np.ndarray]   # chunks that concatenate to
                                                                          # vocode(log_mel)

`VocoderBase` gives `vocode` and a one-chunk `stream` to a vocoder that only batches (Griffin-Lim); a
neural vocoder that generates sample by sample overrides `stream`. `load_vocoder` resolves
'griffinlim', a kind's short name ('wavenet' = its default bundle) or a model NAME/DIR through the kind
table, and refuses a vocoder whose audio configuration differs from the voice's.
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

import numpy as np
import torch

from engine import kinds
from engine.audio.config import AudioConfig
from engine.audio.griffinlim import DEFAULT_POWER, log_mel_to_audio
from engine.errors import BadInput, NotBuiltYet

GRIFFINLIM = "griffinlim"


@runtime_checkable
class Vocoder(Protocol):
    name: str
    audio: AudioConfig

    def vocode_batch(self, log_mels: list[np.ndarray]) -> list[np.ndarray]: ...

    def vocode(self, log_mel: np.ndarray) -> np.ndarray: ...

    def stream(self, log_mel: np.ndarray, chunk_frames: int = 40) -> Iterator[np.ndarray]: ...


class VocoderBase:
    name = "vocoder"
    audio: AudioConfig

    def vocode_batch(self, log_mels: list[np.ndarray]) -> list[np.ndarray]:
        return [self.vocode(m) for m in log_mels]

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        return self.vocode_batch([log_mel])[0]

    def stream(self, log_mel: np.ndarray, chunk_frames: int = 40) -> Iterator[np.ndarray]:
        """(n_mels, T) -> audio chunks; this default yields the whole sentence at once."""
        yield self.vocode(log_mel)


def peak_limit(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    top = float(np.abs(wav).max()) if len(wav) else 0.0
    return (wav * (peak / top) if top > peak else wav).astype(np.float32)


class GriffinLimVocoder(VocoderBase):
    """Mel inversion + batched fast Griffin-Lim (torch, CPU or CUDA)."""

    name = GRIFFINLIM

    def __init__(self, audio: AudioConfig, n_iter: int = 32, power: float = DEFAULT_POWER, device="cpu") -> None:
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
        return [peak_limit(wav[i, : m.shape[-1] * self.audio.hop_length]) for i, m in enumerate(log_mels)]


def check_audio_match(voice: AudioConfig, vocoder: AudioConfig, what: str) -> None:
    """Refuse a partner whose mel configuration differs (never bridge silently)."""
    a, b = voice.to_dict(), vocoder.to_dict()
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diff:
        detail = ", ".join(f"{k} {a.get(k)} vs {b.get(k)}" for k in diff[:4])
        raise BadInput(f"{what} was trained on another audio configuration than the voice ({detail}): "
                       "pick a matching one, or griffinlim")


def load_vocoder(spec: str, audio: AudioConfig, device="cpu") -> Vocoder:
    """'griffinlim', a vocoder kind's name (its default bundle) or a vocoder model NAME/DIR."""
    if spec in (GRIFFINLIM, "gl", "griffin-lim"):
        return GriffinLimVocoder(audio, device=device)
    from engine.bundle import load_bundle

    if spec in kinds.names("vocoder"):
        default = kinds.get(spec).extra.get("default_bundle")
        if not default:
            raise NotBuiltYet(f"no default {spec} vocoder is installed: use --vocoder griffinlim")
        spec = default
    bundle = load_bundle(spec)
    kind = kinds.get(bundle.kind)
    if kind.role != "vocoder":
        raise BadInput(f"{bundle.name} is a {bundle.kind} model ({kinds.ROLES[kind.role]}), not a vocoder")
    adapter = kind.adapter_class()
    if adapter is None:
        raise NotBuiltYet(f"{bundle.kind} vocoders cannot be used for synthesis in this version")
    vocoder = adapter(bundle, device=device)
    check_audio_match(audio, vocoder.audio, f"vocoder {bundle.name}")
    return vocoder


def vocoder_choices() -> list[str]:
    """What the studio's vocoder selector lists: griffinlim, then every installed vocoder bundle."""
    from engine.bundle import installed

    return [GRIFFINLIM] + [name for name, _ in installed(role="vocoder")]
