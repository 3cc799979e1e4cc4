"""The text -> audio walk: synthesizer (mel) -> [polisher] -> vocoder -> samples -> a Take."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.inference.synthesizer import SegmentResult, Style, SynthesisResult, Synthesizer

SENTENCE_GAP_S = 0.15
"""Silence between sentences of one take."""


@dataclass
class Take:
    """One synthesis: audio plus everything needed to show, replay or export it."""

    text: str
    wav: np.ndarray
    sample_rate: int
    segments: list[SegmentResult]
    model: str
    vocoder: str
    device: str
    style: str
    synthesis_s: float
    vocoder_s: float
    polished: bool = False
    token_weights: list[float] | None = None
    created: float = field(default_factory=time.time)

    @property
    def duration_s(self) -> float:
        return len(self.wav) / self.sample_rate

    @property
    def rtf(self) -> float:
        return (self.synthesis_s + self.vocoder_s) / max(self.duration_s, 1e-9)

    @property
    def mel(self) -> np.ndarray:
        return np.concatenate([s.mel for s in self.segments], axis=-1)

    def summary(self, output: str | None = None) -> dict:
        """The --json object of CONTRACT.md."""
        return {
            "output": output, "sample_rate": self.sample_rate, "duration_s": round(self.duration_s, 3),
            "device": self.device, "model": self.model, "vocoder": self.vocoder, "polished": self.polished,
            "synthesis_s": round(self.synthesis_s, 4), "vocoder_s": round(self.vocoder_s, 4),
            "rtf": round(self.rtf, 4), "segments": [s.summary() for s in self.segments],
        }


def join_segments(wavs: list[np.ndarray], sample_rate: int) -> np.ndarray:
    gap = np.zeros(int(SENTENCE_GAP_S * sample_rate), dtype=np.float32)
    parts = []
    for i, w in enumerate(wavs):
        if i:
            parts.append(gap)
        parts.append(w)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def vocode_result(result: SynthesisResult, vocoder) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    wavs = vocoder.vocode_batch([s.mel for s in result.segments])
    return join_segments(wavs, vocoder.audio.sample_rate), time.perf_counter() - start


def text_to_speech(synth: Synthesizer, vocoder, text: str, style: Style | None = None, speaker=None,
                   cancel=None) -> Take:
    result = synth.synthesize(text, style=style, speaker=speaker, cancel=cancel)
    wav, vocoder_s = vocode_result(result, vocoder)
    return Take(text=text, wav=wav, sample_rate=synth.audio.sample_rate, segments=result.segments,
                model=synth.name, vocoder=vocoder.name, device=synth.device.type,
                style=style.describe() if style else "default", synthesis_s=result.synthesis_s,
                vocoder_s=vocoder_s, token_weights=result.token_weights)
