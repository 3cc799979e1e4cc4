"""The history of takes: one row per synthesis (text, voice, style, vocoder, time, RTF)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

def describe_take(number: int, take) -> tuple[str, str]:
    """-> (one-line label, tooltip)."""
    when = dt.datetime.fromtimestamp(take.created).strftime("%H:%M:%S")
    text = " ".join(take.text.split())
    short = text if len(text) <= 48 else text[:47] + "…"
    style = take.style if len(take.style) <= 24 else take.style[:23] + "…"
    label = f"#{number}  {when}  “{short}”\n     {take.model} · {style} · {take.vocoder} · " \
            f"{take.duration_s:.2f} s · RTF {take.rtf:.2f}"
    tip = (f"Take {number} at {when}\nText: {text}\nVoice: {take.model} on {take.device}\nStyle: {take.style}\n"
           f"Vocoder: {take.vocoder}\nDuration: {take.duration_s:.2f} s\n"
           f"Synthesis {take.synthesis_s:.2f} s + vocoder {take.vocoder_s:.2f} s → RTF {take.rtf:.3f}")
    return label, tip


class TakesPane(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget(objectName="takesList")
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(False)
        self.list.setToolTip("Every synthesis adds a take: select one to see it again, Play, or Export it")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Takes</b>")
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        self.count = 0

    def add(self, take, take_id: int) -> QListWidgetItem:
        self.count += 1
        label, tip = describe_take(self.count, take)
        item = QListWidgetItem(label)
        item.setToolTip(tip)
        item.setData(Qt.ItemDataRole.UserRole, take_id)
        self.list.addItem(item)  # row i is take i: the index export_take uses
        self.list.scrollToBottom()
        return item
