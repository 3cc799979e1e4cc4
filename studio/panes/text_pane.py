"""The text to speak and the Speak / Stop / Play / Export actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QStyle, QVBoxLayout, QWidget

SAMPLE_TEXT = "For the twentieth time that evening, the two men shook hands."


class TextPane(QWidget):
    speakRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit(objectName="textInput")
        self.text.setPlaceholderText("Type what the voice should say. Ctrl+Enter speaks.")
        self.text.setPlainText(SAMPLE_TEXT)
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(80)
        st = self.style()
        self.speak = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Speak", objectName="speakButton")
        self.speak.setToolTip("Synthesise the text (Ctrl+Enter)")
        self.speak.setDefault(True)
        self.stop = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop", objectName="stopButton")
        self.stop.setToolTip("Stop synthesis and playback (Esc)")
        self.play = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "Play",
                                objectName="playButton")
        self.play.setToolTip("Play the selected take again")
        self.export = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton), "Export…",
                                  objectName="exportButton")
        self.export.setToolTip("Save the selected take as WAV or FLAC (Ctrl+S)")
        row = QHBoxLayout()
        for b in (self.speak, self.stop, self.play, self.export):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(keys), self.text)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(self._shortcut)

    def _shortcut(self) -> None:
        if self.speak.isEnabled():
            self.speak.click()

    def plain_text(self) -> str:
        return self.text.toPlainText()
