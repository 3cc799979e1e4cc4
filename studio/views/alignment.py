"""Attention alignment view: decoder steps (x) against input symbols (y, labelled)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from studio.views.axes import Placeholder, TokenAxis, reserve_right
from studio.views.refit import DeferredRefit


class AlignmentView(DeferredRefit, pg.PlotWidget):
    """Shows a (steps, symbols) attention matrix. `image_data()` returns it in that layout."""

    HINT = ("The attention alignment appears here as the voice reads the text:\n"
            "decoder steps across, input symbols up the side.")

    def __init__(self, parent=None, placeholder: str = "") -> None:
        self.token_axis = TokenAxis("left")
        super().__init__(parent, axisItems={"left": self.token_axis})
        self.setBackground("#14141a")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.getPlotItem().setMenuEnabled(False)
        self.getAxis("bottom").setLabel("decoder step")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.getViewBox().setLimits(xMin=0, yMin=0)
        self.getViewBox().setDefaultPadding(0.0)
        self._data = np.zeros((0, 0), dtype=np.float32)
        self.tokens: list[str] = []
        self.live = False
        self.user_moved = False
        self.getViewBox().sigRangeChangedManually.connect(self._moved)
        self.placeholder = Placeholder(self, placeholder or self.HINT)
        self.token_axis.setWidth(56)  # as the spectrogram's and waveform's left axes: the plots line up
        reserve_right(self)
        self.hover = pg.TextItem("", color="#f4f1de", anchor=(1, 0), fill=pg.mkBrush(20, 20, 26, 200))
        self.hover.setZValue(20)
        self.hover.setVisible(False)
        self.addItem(self.hover, ignoreBounds=True)

    def _moved(self, *_):
        self.user_moved = True

    REFIT_AXES = {}  # both axes

    def follow(self, live: bool) -> None:
        """Live: the step range grows in pages (few axis redraws). Done: fit the whole alignment (at the
        next set_alignment: studio/views/refit.py)."""
        self.live = live
        self.user_moved = False
        if live:
            self._refit_pending = False
        else:
            self._defer_refit()

    def set_alignment(self, alignment: np.ndarray, tokens: list[str]) -> None:
        alignment = np.asarray(alignment, dtype=np.float32)
        self._data = alignment
        self.placeholder.set_visible(alignment.size == 0 and not tokens)
        if tokens != self.tokens:
            self.tokens = list(tokens)
            self.token_axis.set_tokens(self.tokens)
            self.getViewBox().setLimits(yMax=max(len(tokens), 1))
        if alignment.size == 0:
            self.image.clear()
            if tokens:
                self.setYRange(0, len(tokens), padding=0)
            self._refit_if_pending()
            return
        steps, n = alignment.shape
        self.image.setImage(alignment, autoLevels=False, levels=(0.0, 1.0))
        self.image.setRect(QRectF(0.0, 0.0, float(steps), float(n)))
        if self.live and not self.user_moved:
            vb = self.getViewBox()
            vb.enableAutoRange(False)
            (x0, x1), (y0, y1) = vb.viewRange()
            if steps > x1 or x1 > max(100, steps * 4):
                self.setXRange(0, max(50, steps * 1.5), padding=0)
            if (y0, y1) != (0, n):
                self.setYRange(0, n, padding=0)
        self._refit_if_pending()

    def image_data(self) -> np.ndarray:
        return self._data

    def hover_text(self, step: float, symbol: float) -> str:
        """The full label of the input symbol at (step, symbol) and how much attention it gets there
        (the axis shows every k-th symbol when they do not all fit)."""
        i, k = int(np.floor(symbol)), int(np.floor(step))
        if not 0 <= i < len(self.tokens):
            return ""
        token = "space" if self.tokens[i] == " " else self.tokens[i]
        weight = f" · attention {self._data[k, i]:.2f}" if 0 <= k < self._data.shape[0] and \
            i < self._data.shape[1] else ""
        return f"{token}  (symbol {i + 1}/{len(self.tokens)}) · step {max(k, 0)}{weight}"

    def show_hover(self, step: float | None, symbol: float | None) -> None:
        """Put the hover label in the top right corner (None hides it)."""
        text = self.hover_text(step, symbol) if step is not None and symbol is not None else ""
        self.hover.setVisible(bool(text))
        if text:
            self.hover.setText(text)
            (x0, x1), (y0, y1) = self.getViewBox().viewRange()
            self.hover.setPos(x1, y1)
