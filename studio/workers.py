"""Workers that run the models off the GUI thread.

    EngineWorker   (thread "prufrock-engine"):  voice loading, reference clips, streaming synthesis
    VocoderWorker  (thread "prufrock-vocoder"): vocoder loading, mel -> audio per sentence, the Take

The window talks to them only through queued signals; they answer by signals carrying plain Python
objects (numpy arrays, engine dataclasses). A job's cancel flag is a threading.Event that the
synthesizer's `cancel` callback reads at every decoder step, so Stop ends a synthesis within one
decoder chunk; the vocoder skips the remaining sentences of a cancelled job.

Life of one job:  window.speak -> EngineWorker.speak -> jobStarted, chunk*, segmentDone* ->
synthesisFinished -> VocoderWorker (segmentAudio per sentence) -> takeReady | jobCancelled | jobFailed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import BadInput, NotBuiltYet

log = logging.getLogger("prufrock.studio")
_job_ids = itertools.count(1)


def error_message(exc: BaseException, doing: str) -> str:
    """One line for the window; unexpected errors get their traceback in the log."""
    if isinstance(exc, (BadInput, NotBuiltYet)):
        return str(exc)
    log.error("%s failed:\n%s", doing, "".join(traceback.format_exception(exc)))
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{doing} failed: {text} (details in the log)"


@dataclass
class VoiceInfo:
    """What the window needs to know about a loaded voice."""

    name: str
    path: str
    device: str
    audio: object  # engine.audio.AudioConfig
    n_style_tokens: int
    default_weights: list[float]
    speakers: list[str]
    card: str
    config: dict
    load_s: float


@dataclass
class ReferenceInfo:
    path: str
    name: str
    mel: np.ndarray
    """(n_mels, T) log-mel of the trimmed clip, for display."""
    weights: list[float] | None
    """The style-token weights the reference encoder gives the clip."""


@dataclass
class SpeakJob:
    """One press of Speak. Created on the GUI thread; read by the workers."""

    text: str
    weights: list[float] | None = None
    reference: str | None = None
    speaker: str | None = None
    id: int = field(default_factory=lambda: next(_job_ids))
    cancel: threading.Event = field(default_factory=threading.Event)
    t0: float = field(default_factory=time.perf_counter)
    # Timings filled on the GUI thread as signals arrive (seconds after t0).
    first_mel_s: float | None = None
    first_audio_s: float | None = None
    done_s: float | None = None

    def is_cancelled(self) -> bool:
        return self.cancel.is_set()


@dataclass
class SynthesisSummary:
    """Sent from the engine to the vocoder when a job's decoding has ended (any way)."""

    segments: list
    synthesis_s: float
    model: str
    device: str
    style: str
    sample_rate: int
    token_weights: list[float] | None = None
    cancelled: bool = False
    error: str | None = None


class EngineWorker(QObject):
    voiceLoaded = Signal(object)  # VoiceInfo
    voiceFailed = Signal(str, str)  # spec, message
    referenceLoaded = Signal(object)  # ReferenceInfo
    referenceFailed = Signal(str, str)  # path, message
    jobStarted = Signal(object, object)  # SpeakJob, list[Segment]
    chunk = Signal(object, object)  # SpeakJob, ChunkEvent
    segmentDone = Signal(object, object)  # SpeakJob, SegmentResult
    synthesisFinished = Signal(object, object)  # SpeakJob, SynthesisSummary

    def __init__(self) -> None:
        super().__init__()
        self.synth = None
        self._references: dict[str, object] = {}

    @Slot(str, str)
    def loadVoice(self, spec: str, device: str) -> None:
        from engine.inference.synthesizer import Synthesizer

        start = time.perf_counter()
        try:
            synth = Synthesizer(spec, device=device)
            self._warm_up(synth)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.voiceFailed.emit(spec, error_message(exc, f"loading voice {spec!r}"))
            return
        self.synth = synth
        self._references.clear()
        b = synth.bundle
        self.voiceLoaded.emit(VoiceInfo(
            name=synth.name, path=str(b.path), device=synth.device.type, audio=synth.audio,
            n_style_tokens=synth.n_style_tokens, default_weights=synth.default_token_weights(),
            speakers=synth.speakers, card=b.card, config=dict(b.config), load_s=time.perf_counter() - start))

    @staticmethod
    def _warm_up(synth) -> None:
        """One decoder step and a short postnet pass, so the first Speak does not pay torch's
        first-call costs."""
        import torch

        for _ in synth.stream("Hello.", cancel=lambda: True):
            pass
        with torch.inference_mode():
            synth.model.postprocess(torch.zeros(1, synth.audio.n_mels, 12, device=synth.device))

    @Slot(str)
    def loadReference(self, path: str) -> None:
        try:
            if self.synth is None:
                raise BadInput("no voice is loaded: wait for the voice to load, then load the clip again")
            style = self.synth.reference_from_file(path)
            _, weights = self.synth.style_vector(style, 1)
        except Exception as exc:  # noqa: BLE001
            self.referenceFailed.emit(path, error_message(exc, f"reading reference clip {Path(path).name}"))
            return
        self._references = {path: style}
        mel = style.reference_mel.detach().cpu().numpy()
        self.referenceLoaded.emit(ReferenceInfo(path, Path(path).name, mel, weights))

    def _style(self, job: SpeakJob):
        from engine.inference.synthesizer import Style

        if job.reference:
            style = self._references.get(job.reference)
            if style is None:
                style = self.synth.reference_from_file(job.reference)
                self._references = {job.reference: style}
            return style, f"reference {style.source}"
        if job.weights is not None:
            style = Style(weights=list(job.weights), source="sliders")
            return style, style.describe()
        return None, "default"

    @Slot(object)
    def speak(self, job: SpeakJob) -> None:
        from engine.inference.synthesizer import ChunkEvent

        synth = self.synth
        results, start = [], time.perf_counter()
        summary = dict(model=synth.name if synth else "", device=synth.device.type if synth else "",
                       sample_rate=synth.audio.sample_rate if synth else 0)
        try:
            if synth is None:
                raise BadInput("no voice is loaded yet: wait until the voice has loaded")
            style, style_text = self._style(job)
            segments = synth.segments(job.text)
            _, weights = synth.style_vector(style, 1)
            self.jobStarted.emit(job, segments)
            if not job.is_cancelled():
                for ev in synth.stream(job.text, style=style, speaker=job.speaker, chunk_steps=4,
                                       cancel=job.is_cancelled, segments=segments):
                    if isinstance(ev, ChunkEvent):
                        self.chunk.emit(job, ev)
                    else:
                        results.append(ev.result)
                        self.segmentDone.emit(job, ev.result)
        except Exception as exc:  # noqa: BLE001
            self.synthesisFinished.emit(job, SynthesisSummary(
                results, time.perf_counter() - start, style="", error=error_message(exc, "synthesis"), **summary))
            return
        self.synthesisFinished.emit(job, SynthesisSummary(
            results, time.perf_counter() - start, style=style_text, token_weights=weights,
            cancelled=job.is_cancelled(), **summary))


class VocoderWorker(QObject):
    vocoderReady = Signal(str)  # name
    vocoderFailed = Signal(str, str)  # spec, message
    segmentAudio = Signal(object, int, object)  # SpeakJob, segment index, wav (float32)
    takeReady = Signal(object, object)  # SpeakJob, engine.inference.pipeline.Take
    jobCancelled = Signal(object)  # SpeakJob
    jobFailed = Signal(object, str)  # SpeakJob, message

    def __init__(self) -> None:
        super().__init__()
        self.vocoder = None
        self._wavs: dict[int, dict[int, np.ndarray]] = {}
        self._seconds: dict[int, float] = {}

    @Slot(str, object)
    def configure(self, spec: str, audio) -> None:
        from engine.inference.vocoder import load_vocoder

        try:
            vocoder = load_vocoder(spec, audio)
            vocoder.vocode(np.full((audio.n_mels, 8), np.log(audio.log_floor), dtype=np.float32))  # warm-up
        except Exception as exc:  # noqa: BLE001
            self.vocoderFailed.emit(spec, error_message(exc, f"loading vocoder {spec!r}"))
            return
        self.vocoder = vocoder
        self.vocoderReady.emit(vocoder.name)

    @Slot(object, object)
    def vocodeSegment(self, job: SpeakJob, result) -> None:
        if job.is_cancelled() or self.vocoder is None:
            return
        try:
            start = time.perf_counter()
            wav = self.vocoder.vocode(result.mel)
            self._seconds[job.id] = self._seconds.get(job.id, 0.0) + time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001
            self._wavs.setdefault(job.id, {})[result.index] = exc
            return
        self._wavs.setdefault(job.id, {})[result.index] = wav
        self.segmentAudio.emit(job, result.index, wav)

    @Slot(object, object)
    def finish(self, job: SpeakJob, summary: SynthesisSummary) -> None:
        from engine.inference.pipeline import Take, join_segments

        wavs = self._wavs.pop(job.id, {})
        vocoder_s = self._seconds.pop(job.id, 0.0)
        if summary.error:
            self.jobFailed.emit(job, summary.error)
            return
        if summary.cancelled or job.is_cancelled():
            self.jobCancelled.emit(job)
            return
        if self.vocoder is None:
            self.jobFailed.emit(job, "no vocoder is loaded: choose griffinlim in the vocoder list")
            return
        failed = [w for w in wavs.values() if isinstance(w, Exception)]
        if failed:
            self.jobFailed.emit(job, error_message(failed[0], "vocoding"))
            return
        try:
            for seg in summary.segments:  # sentences that arrived before the vocoder was ready
                if seg.index not in wavs:
                    start = time.perf_counter()
                    wavs[seg.index] = self.vocoder.vocode(seg.mel)
                    vocoder_s += time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001
            self.jobFailed.emit(job, error_message(exc, "vocoding"))
            return
        wav = join_segments([wavs[s.index] for s in summary.segments], summary.sample_rate)
        take = Take(text=job.text, wav=wav, sample_rate=summary.sample_rate, segments=summary.segments,
                    model=summary.model, vocoder=self.vocoder.name, device=summary.device, style=summary.style,
                    synthesis_s=summary.synthesis_s, vocoder_s=vocoder_s, token_weights=summary.token_weights)
        self.takeReady.emit(job, take)


class WorkerThread(QThread):
    """A QThread that owns one worker object (moved onto it) and runs an event loop."""

    def __init__(self, worker: QObject, name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.worker = worker
        worker.moveToThread(self)

    def stop(self, timeout_ms: int = 5000) -> bool:
        self.quit()
        return self.wait(timeout_ms)
