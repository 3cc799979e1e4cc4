"""A live view's fit to its whole data when a job ends, deferred to the view's next redraw."""

from __future__ import annotations

from PySide6.QtCore import QTimer

REFIT_LATEST_MS = 300
"""A view whose data does not change after the job fits what it shows this long after the job's end."""


class DeferredRefit:
    """For the views that follow a stream (spectrogram, alignment; pyqtgraph PlotWidgets with a `live`
    flag): `_defer_refit()` marks the view to fit its data, which happens in the view's next update of its
    data (`_refit_if_pending()` at the end of its set_* method), or REFIT_LATEST_MS later if none comes.

    Refitting every view the moment a job ended made all of them repaint in one turn of the event loop,
    with the last audio and the new take's row: the longest pause of the GUI thread (30-50 ms on 2 cores).
    Deferred, each view repaints once, in the turn that draws its part of the take."""

    _refit_pending = False
    REFIT_AXES: dict = {"x": True}
    """What the fit passes to ViewBox.enableAutoRange."""

    def _defer_refit(self) -> None:
        self._refit_pending = True
        QTimer.singleShot(REFIT_LATEST_MS, self, self._refit_if_pending)

    def _refit_if_pending(self) -> None:
        if self._refit_pending and not self.live:
            self._refit_pending = False
            self.getViewBox().enableAutoRange(**self.REFIT_AXES)
