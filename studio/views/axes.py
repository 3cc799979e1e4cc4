"""Axis items: a mel axis labelled in Hz, a seconds axis, and an axis of input symbols."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

HZ_TICKS = [50, 100, 200, 300, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 16000,
            20000]


def mel_band_centres(audio) -> np.ndarray:
    """Centre frequency in Hz of each mel band (the Slaney mel scale librosa's filterbank uses),
    computed here in numpy: importing librosa on the GUI thread stalls it for ~350 ms."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-9) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    mels = np.linspace(hz_to_mel(audio.fmin), hz_to_mel(audio.fmax), audio.n_mels + 2)
    return mel_to_hz(mels)[1:-1]


class MelAxis(pg.AxisItem):
    """The y axis of a spectrogram drawn in mel-band units, labelled in Hz."""

    def __init__(self, **kw) -> None:
        super().__init__("left", **kw)
        self.centres: np.ndarray | None = None
        self.setLabel("Hz")
        self.enableAutoSIPrefix(False)

    def set_audio(self, audio) -> None:
        self.centres = mel_band_centres(audio)
        self.picture = None
        self.update()

    def _position(self, hz: float) -> float:
        return float(np.interp(hz, self.centres, np.arange(len(self.centres)) + 0.5))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - Qt naming
        if self.centres is None:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = self.centres[0], self.centres[-1]
        major = [self._position(h) for h in HZ_TICKS if lo <= h <= hi]
        major = [p for p in major if minVal <= p <= maxVal]
        # Keep labels at least ~16 px apart.
        px = size / max(maxVal - minVal, 1e-9)
        kept, last = [], -1e9
        for p in major:
            if (p - last) * px >= 16:
                kept.append(p)
                last = p
        return [(None, kept)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if self.centres is None:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            hz = float(np.interp(v, np.arange(len(self.centres)) + 0.5, self.centres))
            hz = min(HZ_TICKS, key=lambda h: abs(h - hz))
            out.append(f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}")
        return out


class SecondsAxis(pg.AxisItem):
    def __init__(self, orientation: str = "bottom", label: str = "time (s)", **kw) -> None:
        super().__init__(orientation, **kw)
        self.enableAutoSIPrefix(False)
        self.setLabel(label)


class TokenAxis(pg.AxisItem):
    """An axis of input symbols: symbol i covers [i, i+1); labels thin out when they would overlap."""

    def __init__(self, orientation: str = "left", **kw) -> None:
        super().__init__(orientation, **kw)
        self.tokens: list[str] = []
        self.enableAutoSIPrefix(False)

    def set_tokens(self, tokens: list[str]) -> None:
        self.tokens = [("␣" if t == " " else t) for t in tokens]
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802
        if not self.tokens:
            return []
        px = size / max(maxVal - minVal, 1e-9)
        stride = max(1, math.ceil(12 / px))
        start = max(0, int(math.floor(minVal)))
        start -= start % stride
        stop = min(len(self.tokens), int(math.ceil(maxVal)) + 1)
        return [(None, [i + 0.5 for i in range(start, stop, stride)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            i = int(math.floor(v))
            out.append(self.tokens[i] if 0 <= i < len(self.tokens) else "")
        return out


class Placeholder:
    """A quiet centred hint over an empty plot ("Press Speak…"), hidden while there is data."""

    def __init__(self, plot, text: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QLabel

        self.label = QLabel(text, plot)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setStyleSheet("QLabel { color: #8d8d99; background: transparent; }")
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.plot = plot
        self.shown: bool | None = None
        plot.installEventFilter(self._filter())
        self.set_visible(True)

    def _filter(self):
        from PySide6.QtCore import QEvent, QObject

        placeholder = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802
                if event.type() == QEvent.Type.Resize:
                    placeholder.place()
                return False

        self._keep = Filter(self.plot)
        return self._keep

    def place(self) -> None:
        self.label.setGeometry(0, 0, self.plot.width(), self.plot.height())

    def set_visible(self, on: bool) -> None:
        """Show the hint over an empty plot; its axes keep their size (nothing moves) but show no
        numbers or names, which would mean nothing without data. Only a change does anything: restyling
        an axis throws away its drawn ticks, and the views call this on every update while streaming."""
        if on == self.shown:
            return
        self.label.setVisible(on)
        self.shown = on
        item = self.plot.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setStyle(showValues=not on)
            axis.showLabel(not on and bool(axis.labelText))
        self.place()


COLORBAR_WIDTH = 58
"""Width of the spectrogram's colour bar with its dB axis; the other time views reserve the same
width on their right, so the time axes of all views line up."""


def reserve_right(plot, width: int = COLORBAR_WIDTH) -> None:
    """Keep `width` pixels free right of the plot area (where the spectrogram has its colour bar)."""
    spacer = pg.GraphicsWidget()
    spacer.setFixedWidth(width)
    item = plot.getPlotItem()
    item.layout.addItem(spacer, 2, 5)
    item.layout.setColumnFixedWidth(4, 5)
