"""Part of the new-run form: build a corpus from the system's voices (`prufrock corpus build`, a
separate process) and make it the data of the next run."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSpinBox, QWidget)

from engine.paths import user_data_dir
from studio.jobs import CliJob

CORPUS_VOICES = [("all installed system voices", ""), ("espeak-ng only", "espeak")]
_PROGRESS = re.compile(r"(\d+)/(\d+)")


def default_corpus_folder() -> Path:
    return user_data_dir() / "corpora" / "system-voices"


class CorpusBuilder(QWidget):
    """The "Build a corpus from system voices" check box and, below it, its form."""

    built = Signal(bool, str, object)  # ok, message, folder
    busyChanged = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.job: CliJob | None = None
        self.check = QCheckBox("Build a corpus from system voices", objectName="corpusCheck")
        self.check.setToolTip("Render a speech corpus with the voices installed on this computer "
                              "(espeak-ng, festival) and train on it")
        self.out = QLineEdit(objectName="corpusFolderEdit")
        self.browse = QPushButton("Browse…")
        self.voices = QComboBox()
        for label, spec in CORPUS_VOICES:
            self.voices.addItem(label, spec)
        self.limit = QSpinBox()
        self.limit.setRange(1, 5000)
        self.limit.setValue(200)
        self.limit.setToolTip("How many of the CMU ARCTIC prompts each voice reads")
        self.build_button = QPushButton("Build corpus", objectName="buildCorpusButton")
        self.progress = QProgressBar(objectName="corpusProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.box = QWidget()
        form = QFormLayout(self.box)
        form.setContentsMargins(16, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(self.browse)
        form.addRow("Into:", row)
        form.addRow("Voices:", self.voices)
        form.addRow("Prompts:", self.limit)
        row = QHBoxLayout()
        row.addWidget(self.build_button)
        row.addWidget(self.progress, 1)
        form.addRow(row)
        form.addRow(self.status)
        self.box.setVisible(False)
        self.check.toggled.connect(self.box.setVisible)
        self.browse.clicked.connect(self._browse)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the new corpus", self.out.text())
        if path:
            self.out.setText(path)

    def build(self, out=None, limit: int | None = None, voices: str | None = None) -> CliJob | None:
        if self.running:
            return None
        out = Path(out or self.out.text().strip() or default_corpus_folder()).expanduser().absolute()
        self.out.setText(str(out))
        limit = limit or self.limit.value()
        voices = self.voices.currentData() if voices is None else voices
        args = ["corpus", "build", "--out", str(out), "--limit", str(limit)]
        if voices:
            args += ["--voices", voices]
        job = CliJob(*args, parent=self)
        job.line.connect(self._line)
        job.done.connect(lambda ok, msg, out=out: self._done(ok, msg, out))
        self.job = job
        self.progress.setRange(0, 0)  # busy until the first progress line
        self.status.setText("Rendering the prompts with the system's voices…")
        job.start()
        self.busyChanged.emit()
        return job

    def _line(self, line: str) -> None:
        m = _PROGRESS.search(line)
        if m and line.startswith("corpus"):
            done, total = int(m.group(1)), int(m.group(2))
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(done)
            self.progress.setFormat(f"{done} / {total}")

    def _done(self, ok: bool, message: str, out: Path) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if ok else 0)
        self.status.setText(f"Corpus ready in {out}." if ok else f"Failed: {message}")
        self.built.emit(ok, message, out)
        self.busyChanged.emit()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
