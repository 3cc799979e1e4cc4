"""Views of the training tab: loss curves (total, components, validation) and a run's latest
attention alignment."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from studio.views.axes import Placeholder

COLOURS = {"total": "#f4f1de", "val": "#ff6b6b", "mel": "#4cc9f0", "postnet": "#80ed99", "stop": "#f9c74f",
           "guided_attention": "#c77dff"}
SPARE = ["#f8961e", "#90be6d", "#577590", "#f94144", "#43aa8b", "#e9c46a"]
LOG_FLOOR = 1e-6
MAX_DRAWN = 2000
"""Curves longer than this are drawn as per-bin minima and maxima (what a plot a few thousand pixels
wide can show); pyqtgraph's own downsampling would redo that on every change of the view range."""


def peak_decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_DRAWN) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: the minimum and the maximum of each bin, in order of x."""
    n = len(y)
    if n <= max_points:
        return x, y
    bins = max_points // 2
    k = -(-n // bins)  # ceil
    pad = bins * k - n
    yb = np.concatenate([y, np.full(pad, y[-1])]).reshape(bins, k)
    xb = np.concatenate([x, np.full(pad, x[-1])]).reshape(bins, k)
    lo, hi = yb.argmin(axis=1), yb.argmax(axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    rows = np.arange(bins)
    xs = np.stack([xb[rows, first], xb[rows, second]], axis=1).ravel()
    ys = np.stack([yb[rows, first], yb[rows, second]], axis=1).ravel()
    return xs, ys


def ema(y, weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing; weight in [0, 0.99]."""
    y = np.asarray(y, dtype=np.float64)
    weight = float(min(max(weight, 0.0), 0.99))
    n = y.size
    if weight <= 0.0 or n < 2:
        return y
    out = np.empty(n)
    s, block = 0.0, 128  # vectorised per block (weight ** -127 stays small)
    for b0 in range(0, n, block):
        x = y[b0:b0 + block]
        k = np.arange(x.size)
        acc = np.cumsum(x * weight ** -k) * weight ** k
        out[b0:b0 + x.size] = weight ** (k + 1) * s + (1.0 - weight) * acc
        s = out[b0 + x.size - 1]
    return out / (1.0 - weight ** np.arange(1, n + 1))


class LossPlot(pg.PlotWidget):
    """Loss against step: the total, each component, and the validation loss (dots). `set_series`
    replaces the data; the log scale and smoothing (EMA) apply to what is drawn."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#14141a")
        self.setLabel("bottom", "step")
        self.setLabel("left", "loss")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        # The legend sits in its own row above the plot area (the title row), laid out across, so it
        # never covers the curves.
        self.legend = pg.LegendItem(offset=None, labelTextColor="#d0d0d8", colCount=4, verSpacing=-6,
                                    horSpacing=12)
        item.legend = self.legend
        item.layout.removeItem(item.titleLabel)
        item.titleLabel.setVisible(False)
        item.layout.addItem(self.legend, 0, 1)
        item.layout.setRowSpacing(0, 2)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.smoothing = 0.0
        self.log_y = False
        self.placeholder = Placeholder(self, "Loss curves appear here as a run trains:\n"
                                             "total, each component and the validation loss.")
        # Legend entries cost ~20 ms each to lay out: make the usual ones now, not while a run is
        # streaming its first points.
        for name in COLOURS:
            self._curve(name)

    def _curve(self, name: str) -> pg.PlotDataItem:
        curve = self.curves.get(name)
        if curve is None:
            colour = COLOURS.get(name) or SPARE[(len(self.curves)) % len(SPARE)]
            if name == "val":
                curve = self.plot([], [], name="validation", pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                  symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None)
            else:
                curve = self.plot([], [], name=name, pen=pg.mkPen(colour, width=2 if name == "total" else 1))
            curve.setZValue(10 if name in ("total", "val") else 0)
            self.curves[name] = curve
        return curve

    def set_series(self, series: dict) -> None:
        """{name: (steps, values)}; "total" and "val" are drawn on top. Empty: clears the plot."""
        for name in [n for n in self.curves if n not in series]:
            if name in COLOURS:  # a standing entry: keep it, empty
                self.curves[name].setData([], [])
            else:
                self.removeItem(self.curves.pop(name))
            self.raw.pop(name, None)
        for name, (xs, ys) in series.items():
            self.raw[name] = (np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
            self._curve(name)
        self.placeholder.set_visible(not any(len(x) for x, _ in self.raw.values()))
        self._redraw()

    def clear_series(self) -> None:
        self.set_series({})

    def set_log(self, on: bool) -> None:
        self.log_y = bool(on)
        self.setLogMode(x=False, y=self.log_y)
        self._redraw()

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = float(weight)
        self._redraw()

    def _redraw(self) -> None:
        for name, (xs, ys) in self.raw.items():
            shown = ys if name == "val" else ema(ys, self.smoothing)
            if self.log_y:
                shown = np.maximum(shown, LOG_FLOOR)
            self.curves[name].setData(*peak_decimate(xs, shown))

    def point_count(self, name: str = "total") -> int:
        """Points of a curve's data (the drawn curve may hold fewer: see MAX_DRAWN)."""
        return len(self.raw[name][0]) if name in self.raw else 0


class TrainingAlignmentView(pg.PlotWidget):
    """A run's latest validation alignment: decoder steps (x) against input symbols (y)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#14141a")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.getPlotItem().setMenuEnabled(False)
        self.setLabel("bottom", "decoder step")
        self.setLabel("left", "input symbol")
        for axis in ("bottom", "left"):
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.getViewBox().setDefaultPadding(0.0)
        self._data = np.zeros((0, 0), dtype=np.float32)
        self.placeholder = Placeholder(self, "The attention alignment of a validation sentence appears here\n"
                                             "each time the run validates (a diagonal line is good).")

    def set_alignment(self, alignment) -> None:
        a = np.asarray(alignment, dtype=np.float32)
        if a.ndim != 2 or a.size == 0:
            self.clear_alignment()
            return
        self._data = a
        steps, n = a.shape
        self.image.setImage(a, autoLevels=False, levels=(0.0, max(1e-3, float(min(1.0, a.max())))))
        self.image.setRect(QRectF(0.0, 0.0, float(steps), float(n)))
        self.placeholder.set_visible(False)
        self.getViewBox().autoRange(padding=0.0)

    def clear_alignment(self) -> None:
        self._data = np.zeros((0, 0), dtype=np.float32)
        self.image.clear()
        self.placeholder.set_visible(True)

    def image_data(self) -> np.ndarray:
        return self._data
