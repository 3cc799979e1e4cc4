"""One time axis across the Speak tab's views: the spectrogram and waveform are in seconds, the alignment
in decoder steps; `TimeMap` converts between the two (piecewise, sentence by sentence, from the take's
frame and step counts) and `TimeLink` uses it to

- zoom and pan together: a change of the time range in any view sets the others (mapped);
- show one time cursor (a dashed line) in all three views where the mouse is, with the full label of
  the input symbol under it in the alignment's corner;
- show the playhead in all three during playback;
- turn a click (not a drag) in any of them into `clicked(seconds)`: the window plays from there.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal


class TimeMap:
    """Seconds <-> decoder steps, from pieces (t0, t1, step0, step1), one per sentence, in order."""

    def __init__(self, pieces=()) -> None:
        self.pieces = [p for p in pieces if p[1] > p[0] and p[3] > p[2]]

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def step(self, seconds: float) -> float:
        if not self.pieces:
            return float(seconds)
        t = np.array([[p[0], p[1]] for p in self.pieces]).ravel()
        s = np.array([[p[2], p[3]] for p in self.pieces], dtype=np.float64).ravel()
        return float(np.interp(seconds, t, s, left=s[0] + (seconds - t[0]) * (s[1] - s[0]) / (t[1] - t[0]),
                               right=s[-1] + (seconds - t[-1]) * (s[-1] - s[-2]) / max(t[-1] - t[-2], 1e-9)))

    def seconds(self, step: float) -> float:
        if not self.pieces:
            return float(step)
        t = np.array([[p[0], p[1]] for p in self.pieces]).ravel()
        s = np.array([[p[2], p[3]] for p in self.pieces], dtype=np.float64).ravel()
        # Steps are continuous across sentences (the gap has none): take the first time of a step.
        keep = np.concatenate([[True], np.diff(s) > 0])
        return float(np.interp(step, s[keep], t[keep],
                               left=t[0] + (step - s[0]) * (t[1] - t[0]) / (s[1] - s[0]),
                               right=t[-1] + (step - s[-1]) * (t[-1] - t[-2]) / max(s[-1] - s[-2], 1e-9)))


def _line(pen) -> pg.InfiniteLine:
    line = pg.InfiniteLine(pos=0, angle=90, pen=pen, movable=False)
    line.setVisible(False)
    line.setZValue(15)
    return line


class TimeLink(QObject):
    clicked = Signal(float)  # seconds into the shown take

    def __init__(self, spectrogram, waveform, alignment, parent=None) -> None:
        super().__init__(parent)
        self.spectrogram, self.waveform, self.alignment = spectrogram, waveform, alignment
        self.views = (spectrogram, waveform, alignment)
        self.map = TimeMap()
        self._syncing = False
        cursor = pg.mkPen("#d8d8e0", width=1, style=Qt.PenStyle.DashLine)
        self.cursors = {}
        for view in self.views:
            self.cursors[view] = _line(cursor)
            view.addItem(self.cursors[view], ignoreBounds=True)
        head = pg.mkPen("#ffd166", width=2)
        self.heads = {view: _line(head) for view in (spectrogram, alignment)}
        for view, line in self.heads.items():
            view.addItem(line, ignoreBounds=True)
        spectrogram.getViewBox().sigXRangeChanged.connect(lambda _vb, r: self._time_range(r))
        waveform.getViewBox().sigXRangeChanged.connect(lambda _vb, r: self._time_range(r))
        alignment.getViewBox().sigXRangeChanged.connect(lambda _vb, r: self._step_range(r))
        for view in self.views:
            view.scene().sigMouseMoved.connect(lambda pos, v=view: self._moved(v, pos))
            view.scene().sigMouseClicked.connect(lambda ev, v=view: self._clicked(v, ev))
            view.setToolTip(view.toolTip() or "")

    def set_map(self, pieces) -> None:
        self.map = TimeMap(pieces)

    def _live(self) -> bool:
        return getattr(self.spectrogram, "live", False) or getattr(self.alignment, "live", False)

    # ----- zoom and pan ---------------------------------------------------------------------------
    def _time_range(self, r) -> None:
        if self._syncing or self._live() or not self.map:
            return
        self._syncing = True
        try:
            self.alignment.setXRange(self.map.step(r[0]), self.map.step(r[1]), padding=0)
        finally:
            self._syncing = False

    def _step_range(self, r) -> None:
        if self._syncing or self._live() or not self.map:
            return
        self._syncing = True
        try:
            self.spectrogram.setXRange(self.map.seconds(r[0]), self.map.seconds(r[1]), padding=0)
        finally:
            self._syncing = False

    def show_time(self, t0: float, t1: float) -> None:
        """Zoom every view to seconds t0..t1 (what a drag or wheel in one of them does)."""
        self.spectrogram.setXRange(t0, t1, padding=0)

    # ----- cursor, playhead and clicks ------------------------------------------------------------
    def _point(self, view, scene_pos):
        vb = view.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        return vb.mapSceneToView(scene_pos)

    def _moved(self, view, scene_pos) -> None:
        pt = self._point(view, scene_pos)
        if pt is None:
            self.set_cursor(None)
            if view is self.alignment:
                self.alignment.show_hover(None, None)
            return
        if view is self.alignment:
            self.alignment.show_hover(pt.x(), pt.y())
            self.set_cursor(self.map.seconds(pt.x()) if self.map else None, step=pt.x())
        else:
            self.set_cursor(pt.x())

    def set_cursor(self, seconds: float | None, step: float | None = None) -> None:
        """The time cursor at `seconds` in every view (None hides it)."""
        for view, line in self.cursors.items():
            if seconds is None and not (view is self.alignment and step is not None):
                line.setVisible(False)
                continue
            x = (step if step is not None else self.map.step(seconds)) if view is self.alignment else seconds
            line.setValue(x)
            line.setVisible(True)

    def cursor_seconds(self) -> float | None:
        line = self.cursors[self.spectrogram]
        return line.value() if line.isVisible() else None

    def set_playhead(self, seconds: float | None) -> None:
        self.waveform.set_playhead(seconds)
        for view, line in self.heads.items():
            if seconds is None:
                line.setVisible(False)
            else:
                line.setValue(self.map.step(seconds) if view is self.alignment else seconds)
                line.setVisible(True)

    def _clicked(self, view, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return
        pt = self._point(view, ev.scenePos())
        if pt is None:
            return
        t = self.map.seconds(pt.x()) if view is self.alignment else pt.x()
        self.clicked.emit(max(0.0, float(t)))
