"""The Speak tab's layout: text, style and takes on the left; the live spectrogram, waveform and
alignment on the right (their time axes linked). Only widgets and splitters: the controllers
(studio/speak_controller.py, takes_controller.py, style_controller.py) give them life."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from studio.panes.style_panel import StylePanel
from studio.panes.takes_pane import TakesPane
from studio.panes.text_pane import TextPane
from studio.views import AlignmentView, SpectrogramView, WaveformView
from studio.views.time_link import TimeLink

PLACEHOLDER = ("Type some text and press Speak (Ctrl+Enter):\n"
               "the mel spectrogram is drawn here as the decoder runs.")


class SpeakTab(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("speakTab")
        self.text_pane = TextPane()
        self.style_panel = StylePanel()
        self.takes_pane = TakesPane()
        left = QSplitter(Qt.Orientation.Vertical, objectName="leftSplitter")
        for i, (w, stretch) in enumerate(((self.text_pane, 2), (self.style_panel, 3), (self.takes_pane, 3))):
            left.addWidget(w)
            left.setStretchFactor(i, stretch)
        left.setChildrenCollapsible(False)
        left.setSizes([190, 250, 300])
        left.setMinimumWidth(260)

        self.spectrogram = SpectrogramView(placeholder=PLACEHOLDER)
        self.spectrogram.setObjectName("spectrogramView")
        self.spectrogram.setToolTip("Mel spectrogram, colour in dB: drag or wheel to pan and zoom in time (all "
                                    "views follow); click to play from there; Ctrl+0 shows all")
        self.waveform = WaveformView()
        self.waveform.setObjectName("waveformView")
        self.waveform.setXLink(self.spectrogram)
        self.alignment = AlignmentView()
        self.alignment.setObjectName("alignmentView")
        self.alignment.setToolTip("Attention: which input symbol (left) each decoder step (bottom) reads; the "
                                  "symbol under the mouse is named in the corner")
        self.waveform.setToolTip("The audio: click to play from a point; drag or wheel to pan and zoom")
        self.before_polish = QCheckBox("Before polish", objectName="beforePolishToggle")
        self.before_polish.setEnabled(False)
        self.before_polish.setToolTip("Show the mel as the model made it, before the polisher sharpened it "
                                      "(a polished take only) (Ctrl+B)")
        self.time_link = TimeLink(self.spectrogram, self.waveform, self.alignment, self)
        views = QSplitter(Qt.Orientation.Vertical, objectName="viewSplitter")
        for title, view, stretch in (("Mel spectrogram", self.spectrogram, 4), ("Waveform", self.waveform, 2),
                                     ("Alignment", self.alignment, 4)):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(1)
            if view is self.spectrogram:  # its title row also holds the before/after-polish toggle
                row = QHBoxLayout()
                row.setContentsMargins(0, 0, 0, 0)
                row.addWidget(QLabel(f"<b>{title}</b>"))
                row.addStretch(1)
                row.addWidget(self.before_polish)
                lay.addLayout(row)
            else:
                lay.addWidget(QLabel(f"<b>{title}</b>"))
            view.setMinimumHeight(60)
            lay.addWidget(view, 1)
            views.addWidget(box)
            views.setStretchFactor(views.count() - 1, stretch)
        views.setChildrenCollapsible(False)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(views)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([340, 980])  # the plots get most of a small window
        self.left_splitter, self.view_splitter = left, views
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.main_splitter)

    def splitters(self) -> dict:
        """The splitters whose positions the settings keep, by name."""
        return {"main": self.main_splitter, "left": self.left_splitter, "views": self.view_splitter}
