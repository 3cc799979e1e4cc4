"""The history of takes: one row per synthesis (text, voice, style, vocoder, time, RTF). Row i is take i
(the index export_take uses); while a take is being made a last, "in progress" row stands for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

PARTIAL = "stopped early: partial"


def describe_take(number: int, take) -> tuple[str, str]:
    """-> (one-line label, tooltip)."""
    when = dt.datetime.fromtimestamp(take.created).strftime("%H:%M:%S")
    text = " ".join(take.text.split())
    converted = getattr(take, "source", "text") not in ("", "text")
    if converted:
        text = f"converted {Path(take.source).name}" + (f": {text}" if text else "")
    short = text if len(text) <= 48 else text[:47] + "…"
    style = take.style if len(take.style) <= 24 else take.style[:23] + "…"
    mark = f"  [{PARTIAL}]" if take.partial else ""
    shown = f"⇄ {short}" if converted else f"“{short}”"
    label = f"#{number}  {when}  {shown}{mark}\n     {take.model} · {style} · {take.vocoder} · " \
            f"{take.duration_s:.2f} s · RTF {take.rtf:.2f}"
    tip = (f"Take {number} at {when}" + (f" ({PARTIAL}: what was made before Stop)" if take.partial else "")
           + (f"\nSource: {take.source}" if converted else f"\nText: {text}")
           + f"\nVoice: {take.model} on {take.device}\nStyle: {take.style}\n"
           f"Vocoder: {take.vocoder}" + (" (polished)" if take.polished else "")
           + f"\nDuration: {take.duration_s:.2f} s\n"
           f"Synthesis {take.synthesis_s:.2f} s + vocoder {take.vocoder_s:.2f} s → RTF {take.rtf:.3f}")
    return label, tip


class TakesPane(QWidget):
    deleteRequested = Signal(int)  # row
    clearRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget(objectName="takesList")
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(False)
        # Every row is two lines of the same font: with uniform sizes the list lays out one row, not all
        # of them (scrolling to a new take among 200 took 9 ms of the GUI thread, now well under 1 ms).
        self.list.setUniformItemSizes(True)
        self.list.setToolTip("Every synthesis adds a take, kept across restarts: select one to see it again, "
                             "Play, Export or Delete it")
        self.delete_button = QPushButton("Delete", objectName="deleteTakeButton")
        self.delete_button.setToolTip("Delete the selected take (Del)")
        self.clear_button = QPushButton("Clear all", objectName="clearTakesButton")
        self.clear_button.setToolTip("Delete every take")
        act = QAction("Delete take", self.list, shortcut=QKeySequence(QKeySequence.StandardKey.Delete))
        act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        act.triggered.connect(self._delete_selected)
        self.list.addAction(act)
        self.delete_button.clicked.connect(self._delete_selected)
        self.clear_button.clicked.connect(self.clearRequested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Takes</b>"), 1)
        head.addWidget(self.delete_button)
        head.addWidget(self.clear_button)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        self.count = 0
        self.pending: QListWidgetItem | None = None
        self.pending_label = ""

    def _delete_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row and self.list.item(row) is not self.pending:
            self.deleteRequested.emit(row)

    def add(self, take, take_id: int, scroll: bool = True) -> QListWidgetItem:
        """List a take as the last row (and scroll to it; the startup's restore scrolls once at the end)."""
        self.drop_pending()
        self.count += 1
        label, tip = describe_take(self.count, take)
        item = QListWidgetItem(label)
        item.setToolTip(tip)
        item.setData(Qt.ItemDataRole.UserRole, take_id)
        self.list.addItem(item)
        if scroll:
            self.list.scrollToBottom()
        return item

    def begin_pending(self, text: str) -> None:
        """A take is being made: a last row says so, and is selected."""
        self.drop_pending()
        short = " ".join(text.split())
        short = short if len(short) <= 48 else short[:47] + "…"
        self.pending_label = f"…  in progress  “{short}”"
        self.pending = QListWidgetItem(self.pending_label + "\n     starting…")  # two lines, as every row
        self.pending.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.pending.setToolTip("This take is being made")
        self.list.blockSignals(True)
        self.list.addItem(self.pending)
        self.list.setCurrentItem(self.pending)
        self.list.blockSignals(False)
        self.list.scrollToBottom()

    def set_pending_text(self, text: str) -> None:
        """The in-progress row's second line (its progress)."""
        if self.pending is not None:
            self.pending.setText(f"{self.pending_label}\n     {text}")

    def drop_pending(self) -> None:
        if self.pending is not None:
            self.list.blockSignals(True)
            self.list.takeItem(self.list.row(self.pending))
            self.list.blockSignals(False)
            self.pending = None

    def remove(self, row: int) -> None:
        self.list.takeItem(row)

    def clear_all(self) -> None:
        self.drop_pending()
        self.list.clear()
        self.count = 0
