"""Following a run's event log from the GUI thread without stalling it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.training.events import fold_events, read_events, read_tail

IDLE_S = 300
"""A followed run whose log has not grown for this long (and has no end event) shows as interrupted."""


class EventFollower(QObject):
    """Emits `events` (a list of dicts) with the complete lines appended to a JSON-lines file, read
    on a QTimer at most `chunk_bytes` a tick, so a long log never stalls the GUI thread."""

    events = Signal(list)

    def __init__(self, path, interval_ms: int = 250, chunk_bytes: int = 64 * 1024, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.offset = 0
        self.chunk_bytes = chunk_bytes
        self._chunk = chunk_bytes
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        # Catching up with a long log: the next chunk soon, each a short slice of the GUI thread.
        self._more = QTimer(self)
        self._more.setSingleShot(True)
        self._more.setInterval(10)
        self._more.timeout.connect(self.poll)

    def start(self, interval_ms: int | None = None) -> None:
        if interval_ms is not None:
            self.timer.setInterval(interval_ms)
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._more.stop()

    @property
    def catching_up(self) -> bool:
        """More of the log is waiting to be read (the next chunk is due in a few ms)."""
        return self._more.isActive()

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def at_end(self) -> bool:
        return self.size() <= self.offset

    def poll(self) -> list[dict]:
        """Read what was appended (at most one chunk), emit and return its events."""
        size = self.size()
        if size < self.offset:  # the log was replaced: start again
            self.offset = 0
        if size <= self.offset:
            return []
        events, offset = read_events(self.path, self.offset, max_bytes=self._chunk)
        if offset == self.offset:
            if size - self.offset >= self._chunk:  # one line longer than a chunk: read more next time
                self._chunk *= 2
            return []
        self._chunk = self.chunk_bytes
        self.offset = offset
        if self.offset < size and self.timer.isActive():
            self._more.start()
        if events:
            self.events.emit(events)
        return events

    def drain(self, max_chunks: int = 1 << 20) -> None:
        """Read to the end now (the last lines once a run's process has exited; the whole log before
        an action that needs it)."""
        for _ in range(max_chunks):
            before = self.offset
            self.poll()
            if self.offset == before:
                break


def peek_state(run_dir: Path, tail_bytes: int = 8192) -> tuple[str, int, int | None]:
    """(state, step, max_steps) of a run folder from the fold of the last few KB of its log (cheap)."""
    path = Path(run_dir) / "events.jsonl"
    if not path.exists():
        return "interrupted", 0, None
    state = fold_events(read_tail(path, tail_bytes))
    if state.ended:
        return state.status, state.step, state.max_steps
    if state.last_event_time is not None and time.time() - state.last_event_time < IDLE_S:
        return "following", state.step, state.max_steps  # written to lately: probably running elsewhere
    return "interrupted", state.step, state.max_steps
