"""The window's workers: a QThread/QObject pair that owns the engine process and streams its results
as Qt signals.

    EngineWorker (QObject, GUI thread)   starts `python -m studio.engine_process`, sends it commands
                                         (load a voice, a vocoder, a reference clip; speak), cancels jobs
    EventReader  (QThread)               blocks on the engine's event line and emits one signal per event

Model loading, synthesis (streamed chunk by chunk) and vocoding (sentence by sentence) all run in the
engine process (see engine_process.py for why a process and not a thread). A job's Stop sends its id on
the control line; the synthesizer's `cancel` callback reads that line at every decoder step, so a
synthesis ends within one decoder chunk.

Life of one job:  speak(job) -> jobStarted, chunk*, segmentDone*, polished*, audioChunk* -> takeReady |
jobCancelled | jobFailed (exactly one of the three; a Stop after some audio ends with a partial take).
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Listener

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from engine.paths import PROJECT_ROOT
from studio.engine_process import ConverterInfo, ReferenceInfo, SourceInfo, VoiceInfo  # noqa: F401 - re-exported

log = logging.getLogger("prufrock.studio")
_job_ids = itertools.count(1)


@dataclass
class SpeakJob:
    """One press of Speak, on the GUI side."""

    text: str
    weights: list | None = None
    reference: str | None = None
    speaker: str | None = None
    source: str = "text"
    """'text', or the path of a recording to convert."""
    vocoder: str | None = None
    """The vocoder choice (a conversion loads it for the converter when the voice's does not fit)."""
    polish: bool = False
    """Polish on: a conversion uses the polisher made for its converter, when one is installed."""
    candidates: int | None = None
    """A conversion's draws per segment, the clearest kept (None: the converter's default)."""
    purpose: str = ""
    """Said first in the take's style, e.g. "preview of token 3" (such a take never restores the sliders)."""
    id: int = field(default_factory=lambda: next(_job_ids))
    t0: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    started: bool = False
    """The engine said jobStarted (a second one means it runs the job again, e.g. on the CPU)."""
    # Seconds after t0, filled on the GUI thread as the signals arrive.
    first_mel_s: float | None = None
    first_audio_s: float | None = None
    done_s: float | None = None

    def is_cancelled(self) -> bool:
        return self.cancelled

    def command(self) -> dict:
        return {"id": self.id, "text": self.text, "weights": self.weights, "reference": self.reference,
                "speaker": self.speaker, "source": self.source, "vocoder": self.vocoder, "polish": self.polish,
                "candidates": self.candidates}

    @property
    def converting(self) -> bool:
        return self.source not in ("", "text")


class EventReader(QThread):
    """Accepts the engine's connections, then turns each event into a signal (queued to the GUI)."""

    connected = Signal()
    event = Signal(tuple)
    lost = Signal(str)

    def __init__(self, listener: Listener, owner: "EngineWorker") -> None:
        super().__init__()
        self.setObjectName("prufrock-engine-reader")
        self.listener, self.owner = listener, owner
        self.stopping = False

    def run(self) -> None:
        try:
            events = self.listener.accept()
            commands = self.listener.accept()
            control = self.listener.accept()
        except Exception as exc:  # noqa: BLE001
            if not self.stopping:
                self.lost.emit(f"the engine process could not connect ({exc})")
            return
        if self.stopping:
            for c in (events, commands, control):
                c.close()
            return
        self.owner._connected(commands, control)
        self.connected.emit()
        while True:
            try:
                msg = events.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001 - an event that cannot be unpickled
                log.error("bad event from the engine: %s", exc)
                continue
            self.event.emit(msg)
        events.close()
        if not self.stopping:
            self.lost.emit("the engine process stopped unexpectedly")


class EngineWorker(QObject):
    """The models, from the window's point of view. Every method returns at once."""

    voiceLoaded = Signal(object)  # VoiceInfo
    voiceFailed = Signal(str, str)  # spec, message
    vocoderReady = Signal(str)  # name
    vocoderFailed = Signal(str, str)  # spec, message
    polisherReady = Signal(str)  # name, "" when off
    polisherFailed = Signal(str)  # message
    referenceLoaded = Signal(object)  # ReferenceInfo
    referenceFailed = Signal(str, str)  # path, message
    converterLoaded = Signal(object)  # ConverterInfo
    converterFailed = Signal(str, str)  # spec, message
    sourceLoaded = Signal(object)  # SourceInfo
    sourceFailed = Signal(str, str)  # path, message
    tokensMeasured = Signal(str, object)  # voice, [TokenEffect]
    tokensFailed = Signal(str, str)  # voice, message
    jobStarted = Signal(int, object)  # job id, engine.inference.pipeline.Started
    chunk = Signal(int, object)  # job id, ChunkEvent
    segmentDone = Signal(int, object)  # job id, SegmentResult
    polished = Signal(int, object)  # job id, Polished
    audioChunk = Signal(int, object)  # job id, AudioChunk
    takeReady = Signal(int, object)  # job id, Take
    jobCancelled = Signal(int)
    jobFailed = Signal(int, str)
    engineLost = Signal(str)
    notice = Signal(str)  # something the engine did on its own that the user should know (one line)

    _EVENTS = {"voiceLoaded": "voiceLoaded", "voiceFailed": "voiceFailed", "vocoderReady": "vocoderReady",
               "vocoderFailed": "vocoderFailed", "polisherReady": "polisherReady",
               "polisherFailed": "polisherFailed", "referenceLoaded": "referenceLoaded",
               "referenceFailed": "referenceFailed", "converterLoaded": "converterLoaded",
               "converterFailed": "converterFailed", "sourceLoaded": "sourceLoaded", "sourceFailed": "sourceFailed",
               "tokensMeasured": "tokensMeasured", "tokensFailed": "tokensFailed", "jobStarted": "jobStarted", "chunk": "chunk",
               "segmentDone": "segmentDone", "polished": "polished", "audio": "audioChunk", "take": "takeReady",
               "cancelled": "jobCancelled", "failed": "jobFailed", "notice": "notice"}

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[tuple] = []
        self._commands = self._control = None
        self._closed = False
        self._shut = False
        self.authkey = secrets.token_bytes(16)
        self.listener = Listener(authkey=self.authkey)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        # The engine runs at the window's own priority (engine/priority.py explains why, since it runs on
        # one thread); $PRUFROCK_NICENESS, when the studio was given one, passes through to it.
        address = str(self.listener.address)
        if getattr(sys, "frozen", False):  # a PyInstaller build: the executable is `prufrock` itself
            command = [sys.executable, "studio", "--engine-process", address]
        else:
            command = [sys.executable, "-m", "studio.engine_process", address]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        self.process.stdin.write((self.authkey.hex() + "\n").encode())
        self.process.stdin.close()
        self.reader = EventReader(self.listener, self)
        self.reader.event.connect(self._dispatch)
        self.reader.lost.connect(self._lost)
        self.reader.start()
        self._watch = QTimer(self)
        self._watch.setInterval(500)
        self._watch.timeout.connect(self._check_alive)
        self._watch.start()

    # ----- sending -------------------------------------------------------------------------------
    def _connected(self, commands, control) -> None:  # reader thread
        with self._lock:
            self._commands, self._control = commands, control
            for kind, msg in self._pending:
                (self._commands if kind == "cmd" else self._control).send(msg)
            self._pending.clear()

    def _send(self, kind: str, msg) -> None:
        with self._lock:
            if self._closed:
                return
            conn = self._commands if kind == "cmd" else self._control
            if conn is None:
                self._pending.append((kind, msg))
                return
            try:
                conn.send(msg)
            except (OSError, ValueError) as exc:
                log.warning("cannot reach the engine: %s", exc)

    def load_voice(self, spec: str, device: str = "auto") -> None:
        self._send("cmd", ("load_voice", spec, device))

    def load_vocoder(self, spec: str) -> None:
        self._send("cmd", ("load_vocoder", spec))

    def load_polisher(self, on: bool) -> None:
        self._send("cmd", ("load_polisher", bool(on)))

    def load_reference(self, path: str) -> None:
        self._send("cmd", ("load_reference", path))

    def load_converter(self, spec: str, device: str = "auto") -> None:
        self._send("cmd", ("load_converter", spec, device))

    def load_source(self, path: str) -> None:
        self._send("cmd", ("load_source", path))

    def measure_tokens(self, voice: str, phrase: str, cache: str | None) -> None:
        self._send("cmd", ("measure_tokens", {"voice": voice, "phrase": phrase, "cache": cache}))

    def speak(self, job: SpeakJob) -> None:
        self._send("cmd", ("speak", job.command()))

    def cancel(self, job: SpeakJob) -> None:
        job.cancelled = True
        self._send("ctl", job.id)

    # ----- receiving -----------------------------------------------------------------------------
    def _dispatch(self, msg: tuple) -> None:
        name = self._EVENTS.get(msg[0])
        if name is None:
            log.error("unknown event %r from the engine", msg[0])
            return
        getattr(self, name).emit(*msg[1:])

    def _check_alive(self) -> None:
        code = self.process.poll()
        if code is not None and not self._closed and self._commands is None:
            self._watch.stop()
            self._unblock_accept()
            self._lost(f"the engine process exited at start (code {code})")

    def _lost(self, why: str) -> None:
        if self._closed:
            return
        self._watch.stop()
        with self._lock:
            self._closed = True  # nothing more can be sent
        self.engineLost.emit(f"{why}: the models are not available; restart the studio (details in the log)")

    def _unblock_accept(self) -> None:
        self.reader.stopping = True
        for _ in range(3):
            try:
                Client(self.listener.address, authkey=self.authkey).close()
            except Exception:  # noqa: BLE001
                break

    # ----- closing -------------------------------------------------------------------------------
    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Cancel work, ask the engine to quit, and wait for it (then kill it). Idempotent."""
        if self._shut:
            return
        self._shut = True
        self._watch.stop()
        self.reader.stopping = True
        self._send("ctl", 1 << 62)  # cancels any running job
        self._send("cmd", ("quit",))
        with self._lock:
            self._closed = True
            connected = self._commands is not None
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if not connected:
            self._unblock_accept()
        if not self.reader.wait(5000):
            log.warning("the engine reader thread did not stop")
        with self._lock:
            for c in (self._commands, self._control):
                if c is not None:
                    c.close()
        self.listener.close()


class WorkerThread(QThread):
    """A QThread that owns one worker QObject (moved onto it) and runs an event loop for it."""

    def __init__(self, worker: QObject, name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.worker = worker
        worker.moveToThread(self)

    def stop(self, timeout_ms: int = 5000) -> bool:
        self.quit()
        return self.wait(timeout_ms)
