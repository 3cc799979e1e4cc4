"""The window's message banner: one dismissible line, errors in red, notices in blue. It floats over
the bottom edge of the window's content (`attach(host)`), outside any layout, so nothing moves when it
appears or closes.

A message may name its `topic` ("voice", "vocoder", "reference", "text", "export", ...): when the thing
it complained about later succeeds, `clear(topic)` hides it, so a stale error never lingers."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

COLOURS = {"error": ("#5c1f24", "#ffd6d9"), "info": ("#1d3557", "#e3f2fd")}
INFO_SECONDS = 20
"""A notice hides itself after this long (the status bar and log keep it); an error stays until it is
dismissed or its thing succeeds."""


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
        self.host = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.kind == "info" and self.hide())
        self.hide()

    def attach(self, host) -> None:
        """Float over the bottom of `host` (a child of it, placed on every resize)."""
        self.setParent(host)
        self.host = host
        self.setAutoFillBackground(True)

        banner = self

        class Follow(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Type.Resize:
                    banner.place()
                return False

        self._follow = Follow(self)
        host.installEventFilter(self._follow)
        self.hide()

    def place(self) -> None:
        if self.host is None:
            return
        margin = 10
        width = max(100, self.host.width() - 2 * margin)
        lay = self.layout()
        height = lay.heightForWidth(width) if lay.hasHeightForWidth() else -1
        if height <= 0:
            height = self.sizeHint().height()
        self.setGeometry(margin, self.host.height() - height - margin, width, height)
        self.raise_()

    def show_message(self, text: str, kind: str = "error", topic: str = "") -> None:
        bg, fg = COLOURS.get(kind, COLOURS["info"])
        self.setStyleSheet(f"#messageBanner {{ background: {bg}; border-radius: 4px; }} "
                           f"#messageText {{ color: {fg}; }} QPushButton {{ color: {fg}; }}")
        self.kind, self.topic = kind, topic
        self.text.setText(("⚠ " if kind == "error" else "ℹ ") + text)
        self.place()
        self.show()
        self.raise_()
        if kind == "info":
            self._timer.start(INFO_SECONDS * 1000)
        else:
            self._timer.stop()

    def clear(self, topic: str) -> bool:
        """Hide the banner if it is about `topic` (that thing has just succeeded). True if it was."""
        if not self.isHidden() and topic and self.topic == topic:
            self.hide()
            return True
        return False
