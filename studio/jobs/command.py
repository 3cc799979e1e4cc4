"""Any `prufrock ...` command other than training (corpus build, model export) as a QProcess."""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QObject, QProcess, Signal

from studio.jobs.process import environment, last_line, prufrock_command, split_lines

log = logging.getLogger("prufrock.studio")


class CliJob(QObject):
    """`prufrock ARGS...` as a QProcess: `line` for each stderr line, `done(ok, message)` at the end
    (message = the last stderr line when it failed)."""

    line = Signal(str)
    done = Signal(bool, str)

    def __init__(self, *args: str, parent=None) -> None:
        super().__init__(parent)
        self.args = list(args)
        self.tail: deque[str] = deque(maxlen=20)
        self._buf = b""
        self.process = QProcess(self)
        self.process.setProcessEnvironment(environment())
        self.process.setStandardOutputFile(QProcess.nullDevice())
        self.process.readyReadStandardError.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self.finished = False

    def start(self) -> None:
        program, argv = prufrock_command(*self.args)
        log.info("job: %s %s", program, " ".join(argv))
        self.process.start(program, argv)

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        if self.running():
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()
                self.process.waitForFinished(3000)

    def _read(self) -> None:
        lines, self._buf = split_lines(self._buf, bytes(self.process.readAllStandardError()))
        for text in lines:
            if text.strip():
                self.tail.append(text.strip())
                self.line.emit(text.strip())

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.finished:
            self.finished = True
            self.done.emit(False, f"could not start ({self.process.errorString()})")

    def _finished(self, code: int, status) -> None:
        self._read()
        if self._buf.strip():
            self.tail.append(self._buf.decode("utf-8", "replace").strip())
            self._buf = b""
        if self.finished:
            return
        self.finished = True
        ok = status == QProcess.ExitStatus.NormalExit and code == 0
        self.done.emit(ok, "" if ok else (last_line(self.tail) or f"exit code {code}"))
