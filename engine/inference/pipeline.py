"""The one inference walk: text or audio -> acoustic model or converter (mel, streamed in chunks)
-> [polisher] -> vocoder (audio, streamed in chunks) -> a Take.

    pipe = Pipeline(source, vocoder, polisher=None)
    take = pipe.render(request)                   # batch: say, eval, bench
    for event in pipe.stream(request, cancel):    # live: the studio's engine process forwards these
        ...   # Started, ChunkEvent, SegmentDone, Polished, AudioChunk, TakeReady

A *source* is a loaded acoustic model or converter (engine.inference.synthesizer.Synthesizer, the
converter's adapter): it turns a request into Segments (`prepare`), decodes them live (`decode_stream`) or as
batches (`render_mels`), and says how the request was styled (`style_info`). The pipeline owns what
follows the mel: polishing, vocoding, joining sentences, timing, and the Take.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from engine.inference.synthesizer import ChunkEvent, SegmentDone, SegmentResult

SENTENCE_GAP_S = 0.15
"""Silence between sentences of one take."""


@dataclass
class Take:
    """One synthesis or conversion: audio plus everything needed to show, replay or export it."""

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
    partial: bool = False
    """Stopped before the end: holds what was decoded until then."""
    source: str = "text"
    """'text' (synthesis) or the path of the converted recording."""
    polish_s: float = 0.0
    mels_before_polish: list[np.ndarray] | None = None
    """Per segment, the (n_mels, T_i) mel as the model made it, when polished (for before/after views)."""

    @property
    def duration_s(self) -> float:
        return len(self.wav) / self.sample_rate

    @property
    def rtf(self) -> float:
        return (self.synthesis_s + self.polish_s + self.vocoder_s) / max(self.duration_s, 1e-9)

    @property
    def mel(self) -> np.ndarray:
        return np.concatenate([s.mel for s in self.segments], axis=-1)

    def summary(self, output: str | None = None) -> dict:
        """The --json object of docs/commands.md."""
        return {
            "output": output, "sample_rate": self.sample_rate, "duration_s": round(self.duration_s, 3),
            "device": self.device, "model": self.model, "vocoder": self.vocoder, "polished": self.polished,
            "synthesis_s": round(self.synthesis_s + self.polish_s, 4), "vocoder_s": round(self.vocoder_s, 4),
            "rtf": round(self.rtf, 4), "segments": [s.summary() for s in self.segments],
        }


@dataclass
class Started:
    """The request is valid and decoding begins."""

    segments: list
    token_weights: list[float] | None


@dataclass
class Polished:
    segment: int
    before: np.ndarray
    after: np.ndarray


@dataclass
class AudioChunk:
    """Samples of one segment, in order; `last` marks the segment's final chunk."""

    segment: int
    wav: np.ndarray
    last: bool


@dataclass
class TakeReady:
    take: Take


def join_segments(wavs: list[np.ndarray], sample_rate: int) -> np.ndarray:
    gap = np.zeros(int(SENTENCE_GAP_S * sample_rate), dtype=np.float32)
    parts = []
    for i, w in enumerate(wavs):
        if i:
            parts.append(gap)
        parts.append(w)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class Pipeline:
    def __init__(self, source, vocoder, polisher=None) -> None:
        self.source, self.vocoder, self.polisher = source, vocoder, polisher

    def _polish(self, result: SegmentResult) -> tuple[SegmentResult, np.ndarray | None, float]:
        if self.polisher is None:
            return result, None, 0.0
        t = time.perf_counter()
        before = result.mel
        result = SegmentResult(**{**result.__dict__, "mel": self.polisher.polish(before)})
        return result, before, time.perf_counter() - t

    def _take(self, request, results, wavs, synthesis_s, polish_s, vocoder_s, befores, partial=False) -> Take:
        style_text, weights = self.source.style_info(request)
        sr = self.vocoder.audio.sample_rate
        before = list(befores) if befores and all(b is not None for b in befores) else None
        return Take(text=getattr(request, "text", "") or "", wav=join_segments(wavs, sr), sample_rate=sr,
                    segments=results, model=self.source.name, vocoder=self.vocoder.name,
                    device=self.source.device.type, style=style_text, synthesis_s=synthesis_s,
                    vocoder_s=vocoder_s, polished=self.polisher is not None, token_weights=weights,
                    partial=partial, source=getattr(request, "source", "text"), polish_s=polish_s,
                    mels_before_polish=before)

    def render(self, request, cancel=None, segments: list | None = None) -> Take:
        """Decode everything in batches, then polish and vocode (one batched vocoder call). `segments`:
        what `source.prepare(request)` returned, when the caller prepared it already."""
        result = self.source.render_mels(request, cancel=cancel, segments=segments)
        polish_s, befores, segments = 0.0, [], []
        for seg in result.segments:
            seg, before, dt = self._polish(seg)
            segments.append(seg)
            befores.append(before)
            polish_s += dt
        t = time.perf_counter()
        wavs = self.vocoder.vocode_batch([s.mel for s in segments])
        vocoder_s = time.perf_counter() - t
        return self._take(request, segments, wavs, result.synthesis_s, polish_s, vocoder_s, befores,
                          partial=result.cancelled)

    def stream(self, request, cancel=None, chunk_steps: int = 4, audio_chunk_frames: int = 40,
               segments: list | None = None) -> Iterator[Any]:
        """Live: Started, then per segment ChunkEvents, SegmentDone, [Polished], AudioChunks; finally
        TakeReady (a partial take when cancelled after at least one segment's audio)."""
        cancel = cancel or (lambda: False)
        segments = segments if segments is not None else self.source.prepare(request)
        _, weights = self.source.style_info(request)
        yield Started(segments, weights)
        start = time.perf_counter()
        polish_s = vocoder_s = 0.0
        results, wavs, befores = [], [], []
        for ev in self.source.decode_stream(request, segments=segments, cancel=cancel, chunk_steps=chunk_steps):
            if isinstance(ev, ChunkEvent):
                yield ev
                continue
            if not isinstance(ev, SegmentDone):
                continue
            yield ev
            if cancel():
                break
            seg, before, dt = self._polish(ev.result)
            polish_s += dt
            if before is not None:
                yield Polished(seg.index, before, seg.mel)
            t = time.perf_counter()
            parts = []
            for chunk in self.vocoder.stream(seg.mel, chunk_frames=audio_chunk_frames):
                parts.append(chunk)
                yield AudioChunk(seg.index, chunk, last=False)
                if cancel():
                    break
            wav = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            vocoder_s += time.perf_counter() - t
            if cancel():
                if len(wav):  # keep what was vocoded of this sentence too
                    results.append(seg)
                    wavs.append(wav)
                    befores.append(before)
                break
            yield AudioChunk(seg.index, np.zeros(0, dtype=np.float32), last=True)
            results.append(seg)
            wavs.append(wav)
            befores.append(before)
        if not results:
            return
        total = time.perf_counter() - start
        yield TakeReady(self._take(request, results, wavs, total - polish_s - vocoder_s, polish_s, vocoder_s,
                                   befores, partial=len(results) < len(segments) or cancel()))
