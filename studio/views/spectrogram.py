"""Mel spectrogram view: an ImageItem with time in seconds, the mel axis labelled in Hz, and a colour
bar in dB (the natural-log mel times 20/ln 10)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from studio.views.axes import COLORBAR_WIDTH, MelAxis, Placeholder, SecondsAxis
from studio.views.refit import DeferredRefit

AXIS_WIDTH = 56
"""Left axes of the spectrogram and the waveform have this width, so their shared time axes line up."""
LEVEL_TOP = 1.5
"""Log-mel values at or above this are drawn at the top of the colour map."""
DB_PER_NEPER = 20.0 / np.log(10.0)
"""Natural-log magnitude -> dB."""
DEFAULT_FLOOR = float(np.log(1e-5))


class SpectrogramView(DeferredRefit, pg.PlotWidget):
    """Shows a (n_mels, frames) log-mel. `image_data()` returns what is drawn, in that layout."""

    def __init__(self, parent=None, compact: bool = False, colormap: str = "inferno",
                 placeholder: str = "") -> None:
        self.mel_axis = MelAxis()
        self.time_axis = SecondsAxis()
        super().__init__(parent, axisItems={"left": self.mel_axis, "bottom": self.time_axis})
        self.setBackground("#14141a")
        self.image = pg.ImageItem(axisOrder="col-major")
        cmap = pg.colormap.get(colormap)
        self.image.setColorMap(cmap)
        self.addItem(self.image)
        self.audio = None
        self.colorbar = None
        if not compact:
            self.colorbar = pg.ColorBarItem(values=self._levels_db(), colorMap=cmap, interactive=False, width=10,
                                            label="dB", colorMapMenu=False)
            self.colorbar.setImageItem(self.image, insert_in=self.getPlotItem())
            self.colorbar.setFixedWidth(COLORBAR_WIDTH)
            self.colorbar.axis.enableAutoSIPrefix(False)
        self._data = np.zeros((0, 0), dtype=np.float32)
        self.getPlotItem().setMenuEnabled(False)
        self.setMouseEnabled(x=True, y=False)
        vb = self.getViewBox()
        vb.setLimits(xMin=0)
        vb.setDefaultPadding(0.0)
        self.user_moved = False
        self.live = False
        vb.sigRangeChangedManually.connect(self._moved)
        self.placeholder = Placeholder(self, placeholder) if placeholder else None
        self.mel_axis.setWidth(AXIS_WIDTH)
        if compact:
            self.time_axis.setLabel("")
            self.mel_axis.setLabel("")
            self.hideButtons()
            self.setMouseEnabled(x=False, y=False)
            self.setMinimumHeight(70)

    def _levels_db(self) -> tuple[float, float]:
        floor = float(np.log(self.audio.log_floor)) if self.audio is not None else DEFAULT_FLOOR
        return floor * DB_PER_NEPER, LEVEL_TOP * DB_PER_NEPER

    def set_audio(self, audio) -> None:
        self.audio = audio
        self.mel_axis.set_audio(audio)
        self.image.setLevels(self._levels_db())
        if self.colorbar is not None:
            self.colorbar.setLevels(self._levels_db())
        self.getViewBox().setLimits(yMin=0, yMax=audio.n_mels)
        self.setYRange(0, audio.n_mels, padding=0)

    def set_mel(self, mel: np.ndarray) -> None:
        """Draw a (n_mels, frames) log-mel."""
        mel = np.asarray(mel, dtype=np.float32)
        self._data = mel
        if self.placeholder:
            self.placeholder.set_visible(mel.size == 0)
        if mel.size == 0:
            self.image.clear()
            return
        n_mels, frames = mel.shape
        levels = self._levels_db() if self.audio else None
        self.image.setImage(mel.T * DB_PER_NEPER, autoLevels=levels is None, levels=levels)
        seconds = frames * self.audio.hop_length / self.audio.sample_rate if self.audio else frames
        self.image.setRect(QRectF(0.0, 0.0, seconds, float(n_mels)))
        self.setYRange(0, n_mels, padding=0)
        self._refit_if_pending()

    def _moved(self, *_):
        self.user_moved = True

    def follow(self, on: bool = True) -> None:
        """While live, the time range grows in pages (few axis redraws); else it fits the image (at the
        next set_mel: studio/views/refit.py)."""
        self.user_moved = False
        self.live = on
        if on:
            self._refit_pending = False
        else:
            self._defer_refit()

    def grow_to(self, seconds: float) -> None:
        """Live: make sure `seconds` is in view, growing the range by half again when it is not."""
        if self.user_moved:
            return
        vb = self.getViewBox()
        vb.enableAutoRange(x=False)
        hi = vb.viewRange()[0][1]
        if seconds > hi or hi > max(4.0, seconds * 4):
            self.setXRange(0, max(2.0, seconds * 1.5), padding=0)

    def image_data(self) -> np.ndarray:
        return self._data

    def clear_image(self) -> None:
        self.set_mel(np.zeros((self.audio.n_mels if self.audio else 0, 0), dtype=np.float32))
