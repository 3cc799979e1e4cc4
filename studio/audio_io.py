"""Playback with sounddevice, off the GUI thread, and graceful when there is no audio device.

`AudioOutput` is the window's handle. Its `AudioWorker` lives on the thread "prufrock-audio" and opens
and closes PortAudio streams there; PortAudio's callback thread pulls samples from a lock-protected
`PlaybackBuffer`. A take can be fed sentence by sentence while later sentences are still being made
(`begin`, `feed`, `end_feed`), or played whole (`play`).

Without PortAudio or without any output device (a server), `available` is False, and the first
attempt to play reports one clear message through `unavailable`; nothing else changes: the studio
still synthesises and exports.

`AudioInput` records a source for conversion: its `RecordWorker` lives on the same audio thread and
opens a sounddevice InputStream whose callback (PortAudio's thread) appends blocks under a lock and
keeps the last block's peak for the level meter. Recording stops on `stop()` or at the length limit.
Without an input device `available` is False and `message` says why (the record button shows it).
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from studio.workers import WorkerThread

log = logging.getLogger("prufrock.studio")
NO_DEVICE_MESSAGE = "No audio output device found: playback is off (takes can still be exported)."
NO_INPUT_MESSAGE = ("No audio input device (microphone) found: recording is off. "
                    "Drop or open a recording to convert instead.")
DEVICE_LOST_MESSAGE = ("Playback stopped: the output device went away (unplugged?). Choose another output "
                       "device; takes can still be exported.")
RECORD_LIMIT_S = 60.0
"""Longest recording; the recorder stops by itself at this length."""


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def open_started_stream(sd, make, rate: int, device, kind: str):
    """make(rate) -> an unstarted PortAudio stream. Opened at `rate`, else at the device's own default
    rate (for `kind` "input" or "output"), then started; a stream that opens but does not start is closed
    again. -> (stream, rate); raises RuntimeError with the cause's first line."""
    try:
        stream = make(rate)
    except Exception:  # noqa: BLE001 - retry at the device's own rate
        try:
            rate = int(sd.query_devices(device, kind)["default_samplerate"])
            stream = make(rate)
        except Exception as exc:  # noqa: BLE001
            raise RuntimeError(_first_line(exc)) from exc
    try:
        stream.start()
    except Exception as exc:  # noqa: BLE001 - e.g. a device that vanished between open and start
        try:
            stream.close()
        except Exception:  # noqa: BLE001
            pass
        raise RuntimeError(_first_line(exc)) from exc
    return stream, rate


class PlaybackBuffer:
    """Samples waiting to be played. Written by the audio thread, read by PortAudio's callback."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._chunks: deque[np.ndarray] = deque()
        self._lock = threading.Lock()
        self.closed = False
        self.played = 0
        self.total = 0

    def append(self, wav: np.ndarray) -> None:
        with self._lock:
            self._chunks.append(np.asarray(wav, dtype=np.float32).reshape(-1))
            self.total += len(wav)

    def close(self) -> None:
        self.closed = True

    @property
    def drained(self) -> bool:
        """Closed and everything in it played."""
        with self._lock:
            return self.closed and not self._chunks

    def read_into(self, out: np.ndarray) -> tuple[int, bool]:
        """Fill `out` (1-D); -> (samples written, finished: closed and drained)."""
        n, want = 0, len(out)
        with self._lock:
            while n < want and self._chunks:
                head = self._chunks[0]
                k = min(want - n, len(head))
                out[n : n + k] = head[:k]
                n += k
                if k == len(head):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = head[k:]
            out[n:] = 0.0
            self.played += n
            return n, self.closed and not self._chunks


class AudioWorker(QObject):
    devicesListed = Signal(object, str)  # [(index, name)], message ("" when devices exist)
    inputsListed = Signal(object, str)  # input devices, message
    failed = Signal(str)
    playingChanged = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.sd = None
        self.stream = None
        self.buffer: PlaybackBuffer | None = None
        self.device: int | None = None
        self.stream_rate = 0
        self.resample_to: int | None = None
        self._stopping = False  # we are closing the stream (its end is not a device loss)

    def _devices(self, channels: str) -> tuple[list, str | None]:
        """-> ([(index, name)] of the devices with `channels` ("max_output_channels" or
        "max_input_channels"), None) or ([], why PortAudio cannot be used)."""
        try:
            import sounddevice as sd
        except (OSError, ImportError) as exc:
            return [], f"PortAudio is not available ({exc})"
        self.sd = sd
        try:
            return [(i, d["name"]) for i, d in enumerate(sd.query_devices()) if d[channels] > 0], None
        except Exception as exc:  # noqa: BLE001
            log.warning("querying audio devices failed: %s", exc)
            return [], None

    @Slot()
    def probe(self) -> None:
        devices, why = self._devices("max_output_channels")
        if why:
            self.devicesListed.emit([], f"Audio playback is off: {why}.")
            return
        self.devicesListed.emit(devices, "" if devices else NO_DEVICE_MESSAGE)

    @Slot()
    def probeInputs(self) -> None:  # noqa: N802
        """List the input devices (for the recorder); emits inputsListed."""
        devices, why = self._devices("max_input_channels")
        if why:
            self.inputsListed.emit([], f"Recording is off: {why}. Drop or open a recording to convert instead.")
            return
        self.inputsListed.emit(devices, "" if devices else NO_INPUT_MESSAGE)

    @Slot(object)
    def setDevice(self, index) -> None:
        self.device = index

    @Slot(object)
    def start(self, buffer: PlaybackBuffer) -> None:
        self._close()
        sd = self.sd
        if sd is None:
            self.failed.emit(NO_DEVICE_MESSAGE)
            return
        self.buffer, self.resample_to = buffer, None
        try:
            self.stream, rate = open_started_stream(sd, self._open, buffer.sample_rate, self.device, "output")
        except RuntimeError as exc:
            self.stream = None
            self.failed.emit(f"Playback failed: {exc}. Choose another output device; takes can still be exported.")
            return
        if rate != buffer.sample_rate:
            self.resample_to = rate
        self.stream_rate = rate
        self._stopping = False
        self.playingChanged.emit(True)

    def _open(self, rate: int):
        sd = self.sd
        buffer = self.buffer

        def callback(outdata, frames, _time, _status):
            _, finished = buffer.read_into(outdata[:, 0])
            if finished:
                raise sd.CallbackStop

        return sd.OutputStream(samplerate=rate, channels=1, dtype="float32", device=self.device,
                               callback=callback, finished_callback=self._on_finished)

    def _on_finished(self) -> None:  # PortAudio's thread
        """The stream became inactive: played to the end, stopped by us, or its device went away (a
        stream that ends with samples still to play and nobody stopping it)."""
        buffer = self.buffer
        if not self._stopping and buffer is not None and not buffer.drained:
            self.failed.emit(DEVICE_LOST_MESSAGE)
        self.playingChanged.emit(False)

    @Slot(object, object)
    def feed(self, buffer: PlaybackBuffer, wav) -> None:
        if self.resample_to and buffer is self.buffer:
            from engine.audio.io import resample

            wav = resample(np.asarray(wav, dtype=np.float32), buffer.sample_rate, self.resample_to)
        buffer.append(wav)

    @Slot(object)
    def closeBuffer(self, buffer: PlaybackBuffer) -> None:
        buffer.close()

    @Slot()
    def stop(self) -> None:
        if self._close():
            self.playingChanged.emit(False)

    def _close(self) -> bool:
        stream, self.stream = self.stream, None
        if stream is None:
            return False
        self._stopping = True
        try:
            stream.abort()
            stream.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("closing the audio stream: %s", exc)
        return True

    def position_s(self) -> float | None:
        b = self.buffer
        if b is None or not self.stream_rate:
            return None
        return b.played / self.stream_rate


class AudioOutput(QObject):
    """The window's side of playback. All methods return at once."""

    devicesChanged = Signal(object)  # [(index, name)]
    unavailable = Signal(str)
    playingChanged = Signal(bool)
    _start = Signal(object)
    _feed = Signal(object, object)
    _stop = Signal()
    _probe = Signal()
    _device = Signal(object)
    _close = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.worker = AudioWorker()
        self.thread = WorkerThread(self.worker, "prufrock-audio")
        self._start.connect(self.worker.start)
        self._feed.connect(self.worker.feed)
        self._stop.connect(self.worker.stop)
        self._probe.connect(self.worker.probe)
        self._device.connect(self.worker.setDevice)
        self._close.connect(self.worker.closeBuffer)
        self.worker.devicesListed.connect(self._on_devices)
        self.worker.failed.connect(self._on_failed)
        self.worker.playingChanged.connect(self._on_playing)
        self.devices: list[tuple[int, str]] | None = None  # None until probed
        self.message = ""
        self.playing = False
        self._buffer: PlaybackBuffer | None = None
        self.thread.start()
        self._probe.emit()

    @property
    def available(self) -> bool:
        return bool(self.devices)

    def _on_devices(self, devices, message: str) -> None:
        self.devices, self.message = list(devices), message
        self.devicesChanged.emit(self.devices)

    def _on_failed(self, message: str) -> None:
        self.playing = False
        self._buffer = None
        self.unavailable.emit(message)

    def _on_playing(self, playing: bool) -> None:
        self.playing = playing
        self.playingChanged.emit(playing)

    def set_device(self, index: int | None) -> None:
        self._device.emit(index)

    def begin(self, sample_rate: int) -> bool:
        """Open a stream to be fed; False (and one message) when there is nothing to play on."""
        if self.devices is not None and not self.devices:
            self.unavailable.emit(self.message or NO_DEVICE_MESSAGE)
            return False
        self._buffer = PlaybackBuffer(sample_rate)
        self._start.emit(self._buffer)
        return True

    def feed(self, wav: np.ndarray) -> None:
        if self._buffer is not None:
            self._feed.emit(self._buffer, wav)

    def end_feed(self) -> None:
        """No more samples for this stream: it stops when what was fed has played."""
        if self._buffer is not None:
            self._close.emit(self._buffer)  # queued after the feeds, so nothing is cut off
            self._buffer = None

    def play(self, wav: np.ndarray, sample_rate: int) -> bool:
        if not self.begin(sample_rate):
            return False
        self.feed(wav)
        self.end_feed()
        return True

    def stop(self) -> None:
        self._buffer = None
        self._stop.emit()

    def position_s(self) -> float | None:
        return self.worker.position_s() if self.playing else None

    def shutdown(self) -> None:
        self._stop.emit()
        self.thread.stop(2000)


# ================================================================================ recording
class RecordWorker(QObject):
    """Opens and closes the input stream on the audio thread; PortAudio's callback fills `blocks`."""

    started = Signal(int)  # sample rate
    recorded = Signal(object, int)  # mono float32 samples, sample rate
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.stream = None
        self.blocks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.frames = 0
        self.limit = 0
        self.level = 0.0
        self.rate = 0

    def _callback(self, indata, frames, _time, _status) -> None:  # PortAudio's thread
        block = np.asarray(indata, dtype=np.float32)
        block = block.mean(axis=1) if block.ndim == 2 else block.reshape(-1)
        with self._lock:
            room = self.limit - self.frames
            if room <= 0:
                self.level = 0.0
                return
            block = block[:room].copy()
            self.blocks.append(block)
            self.frames += len(block)
            self.level = float(np.abs(block).max()) if len(block) else 0.0

    @Slot(object, int, float)
    def start(self, device, sample_rate: int, limit_s: float) -> None:
        self._close()
        try:
            import sounddevice as sd
        except (OSError, ImportError) as exc:
            self.failed.emit(f"Recording is off: PortAudio is not available ({exc}).")
            return
        with self._lock:
            self.blocks, self.frames, self.level = [], 0, 0.0
        def make(rate):
            self.limit, self.rate = int(limit_s * rate), rate
            return sd.InputStream(samplerate=rate, channels=1, dtype="float32", device=device,
                                  callback=self._callback)

        try:
            stream, rate = open_started_stream(sd, make, sample_rate, device, "input")
        except RuntimeError as exc:
            self.failed.emit(f"Recording failed: {exc}. Drop or open a recording instead.")
            return
        self.stream = stream
        self.started.emit(rate)

    @Slot()
    def stop(self) -> None:
        if not self._close():
            return
        with self._lock:
            wav = np.concatenate(self.blocks) if self.blocks else np.zeros(0, dtype=np.float32)
            self.blocks, self.level = [], 0.0
        self.recorded.emit(wav, self.rate)

    def _close(self) -> bool:
        stream, self.stream = self.stream, None
        if stream is None:
            return False
        try:
            stream.stop()
            stream.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("closing the input stream: %s", exc)
        return True

    def seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


class AudioInput(QObject):
    """The window's side of recording (methods return at once; the stream lives on the audio thread).

    `recorded(wav, sample_rate)` fires once per recording, after `stop()` or at the length limit."""

    inputsChanged = Signal(object)  # [(index, name)]
    started = Signal()
    recorded = Signal(object, int)
    failed = Signal(str)
    _start = Signal(object, int, float)
    _stop = Signal()
    _probe = Signal()

    def __init__(self, output: AudioOutput, parent=None) -> None:
        super().__init__(parent)
        self.worker = RecordWorker()
        self.worker.moveToThread(output.thread)  # the audio thread
        self.prober = output.worker
        self._start.connect(self.worker.start)
        self._stop.connect(self.worker.stop)
        self._probe.connect(self.prober.probeInputs)
        self.prober.inputsListed.connect(self._on_inputs)
        self.worker.started.connect(self._on_started)
        self.worker.recorded.connect(self._on_recorded)
        self.worker.failed.connect(self._on_failed)
        self.devices: list[tuple[int, str]] | None = None  # None until probed
        self.message = ""
        self.recording = False
        self.limit_s = RECORD_LIMIT_S
        self.probe()

    @property
    def available(self) -> bool:
        return bool(self.devices)

    def probe(self) -> None:
        """List the input devices again (inputsChanged follows)."""
        self._probe.emit()

    def _on_inputs(self, devices, message: str) -> None:
        self.devices, self.message = list(devices), message
        self.inputsChanged.emit(self.devices)

    def start(self, sample_rate: int = 16000, limit_s: float | None = None, device=None) -> bool:
        """Start recording; False (nothing else) when there is no input device."""
        if not self.available or self.recording:
            return False
        self.limit_s = float(limit_s or RECORD_LIMIT_S)
        self.recording = True
        self._start.emit(device, int(sample_rate), self.limit_s)
        return True

    def stop(self) -> None:
        self._stop.emit()

    def level(self) -> float:
        """Peak of the latest block, 0..1 (read by the level meter)."""
        return self.worker.level if self.recording else 0.0

    def seconds(self) -> float:
        return self.worker.seconds() if self.recording else 0.0

    def _on_started(self, _rate: int) -> None:
        self.started.emit()

    def _on_recorded(self, wav, rate: int) -> None:
        self.recording = False
        self.recorded.emit(wav, rate)

    def _on_failed(self, message: str) -> None:
        self.recording = False
        self.failed.emit(message)
