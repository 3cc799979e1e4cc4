"""Style panel: one slider per global style token, a reset button, and a reference-clip drop zone."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QScrollArea, QSlider, QToolButton, QVBoxLayout, QWidget)

from studio.views.spectrogram import SpectrogramView

SLIDER_STEPS = 100
"""A slider's range 0..SLIDER_STEPS maps to token weights 0.0..1.0."""
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3 *.aiff *.aif *.au);;All files (*)"
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".snd", ".w64", ".caf"}


class DropZone(QFrame):
    """A frame that takes one dropped audio file, or opens a file dialog when clicked."""

    fileChosen = Signal(str)

    def __init__(self, prompt: str, dialog_title: str, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.dialog_title = dialog_title
        self.start_folder = str(Path.home())
        self.settings = None  # studio.settings.Settings: dialogs open in the last folder used
        self.prompt = QLabel(prompt)
        self.prompt.setWordWrap(True)
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._set_highlight(False)

    def _set_highlight(self, on: bool) -> None:
        colour = "#ffd166" if on else "#666"
        self.setStyleSheet(f"DropZone {{ border: 2px dashed {colour}; border-radius: 6px; }}")

    @staticmethod
    def _first_file(event) -> str | None:
        md = event.mimeData()
        if md.hasUrls():
            for url in md.urls():
                if url.isLocalFile():
                    return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self.isEnabled() and self._first_file(event):
            event.acceptProposedAction()
            self._set_highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._set_highlight(False)

    def dropEvent(self, event) -> None:  # noqa: N802
        self._set_highlight(False)
        path = self._first_file(event)
        if path:
            event.acceptProposedAction()
            self.fileChosen.emit(path)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled():
            self.open_dialog()

    def open_dialog(self) -> None:
        start = self.settings.last_folder if self.settings is not None else self.start_folder
        path, _ = QFileDialog.getOpenFileName(self, self.dialog_title, start, AUDIO_FILTER)
        if path:
            self.start_folder = str(Path(path).parent)
            if self.settings is not None:
                self.settings.remember_file(path)
            self.fileChosen.emit(path)


class ReferenceDrop(DropZone):
    """Drop zone for a style reference clip; shows the clip's name and spectrogram once loaded."""

    def __init__(self, parent=None) -> None:
        super().__init__("Drop a voice clip here (or click) to copy its style",
                         "Choose a reference clip", parent)
        self.setObjectName("referenceDrop")
        self.setToolTip("Drop an audio file (WAV, FLAC, OGG…) or click to choose one. While a clip is loaded "
                        "the next takes follow its style; Reset returns to the sliders.")
        self.name = QLabel()
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.spectrogram = SpectrogramView(compact=True)
        self.spectrogram.setObjectName("referenceSpectrogram")
        self.spectrogram.setFixedHeight(80)
        self.spectrogram.setVisible(False)
        self.spectrogram.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.prompt)
        layout.addWidget(self.name)
        layout.addWidget(self.spectrogram)
        self.name.setVisible(False)

    def show_loading(self, path: str) -> None:
        self.name.setText(f"Loading {Path(path).name}…")
        self.name.setVisible(True)

    def show_reference(self, info, audio) -> None:
        self.prompt.setText("Reference clip (drop another to replace it):")
        self.name.setText(f"<b>{info.name}</b> · {info.mel.shape[-1] * audio.hop_length / audio.sample_rate:.1f} s")
        self.name.setVisible(True)
        self.spectrogram.set_audio(audio)
        self.spectrogram.set_mel(info.mel)
        self.spectrogram.autoRange(padding=0)
        self.spectrogram.setVisible(True)

    def clear_reference(self) -> None:
        self.prompt.setText("Drop a voice clip here (or click) to copy its style")
        self.name.setVisible(False)
        self.spectrogram.setVisible(False)


class StylePanel(QGroupBox):
    """Sliders styleTokenSlider0..N-1 (one per style token of the voice), styleResetButton, referenceDrop."""

    weightChanged = Signal(int, float)
    resetRequested = Signal()
    previewRequested = Signal(int)  # token: speak the fixed phrase with it emphasised

    def __init__(self, parent=None) -> None:
        super().__init__("Style", parent)
        self.sliders: list[QSlider] = []
        self.values: list[QLabel] = []
        self.labels: list[QLabel] = []
        self.previews: list[QToolButton] = []
        self.effects: list = []
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(2)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #999;")
        self.reset = QPushButton("Reset", objectName="styleResetButton")
        self.reset.setToolTip("Clear the reference clip and put the sliders back to the voice's default style")
        self.reset.clicked.connect(self.resetRequested)
        self.drop = ReferenceDrop()
        top = QHBoxLayout()
        top.addWidget(self.note, 1)
        top.addWidget(self.reset)
        layout = QVBoxLayout(self)
        # At small window sizes the sliders scroll rather than squash onto each other.
        self.scroll = QScrollArea(objectName="styleSliderScroll")
        self.scroll.setWidget(self.grid_host)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(40)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.drop)

    def build(self, n_tokens: int) -> None:
        """One slider per style token (rebuilt when the voice changes)."""
        for w in self.sliders + self.values + self.labels + self.previews:
            w.setParent(None)
            w.deleteLater()
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.sliders, self.values, self.labels, self.previews, self.effects = [], [], [], [], []
        for i in range(n_tokens):
            label = QLabel(f"token {i}", objectName=f"styleTokenLabel{i}")
            label.setToolTip("What this token does is being measured (F0 and speaking rate of a short phrase)…")
            label.setMinimumWidth(64)
            slider = QSlider(Qt.Orientation.Horizontal, objectName=f"styleTokenSlider{i}")
            slider.setRange(0, SLIDER_STEPS)
            slider.setToolTip(f"Weight of style token {i} (0 to 1)")
            value = QLabel("0.00")
            value.setMinimumWidth(32)
            preview = QToolButton(objectName=f"styleTokenPreview{i}")
            preview.setText("▶")
            preview.setAutoRaise(True)
            preview.setToolTip(f"Hear token {i}: speak a short fixed phrase with it emphasised (the sliders stay)")
            preview.clicked.connect(lambda _=False, i=i: self.previewRequested.emit(i))
            slider.valueChanged.connect(lambda v, i=i: self._moved(i, v))
            self.grid.addWidget(label, i, 0)
            self.grid.addWidget(slider, i, 1)
            self.grid.addWidget(value, i, 2)
            self.grid.addWidget(preview, i, 3)
            self.sliders.append(slider)
            self.values.append(value)
            self.labels.append(label)
            self.previews.append(preview)
        self.note.setText("This voice has no style tokens." if n_tokens == 0 else
                          f"{n_tokens} style tokens: move a slider to mix the voice's learned styles.")
        self.drop.setEnabled(n_tokens > 0)

    def set_effects(self, effects) -> None:
        """Say what each token does (studio.token_effects.TokenEffect per token): "3 · higher, faster",
        the measured figures in the tooltips."""
        if len(effects) != len(self.sliders):
            return
        self.effects = list(effects)
        for e, label, slider in zip(effects, self.labels, self.sliders):
            label.setText(f"{e.token} · {e.words}")
            label.setToolTip(e.tooltip())
            slider.setToolTip(f"Weight of style token {e.token} (0 to 1): {e.words}\n{e.tooltip()}")

    def _moved(self, i: int, v: int) -> None:
        self.values[i].setText(f"{v / SLIDER_STEPS:.2f}")
        if not self.sliders[i].signalsBlocked():
            self.weightChanged.emit(i, v / SLIDER_STEPS)

    def show_weights(self, weights: list[float], *, editable: bool) -> None:
        """Put the sliders at `weights` without telling anyone (a reset, or a reference's weights)."""
        for slider, value, w in zip(self.sliders, self.values, weights):
            slider.blockSignals(True)
            slider.setValue(int(round(w * SLIDER_STEPS)))
            slider.blockSignals(False)
            value.setText(f"{w:.2f}")
            slider.setEnabled(editable)
