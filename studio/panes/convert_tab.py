"""The Convert tab's layout: which converter, the source (drop, open or record it, with a level meter),
the actions, and the views: the source and converted spectrograms on one time axis and the
conversion's attention alignment. Only widgets: studio/convert_controller.py gives them life."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QSplitter, QStyle, QVBoxLayout, QWidget)

from studio.panes.style_panel import DropZone
from studio.settings import MAX_DRAWS
from studio.views import AlignmentView, SpectrogramView

NO_CONVERTER = ("No voice converter is installed, so conversion is off. Train one with "
                "'prufrock train vc --data CORPUS --target SPEAKER', install it with "
                "'prufrock models export RUN --name NAME' (or from the Training tab), or put a converter "
                "bundle in resources/models/default-vc.")
"""What the tab (and its disabled controls) say while no converter is installed."""


class SourceDrop(DropZone):
    """Where a recording to convert is dropped (or clicked to open one); shows the loaded one's name."""

    PROMPT = "Drop a recording here (or click to open one): any voice, any format soundfile reads"

    def __init__(self, parent=None) -> None:
        super().__init__(self.PROMPT, "Choose a recording to convert", parent)
        self.setObjectName("sourceDrop")
        self.setToolTip("Drop an audio file (WAV, FLAC, OGG…) or click to choose one (Ctrl+Shift+O)")
        self.name = QLabel(objectName="sourceName")
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.prompt)
        lay.addWidget(self.name)
        self.setMinimumHeight(56)


class ConvertTab(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("convertTab")
        st = self.style()
        self.note = QLabel(NO_CONVERTER, objectName="convertNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("QLabel { background: #2b2d42; color: #edf2f4; padding: 6px; border-radius: 4px; }")
        self.converter = QComboBox(objectName="converterSelector")
        self.converter.setToolTip("The voice converter: any voice in, its target voice out")
        self.converter.setMinimumContentsLength(12)
        self.converter_status = QLabel("", objectName="converterStatus")
        self.converter_status.setStyleSheet("color: #999;")

        self.source = SourceDrop()
        self.open = QPushButton("Open…", objectName="openSourceButton")
        self.open.setToolTip("Choose a recording to convert (Ctrl+Shift+O)")
        self.record = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_DialogYesButton), "Record",
                                  objectName="recordButton")
        self.stop_record = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop recording",
                                       objectName="stopRecordButton")
        self.stop_record.setToolTip("Stop recording and use what was recorded (Ctrl+R)")
        self.level = QProgressBar(objectName="inputLevel")
        self.level.setRange(0, 60)
        self.level.setTextVisible(False)
        self.level.setMaximumHeight(12)
        self.level.setToolTip("Input level (dB, -60 to 0)")
        self.record_time = QLabel("", objectName="recordTime")

        self.convert = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Convert",
                                   objectName="convertButton")
        self.stop = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop",
                                objectName="stopConvertButton")
        self.stop.setToolTip("Stop the conversion and playback (Esc)")
        self.draws = QSpinBox(objectName="convertDraws")
        self.draws.setRange(1, MAX_DRAWS)
        self.draws.setPrefix("Draws: ")
        self.draws.setToolTip("Decodings drawn per piece of the recording; the one whose words the converter's "
                              "encoder hears best is kept. 1 is fastest; 2 (the default) loses fewer words; "
                              "more cost more time and rarely help")
        self.play_source = QPushButton("Play source", objectName="playSourceButton")
        self.play_source.setToolTip("Play the recording (Ctrl+Shift+1)")
        self.play_converted = QPushButton("Play converted", objectName="playConvertedButton")
        self.play_converted.setToolTip("Play the latest conversion (Ctrl+Shift+2)")
        self.export = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton), "Export…",
                                  objectName="exportConvertedButton")
        self.export.setToolTip("Save the latest conversion as WAV or FLAC (Ctrl+S)")

        top = QHBoxLayout()
        top.addWidget(QLabel("Converter:"))
        top.addWidget(self.converter)
        top.addWidget(self.converter_status, 1)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.source, 0, 0, 2, 1)
        rec = QHBoxLayout()
        for w in (self.open, self.record, self.stop_record):
            rec.addWidget(w)
        grid.addLayout(rec, 0, 1)
        meter = QHBoxLayout()
        meter.addWidget(self.level, 1)
        meter.addWidget(self.record_time)
        grid.addLayout(meter, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        actions = QHBoxLayout()
        for w in (self.convert, self.stop, self.draws, self.play_source, self.play_converted, self.export):
            actions.addWidget(w)
        actions.addStretch(1)

        self.source_view = SpectrogramView(placeholder="Drop, open or record a recording:\n"
                                                       "its spectrogram appears here.")
        self.source_view.setObjectName("sourceSpectrogram")
        self.converted_view = SpectrogramView(placeholder="Press Convert: the converted spectrogram is drawn\n"
                                                          "here, on the source's time axis, as the converter runs.")
        self.converted_view.setObjectName("convertedSpectrogram")
        self.converted_view.setXLink(self.source_view)
        self.alignment = AlignmentView(placeholder="The conversion's attention appears here as it runs:\n"
                                                   "which moment of the recording (left) each decoder step reads.")
        self.alignment.setObjectName("convertAlignmentView")
        self.alignment.token_axis.setLabel("source time")
        views = QSplitter(Qt.Orientation.Vertical, objectName="convertViewSplitter")
        for title, view in (("Source", self.source_view), ("Converted", self.converted_view),
                            ("Alignment", self.alignment)):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(1)
            lay.addWidget(QLabel(f"<b>{title}</b>"))
            view.setMinimumHeight(50)
            lay.addWidget(view, 1)
            views.addWidget(box)
        views.setChildrenCollapsible(False)
        self.views = views

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(actions)
        layout.addWidget(views, 1)
