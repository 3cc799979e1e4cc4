"""The training tab's right side: the selected run's title, progress, figures, loss curves,
latest alignment and sample. It draws from a TrainingRun (studio/jobs/training_run.py), whose series
are the fold of the run's event log (engine.training.events.RunState)."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSlider, QSplitter,
                               QStyle, QVBoxLayout, QWidget)

from studio.views.loss_plot import LossPlot, TrainingAlignmentView

log = logging.getLogger("prufrock.studio")

STATE_COLOURS = {"running": "#2a9d4b", "stopping": "#d4a017", "stopped": "#8d8d99", "finished": "#1f78c8",
                 "failed": "#d63031", "following": "#8e44ad", "interrupted": "#e67e22"}
ALL_PARTS = {"state", "progress", "loss", "val", "alignment", "sample"}
_ICONS: dict[str, QIcon] = {}


def state_icon(state: str) -> QIcon:
    """A coloured dot for a run state (readable on a selected row too)."""
    icon = _ICONS.get(state)
    if icon is None:
        pix = QPixmap(14, 14)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(QColor(STATE_COLOURS.get(state, "#8d8d99")))
        p.setPen(QColor("#ffffff"))
        p.drawEllipse(1, 1, 12, 12)
        p.end()
        icon = _ICONS[state] = QIcon(pix)
    return icon


def format_duration(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def run_stats(run) -> str:
    """The one-line figures of a run: step, speed, ETA, device, validation, NaN skips, failure."""
    stats = [f"step {run.step}" + (f" / {run.max_steps}" if run.max_steps else "")]
    if run.steps_per_s:
        stats.append(f"{run.steps_per_s:.2f} steps/s")
    eta = run.eta_s()
    if eta is not None:
        stats.append(f"ETA {format_duration(eta)}")
    if run.device:
        stats.append(f"device {run.device}")
    if run.val_loss:
        stats.append(f"val loss {run.val_loss[-1]:.4f}")
    if run.last_val.get("focus_rate") is not None:
        stats.append(f"focus {run.last_val['focus_rate']:.2f}")
    if run.nan_skips:
        stats.append(f"{run.nan_skips} NaN steps skipped")
    if run.state == "failed" and run.message:
        stats.append(f"failed: {run.message}")
    return " · ".join(stats)


class RunMonitor(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        st = self.style()
        self._shown_alignment = None
        self.run_title = QLabel("<b>No run selected</b>", objectName="runTitle")
        self.run_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(objectName="trainingProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run")
        self.stats_label = QLabel("", objectName="trainingStats")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats_label.setWordWrap(True)
        self.loss_plot = LossPlot()
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.setToolTip("Training loss by step (wheel / drag to zoom and pan; A resets)")
        self.log_check = QCheckBox("Log scale", objectName="lossLogScale")
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal, objectName="lossSmoothing")
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setMaximumWidth(180)
        self.smooth_slider.setToolTip("Smoothing of the curves (exponential moving average); validation "
                                      "points are not smoothed")
        self.smooth_label = QLabel("0.60")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("<b>Loss</b>"))
        controls.addStretch(1)
        controls.addWidget(self.log_check)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smooth_slider)
        controls.addWidget(self.smooth_label)
        self.alignment_view = TrainingAlignmentView()
        self.alignment_view.setObjectName("trainingAlignmentView")
        self.alignment_view.setToolTip("Attention of the latest validation sentence: decoder steps across, "
                                       "input symbols up; a clean diagonal means the voice learned to read")
        self.alignment_label = QLabel("<b>Alignment</b>")
        self.alignment_label.setWordWrap(True)
        self.sample_label = QLabel("No sample yet: the run renders one each time it validates.",
                                   objectName="sampleLabel")
        self.sample_label.setWordWrap(True)
        self.sample_play = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play sample",
                                       objectName="playSampleButton")
        self.sample_play.setToolTip("Play the run's latest sample")

        loss_box = QWidget()
        lb = QVBoxLayout(loss_box)
        lb.setContentsMargins(0, 0, 0, 0)
        lb.addLayout(controls)
        lb.addWidget(self.loss_plot, 1)
        align_box = QWidget()
        ab = QVBoxLayout(align_box)
        ab.setContentsMargins(0, 0, 0, 0)
        ab.addWidget(self.alignment_label)
        ab.addWidget(self.alignment_view, 1)
        srow = QHBoxLayout()
        srow.addWidget(self.sample_label, 1)
        srow.addWidget(self.sample_play)
        ab.addLayout(srow)
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="trainingSplitter")
        self.splitter.addWidget(loss_box)
        self.splitter.addWidget(align_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.run_title, 1)
        head.addWidget(self.progress, 1)
        lay.addLayout(head)
        lay.addWidget(self.stats_label)
        lay.addWidget(self.splitter, 1)
        self.log_check.toggled.connect(self.loss_plot.set_log)
        self.smooth_slider.valueChanged.connect(self._smoothing_changed)
        self._smoothing_changed(self.smooth_slider.value())

    def _smoothing_changed(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        self.loss_plot.set_smoothing(value / 100)

    def reset(self) -> None:
        """Another run is shown: forget what was drawn."""
        self._shown_alignment = None
        self.alignment_view.clear_alignment()

    def draw(self, run, parts: set) -> None:
        if run is None:
            self.run_title.setText("<b>No run selected</b>")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("no run")
            self.stats_label.setText("Start a run, or select one in the list.")
            self.loss_plot.clear_series()
            self.alignment_view.clear_alignment()
            self.sample_label.setText("No sample yet.")
            self.sample_play.setEnabled(False)
            return
        if parts & {"state", "progress", "val"}:
            colour = STATE_COLOURS.get(run.state, "#d0d0d8")
            self.run_title.setText(f"<b>{run.name}</b> &nbsp;<span style='color:{colour}'>{run.state}</span>")
            self.run_title.setToolTip(str(run.path))
            self.progress.setRange(0, max(1, run.max_steps or run.step or 1))
            self.progress.setValue(min(run.step, self.progress.maximum()))
            self.progress.setFormat("step %v / %m")
            self.stats_label.setText(run_stats(run))
        if parts & {"loss", "val"}:
            series = {"total": (run.steps, run.loss)}
            series.update(run.components)
            if run.val_steps:
                series["val"] = (run.val_steps, run.val_loss)
            self.loss_plot.set_series(series)
        if "alignment" in parts and run.alignment_path is not None:
            self._draw_alignment(run)
        if "sample" in parts:
            if run.sample_path is not None:
                self.sample_label.setText(f"Sample at step {run.sample_step}: “{run.sample_text}”")
            else:
                self.sample_label.setText("No sample yet: the run renders one each time it validates.")
        self.sample_play.setEnabled(run.sample_path is not None)

    def _draw_alignment(self, run) -> None:
        key = (str(run.alignment_path), run.alignment_step)
        if key == self._shown_alignment:
            return
        try:
            a = np.load(run.alignment_path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            log.info("cannot read the alignment %s: %s", run.alignment_path, exc)
            return
        self._shown_alignment = key
        self.alignment_view.set_alignment(a)
        text = run.alignment_text
        if len(text) > 70:
            text = text[:67] + "…"
        self.alignment_label.setText(f"<b>Alignment</b> at step {run.alignment_step}: “{text}”")
