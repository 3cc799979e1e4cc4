"""The studio's engine process: loads and runs the models, without Qt.

The window's workers (studio/workers.py) start it as `python -m studio.engine_process ADDRESS` and talk
to it over three multiprocessing connections: commands in, events out, and a control line that carries
cancellations. The models run here, not in a thread of the GUI process, so their Python work never
competes with the GUI thread for the GIL (a busy thread made the window stall for 100+ ms on a loaded
machine; a process leaves it at its idle jitter).

Commands (tuples):  ("load_voice", spec, device) ("load_vocoder", spec) ("load_reference", path)
                    ("speak", {id, text, weights, reference, speaker}) ("quit",)
Events (tuples):    ("voiceLoaded", VoiceInfo) ("voiceFailed", spec, msg) ("vocoderReady", name)
                    ("vocoderFailed", spec, msg) ("referenceLoaded", ReferenceInfo) ("referenceFailed", path, msg)
                    ("jobStarted", id, segments) ("chunk", id, ChunkEvent) ("segmentDone", id, SegmentResult)
                    ("segmentAudio", id, index, wav) ("take", id, Take) ("cancelled", id) ("failed", id, msg)
Control:            a job id: that job (and any older one) is cancelled. The synthesizer's `cancel`
                    callback reads the control line at every decoder step, so Stop takes effect within
                    one decoder chunk.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("prufrock.engine")


@dataclass
class VoiceInfo:
    """What the window needs to know about a loaded voice."""

    name: str
    path: str
    device: str
    audio: object  # engine.audio.AudioConfig
    n_style_tokens: int
    default_weights: list
    speakers: list
    card: str
    config: dict
    load_s: float


@dataclass
class ReferenceInfo:
    path: str
    name: str
    mel: np.ndarray
    """(n_mels, T) log-mel of the trimmed clip, for display."""
    weights: list | None
    """The style-token weights the reference encoder gives the clip."""


def error_message(exc: BaseException, doing: str) -> str:
    """One line for the window; unexpected errors also get their traceback on stderr (the log)."""
    from engine.errors import BadInput, NotBuiltYet

    if isinstance(exc, (BadInput, NotBuiltYet)):
        return str(exc)
    log.error("%s failed:\n%s", doing, "".join(traceback.format_exception(exc)))
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{doing} failed: {text} (details in the log)"


class ChunkBatcher:
    """Joins decoder chunks that come faster than `interval_s` into one event (the first is sent at
    once), so a fast voice does not flood the window with tiny messages."""

    def __init__(self, send, interval_s: float = 0.02) -> None:
        self.send, self.interval_s = send, interval_s
        self.pending: list = []
        self.last = 0.0

    def add(self, ev) -> None:
        self.pending.append(ev)
        if time.perf_counter() - self.last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        from engine.inference.synthesizer import ChunkEvent

        evs, self.pending = self.pending, []
        if len(evs) == 1:
            ev = evs[0]
        else:
            ev = ChunkEvent(evs[0].segment, np.concatenate([e.mel for e in evs], axis=-1),
                            np.concatenate([e.alignment for e in evs], axis=0),
                            np.concatenate([e.stop_prob for e in evs], axis=0), evs[-1].elapsed_s)
        self.send(ev)
        self.last = time.perf_counter()


class Engine:
    def __init__(self, commands, events, control) -> None:
        self.commands, self.events, self.control = commands, events, control
        self.cancelled_upto = 0
        self.synth = None
        self.vocoder = None
        self.references: dict = {}

    def send(self, *msg) -> None:
        self.events.send(msg)

    def is_cancelled(self, job_id: int) -> bool:
        while self.control.poll():
            self.cancelled_upto = max(self.cancelled_upto, int(self.control.recv()))
        return job_id <= self.cancelled_upto

    def serve(self) -> None:
        while True:
            try:
                msg = self.commands.recv()
            except (EOFError, OSError):
                return
            kind, args = msg[0], msg[1:]
            if kind == "quit":
                return
            handler = getattr(self, "do_" + kind, None)
            if handler is None:
                log.error("unknown command %r", kind)
                continue
            try:
                handler(*args)
            except (EOFError, OSError):  # the window is gone
                return

    # ----- models --------------------------------------------------------------------------------
    def do_load_voice(self, spec: str, device: str) -> None:
        from engine.inference.synthesizer import Synthesizer

        start = time.perf_counter()
        try:
            synth = Synthesizer(spec, device=device)
            self._warm_up(synth)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.send("voiceFailed", spec, error_message(exc, f"loading voice {Path(spec).name!r}"))
            return
        self.synth, self.vocoder, self.references = synth, None, {}
        b = synth.bundle
        self.send("voiceLoaded", VoiceInfo(
            name=synth.name, path=spec, device=synth.device.type, audio=synth.audio,
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

    def do_load_vocoder(self, spec: str) -> None:
        from engine.errors import BadInput
        from engine.inference.vocoder import load_vocoder

        try:
            if self.synth is None:
                raise BadInput("no voice is loaded, so no vocoder can be matched to it")
            vocoder = load_vocoder(spec, self.synth.audio, device=self.synth.device)
            audio = self.synth.audio
            vocoder.vocode(np.full((audio.n_mels, 8), np.log(audio.log_floor), dtype=np.float32))  # warm-up
        except Exception as exc:  # noqa: BLE001
            self.send("vocoderFailed", spec, error_message(exc, f"loading vocoder {spec!r}"))
            return
        self.vocoder = vocoder
        self.send("vocoderReady", vocoder.name)

    def do_load_reference(self, path: str) -> None:
        from engine.errors import BadInput

        try:
            if self.synth is None:
                raise BadInput("no voice is loaded: wait for the voice to load, then load the clip again")
            style = self.synth.reference_from_file(path)
            _, weights = self.synth.style_vector(style, 1)
        except Exception as exc:  # noqa: BLE001
            self.send("referenceFailed", path, error_message(exc, f"reading reference clip {Path(path).name}"))
            return
        self.references = {path: style}
        self.send("referenceLoaded", ReferenceInfo(path, Path(path).name, style.reference_mel.cpu().numpy(),
                                                   weights))

    # ----- speaking ------------------------------------------------------------------------------
    def _style(self, job: dict):
        from engine.inference.synthesizer import Style

        if job.get("reference"):
            path = job["reference"]
            style = self.references.get(path)
            if style is None:
                style = self.synth.reference_from_file(path)
                self.references = {path: style}
            return style, f"clip {style.source}"
        if job.get("weights") is not None:
            style = Style(weights=list(job["weights"]), source="sliders")
            return style, "sliders " + ",".join(f"{w:.2f}" for w in style.weights)
        return None, "default style"

    def do_speak(self, job: dict) -> None:
        from engine.errors import BadInput
        from engine.inference.pipeline import Take, join_segments
        from engine.inference.synthesizer import ChunkEvent

        job_id = job["id"]

        def cancelled() -> bool:
            return self.is_cancelled(job_id)

        start = time.perf_counter()
        vocoder_s = 0.0
        results, wavs = [], []
        try:
            synth, vocoder = self.synth, self.vocoder
            if synth is None:
                raise BadInput("no voice is loaded yet: wait until the voice has loaded")
            if vocoder is None:
                raise BadInput("no vocoder is loaded: choose griffinlim in the vocoder list")
            style, style_text = self._style(job)
            segments = synth.segments(job["text"])
            _, weights = synth.style_vector(style, 1)
            self.send("jobStarted", job_id, segments)
            if not cancelled():
                batch = ChunkBatcher(lambda ev: self.send("chunk", job_id, ev))
                for ev in synth.stream(job["text"], style=style, speaker=job.get("speaker"), chunk_steps=4,
                                       cancel=cancelled, segments=segments):
                    if isinstance(ev, ChunkEvent):
                        batch.add(ev)
                        continue
                    batch.flush()
                    results.append(ev.result)
                    self.send("segmentDone", job_id, ev.result)
                    if cancelled():
                        break
                    t = time.perf_counter()
                    wav = vocoder.vocode(ev.result.mel)
                    vocoder_s += time.perf_counter() - t
                    wavs.append(wav)
                    self.send("segmentAudio", job_id, ev.result.index, wav)
        except Exception as exc:  # noqa: BLE001
            self.send("failed", job_id, error_message(exc, "synthesis"))
            return
        if cancelled() or len(wavs) != len(segments):
            self.send("cancelled", job_id)
            return
        sr = synth.audio.sample_rate
        take = Take(text=job["text"], wav=join_segments(wavs, sr), sample_rate=sr, segments=results,
                    model=synth.name, vocoder=vocoder.name, device=synth.device.type, style=style_text,
                    synthesis_s=time.perf_counter() - start - vocoder_s, vocoder_s=vocoder_s,
                    token_weights=weights)
        self.send("take", job_id, take)


def main(argv=None) -> int:
    from multiprocessing.connection import Client

    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="prufrock engine: %(levelname)s %(message)s")
    address = argv[0]
    authkey = bytes.fromhex(sys.stdin.readline().strip())
    events = Client(address, authkey=authkey)
    commands = Client(address, authkey=authkey)
    control = Client(address, authkey=authkey)
    try:
        Engine(commands, events, control).serve()
    except KeyboardInterrupt:
        pass
    finally:
        for c in (events, commands, control):
            c.close()
    return 0


if __name__ == "__main__":
    # Run the copy imported as studio.engine_process, so pickled classes carry that module name.
    from studio.engine_process import main as _main

    sys.exit(_main())
