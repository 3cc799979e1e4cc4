"""The studio's engine process: loads and runs the models, without Qt.

The window's workers (studio/workers.py) start it as `python -m studio.engine_process ADDRESS` and talk
to it over three multiprocessing connections: commands in, events out, and a control line that carries
cancellations. The models run here, not in a thread of the GUI process, so their Python work never
competes with the GUI thread for the GIL (a busy thread made the window stall for 100+ ms on a loaded
machine; a process leaves it at its idle jitter).

It is a thin adapter: it loads the parts (a source: acoustic model or converter; a vocoder; an optional
polisher) and forwards the events of engine.inference.pipeline.Pipeline.stream, the one inference walk
that `prufrock say` uses too. Decoder chunks that come faster than 20 ms are batched into one event.

Commands (tuples):  ("load_voice", spec, device) ("load_vocoder", spec) ("load_polisher", on)
                    ("load_reference", path) ("speak", {id, text, weights, reference, speaker, source}) ("quit",)
Events (tuples):    ("voiceLoaded", VoiceInfo) ("voiceFailed", spec, msg) ("vocoderReady", name)
                    ("vocoderFailed", spec, msg) ("polisherReady", name or "") ("polisherFailed", msg)
                    ("referenceLoaded", ReferenceInfo) ("referenceFailed", path, msg)
                    ("jobStarted", id, Started) ("chunk", id, ChunkEvent) ("segmentDone", id, SegmentResult)
                    ("polished", id, Polished) ("audio", id, AudioChunk) ("take", id, Take)
                    ("cancelled", id) ("failed", id, msg)
                    A job ends with exactly one of take / cancelled / failed; a Stop after some audio was
                    made ends with a take whose `partial` is True.
Control:            a job id: that job (and any older one) is cancelled. The pipeline's `cancel`
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
    kind: str
    role: str
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
        self.source = None  # acoustic model or converter (the pipeline's source)
        self.vocoder = None
        self.polisher = None
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
        from engine import kinds
        from engine.bundle import load_bundle
        from engine.errors import NotBuiltYet

        start = time.perf_counter()
        try:
            bundle = load_bundle(spec)
            kind = kinds.get(bundle.kind)
            adapter = kind.adapter_class()
            if adapter is None or kind.role not in ("acoustic", "converter"):
                raise NotBuiltYet(f"{bundle.name} is a {bundle.kind} model, which cannot speak in this version")
            source = adapter(bundle, device=device)
            _warm_up(source)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.send("voiceFailed", spec, error_message(exc, f"loading voice {Path(spec).name!r}"))
            return
        self.source, self.vocoder, self.polisher, self.references = source, None, None, {}
        self.send("voiceLoaded", VoiceInfo(
            name=source.name, path=spec, kind=bundle.kind, role=kind.role, device=source.device.type,
            audio=source.audio, n_style_tokens=getattr(source, "n_style_tokens", 0),
            default_weights=source.default_token_weights() if hasattr(source, "default_token_weights") else [],
            speakers=list(getattr(source, "speakers", [])), card=bundle.card, config=dict(bundle.config),
            load_s=time.perf_counter() - start))

    def do_load_vocoder(self, spec: str) -> None:
        from engine.errors import BadInput
        from engine.inference.vocoder import load_vocoder

        try:
            if self.source is None:
                raise BadInput("no voice is loaded, so no vocoder can be matched to it")
            audio = self.source.audio
            vocoder = load_vocoder(spec, audio, device=self.source.device)
            vocoder.vocode(np.full((audio.n_mels, 8), np.log(audio.log_floor), dtype=np.float32))  # warm-up
        except Exception as exc:  # noqa: BLE001
            self.send("vocoderFailed", spec, error_message(exc, f"loading vocoder {spec!r}"))
            return
        self.vocoder = vocoder
        self.send("vocoderReady", vocoder.name)

    def do_load_polisher(self, on: bool) -> None:
        from engine.errors import BadInput
        from engine.inference.polisher import load_polisher

        if not on:
            self.polisher = None
            self.send("polisherReady", "")
            return
        try:
            if self.source is None:
                raise BadInput("no voice is loaded, so no polisher can be matched to it")
            self.polisher = load_polisher(self.source.name, device=self.source.device)
        except Exception as exc:  # noqa: BLE001
            self.polisher = None
            self.send("polisherFailed", error_message(exc, "loading the polisher"))
            return
        self.send("polisherReady", self.polisher.name)

    def do_load_reference(self, path: str) -> None:
        from engine.errors import BadInput

        try:
            if self.source is None:
                raise BadInput("no voice is loaded: wait for the voice to load, then load the clip again")
            if not hasattr(self.source, "reference_from_file"):
                raise BadInput(f"{self.source.name} takes no reference clip")
            style = self.source.reference_from_file(path)
            _, weights = self.source.style_vector(style, 1)
        except Exception as exc:  # noqa: BLE001
            self.send("referenceFailed", path, error_message(exc, f"reading reference clip {Path(path).name}"))
            return
        self.references = {path: style}
        self.send("referenceLoaded", ReferenceInfo(path, Path(path).name, style.reference_mel.cpu().numpy(),
                                                   weights))

    # ----- speaking ------------------------------------------------------------------------------
    def _request(self, job: dict):
        from engine.inference.synthesizer import SpeakRequest, Style

        style = None
        if job.get("reference"):
            path = job["reference"]
            style = self.references.get(path)
            if style is None:
                style = self.source.reference_from_file(path)
                self.references = {path: style}
        elif job.get("weights") is not None:
            style = Style(weights=list(job["weights"]), source="sliders")
        return SpeakRequest(job.get("text", ""), style=style, speaker=job.get("speaker"),
                            source=job.get("source") or "text")

    def do_speak(self, job: dict) -> None:
        """Run the pipeline for one job and forward its events (see the module docstring)."""
        from engine.errors import BadInput
        from engine.inference.pipeline import AudioChunk, Pipeline, Polished, Started, TakeReady
        from engine.inference.synthesizer import ChunkEvent, SegmentDone

        job_id = job["id"]

        def cancelled() -> bool:
            return self.is_cancelled(job_id)

        batch = ChunkBatcher(lambda ev: self.send("chunk", job_id, ev))
        took = False
        try:
            if self.source is None:
                raise BadInput("no voice is loaded yet: wait until the voice has loaded")
            if self.vocoder is None:
                raise BadInput("no vocoder is loaded: choose griffinlim in the vocoder list")
            pipeline = Pipeline(self.source, self.vocoder, self.polisher)
            for ev in pipeline.stream(self._request(job), cancel=cancelled):
                if isinstance(ev, ChunkEvent):
                    batch.add(ev)
                    continue
                batch.flush()
                if isinstance(ev, Started):
                    self.send("jobStarted", job_id, ev)
                elif isinstance(ev, SegmentDone):
                    self.send("segmentDone", job_id, ev.result)
                elif isinstance(ev, Polished):
                    self.send("polished", job_id, ev)
                elif isinstance(ev, AudioChunk):
                    self.send("audio", job_id, ev)
                elif isinstance(ev, TakeReady):
                    took = True
                    self.send("take", job_id, ev.take)
        except Exception as exc:  # noqa: BLE001
            self.send("failed", job_id, error_message(exc, "synthesis"))
            return
        if not took:
            self.send("cancelled", job_id)


def _warm_up(source) -> None:
    """A decode cancelled after its first step and a short postnet pass, so the first Speak does not
    pay torch's first-call costs (sources that cannot, skip it)."""
    import torch

    if not (hasattr(source, "stream") and hasattr(getattr(source, "model", None), "postprocess")):
        return
    for _ in source.stream("Hello.", cancel=lambda: True):
        pass
    with torch.inference_mode():
        source.model.postprocess(torch.zeros(1, source.audio.n_mels, 12, device=source.device))


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
