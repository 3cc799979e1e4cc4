"""Waveform view with a playhead; its time axis is linked to the spectrogram's."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from studio.views.axes import Placeholder, SecondsAxis, reserve_right
from studio.views.spectrogram import AXIS_WIDTH


class WaveformView(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems={"bottom": SecondsAxis()})
        self.setBackground("#14141a")
        self.getPlotItem().setMenuEnabled(False)
        self.curve = self.plot(pen=pg.mkPen("#7fc8f8", width=1))
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#ffd166", width=2), movable=False)
        self.playhead.setVisible(False)
        self.addItem(self.playhead)
        self.setMouseEnabled(x=True, y=False)
        vb = self.getViewBox()
        vb.enableAutoRange(x=False, y=False)
        vb.setLimits(xMin=0)
        self.setYRange(-1.0, 1.0, padding=0.02)
        self.getAxis("left").setLabel("amplitude")
        self.getAxis("left").setTicks([[(-1.0, "-1"), (0.0, "0"), (1.0, "1")], []])  # readable when short
        self.getAxis("left").setWidth(AXIS_WIDTH)
        self.wav = np.zeros(0, dtype=np.float32)
        self.sample_rate = 0
        reserve_right(self)  # the spectrogram's colour bar is there: the time axes line up
        self.placeholder = Placeholder(self, "The audio is drawn here as it is made, and plays as it comes.\n"
                                             "Click a point of a take to play from there.")

    def set_wave(self, wav: np.ndarray, sample_rate: int) -> None:
        self.wav, self.sample_rate = np.asarray(wav, dtype=np.float32), int(sample_rate)
        self.placeholder.set_visible(len(self.wav) == 0)
        if len(self.wav) == 0 or not sample_rate:
            self.curve.setData([], [])
            return
        t = np.arange(len(self.wav), dtype=np.float64) / self.sample_rate
        self.curve.setData(t, self.wav)

    def set_playhead(self, seconds: float | None) -> None:
        if seconds is None:
            self.playhead.setVisible(False)
        else:
            self.playhead.setValue(seconds)
            self.playhead.setVisible(True)
