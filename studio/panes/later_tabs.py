"""The voice-conversion tab. Its feature arrives in a later version: the widgets are here (the names of
docs/studio.md) but disabled, each saying so in its tooltip. Nothing pretends to work.

The training tab is real now (studio/panes/training_tab.py); it is re-exported here for old imports."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.bundle import installed

from studio.panes.style_panel import DropZone
from studio.panes.training_tab import TrainingTab  # noqa: F401 - re-exported

CONVERT_LATER = "Voice conversion arrives in a later version of Prufrock."


def converter_choices() -> list[str]:
    """Names of the installed models that convert speech (engine.bundle.installed(role="converter"))."""
    return [name for name, _ in installed(role="converter")]


def _banner(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("QLabel { background: #2b2d42; color: #edf2f4; padding: 8px; border-radius: 4px; }")
    return label


def _later(widget, tip: str):
    widget.setEnabled(False)
    widget.setToolTip(tip)
    return widget


class ConvertTab(QWidget):
    def __init__(self, converters: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("convertTab")
        self.converter = _later(QComboBox(objectName="converterSelector"), CONVERT_LATER)
        if converters:
            self.converter.addItems(converters)
        else:
            self.converter.addItem("(no conversion model installed)")
        self.source = _later(DropZone("Drop a recording to convert", "Choose a recording"), CONVERT_LATER)
        self.source.setObjectName("sourceDrop")
        self.source.setMinimumHeight(120)
        layout_src = QVBoxLayout(self.source)
        layout_src.addWidget(self.source.prompt)
        self.convert = _later(QPushButton("Convert", objectName="convertButton"), CONVERT_LATER)
        self.record = _later(QPushButton("Record…", objectName="recordButton"), CONVERT_LATER)
        form = QFormLayout()
        form.addRow("Converter:", self.converter)
        layout = QVBoxLayout(self)
        layout.addWidget(_banner(CONVERT_LATER + " The controls below show where it will live."))
        layout.addLayout(form)
        layout.addWidget(self.source)
        row = QHBoxLayout()
        row.addWidget(self.record)
        row.addStretch(1)
        row.addWidget(self.convert)
        layout.addLayout(row)
        layout.addStretch(1)
