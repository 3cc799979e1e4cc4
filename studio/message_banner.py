"""The window's message banner: one dismissible line above the tabs, errors in red, notices in blue.

A message may name its `topic` ("voice", "vocoder", "reference", "text", "export", ...): when the thing
it complained about later succeeds, `clear(topic)` hides it, so a stale error never lingers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

COLOURS = {"error": ("#5c1f24", "#ffd6d9"), "info": ("#1d3557", "#e3f2fd")}


class MessageBanner(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.text = QLabel(objectName="messageText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss (the status bar keeps the message)")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.kind = ""
        self.topic = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error", topic: str = "") -> None:
        bg, fg = COLOURS.get(kind, COLOURS["info"])
        self.setStyleSheet(f"#messageBanner {{ background: {bg}; border-radius: 4px; }} "
                           f"#messageText {{ color: {fg}; }} QPushButton {{ color: {fg}; }}")
        self.kind, self.topic = kind, topic
        self.text.setText(("⚠ " if kind == "error" else "ℹ ") + text)
        self.show()

    def clear(self, topic: str) -> bool:
        """Hide the banner if it is about `topic` (that thing has just succeeded). True if it was."""
        if not self.isHidden() and topic and self.topic == topic:
            self.hide()
            return True
        return False
