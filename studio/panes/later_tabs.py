"""The voice-conversion and training tabs. Their features arrive in later versions: the widgets are
here (the names of CONTRACT.md) but disabled, each saying so in its tooltip. Nothing pretends to work."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from studio.panes.style_panel import DropZone

CONVERT_LATER = "Voice conversion arrives in a later version of Prufrock."
TRAINING_LATER = ("The training monitor arrives in a later version of Prufrock; "
                  "meanwhile train from a terminal with 'prufrock train'.")


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
        form = QFormLayout()
        form.addRow("Converter:", self.converter)
        layout = QVBoxLayout(self)
        layout.addWidget(_banner(CONVERT_LATER + " The controls below show where it will live."))
        layout.addLayout(form)
        layout.addWidget(self.source)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.convert)
        layout.addLayout(row)
        layout.addStretch(1)


class TrainingTab(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingTab")
        self.runs = _later(QListWidget(objectName="runsList"), TRAINING_LATER)
        self.runs.setMaximumWidth(260)
        self.start = _later(QPushButton("Start training", objectName="startTrainingButton"), TRAINING_LATER)
        self.stop = _later(QPushButton("Stop training", objectName="stopTrainingButton"), TRAINING_LATER)
        self.loss = _later(pg.PlotWidget(), TRAINING_LATER)
        self.loss.setObjectName("lossPlot")
        self.loss.setBackground("#14141a")
        self.loss.setLabel("bottom", "step")
        self.loss.setLabel("left", "loss")
        self.alignment = _later(pg.PlotWidget(), TRAINING_LATER)
        self.alignment.setObjectName("trainingAlignmentView")
        self.alignment.setBackground("#14141a")
        self.alignment.setLabel("bottom", "decoder step")
        self.alignment.setLabel("left", "input symbol")
        left = QVBoxLayout()
        left.addWidget(QLabel("Runs"))
        left.addWidget(self.runs, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.stop)
        left.addLayout(buttons)
        plots = QVBoxLayout()
        plots.addWidget(self.loss, 1)
        plots.addWidget(self.alignment, 1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addLayout(plots, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(_banner(TRAINING_LATER))
        layout.addLayout(body, 1)
        for w in (self.runs, self.loss, self.alignment):
            w.setAttribute(Qt.WidgetAttribute.WA_AlwaysShowToolTips, True)
