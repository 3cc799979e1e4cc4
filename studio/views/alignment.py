"""Attention alignment view: decoder steps (x) against input symbols (y, labelled)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from studio.views.axes import TokenAxis


class AlignmentView(pg.PlotWidget):
    """Shows a (steps, symbols) attention matrix. `image_data()` returns it in that layout."""

    def __init__(self, parent=None) -> None:
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
        self._data = np.zeros((0, 0), dtype=np.float32)
        self.tokens: list[str] = []

    def set_alignment(self, alignment: np.ndarray, tokens: list[str]) -> None:
        alignment = np.asarray(alignment, dtype=np.float32)
        self._data = alignment
        if tokens != self.tokens:
            self.tokens = list(tokens)
            self.token_axis.set_tokens(self.tokens)
            self.getViewBox().setLimits(yMax=max(len(tokens), 1))
        if alignment.size == 0:
            self.image.clear()
            if tokens:
                self.setYRange(0, len(tokens), padding=0)
            return
        steps, n = alignment.shape
        self.image.setImage(alignment, autoLevels=False, levels=(0.0, 1.0))
        self.image.setRect(QRectF(0.0, 0.0, float(steps), float(n)))

    def image_data(self) -> np.ndarray:
        return self._data
