"""The training tab: set up a run, start / stop / resume it, watch its loss curves, alignment and
samples, and install it as a voice.

Every run is a separate `prufrock train` process (see studio/jobs.py); the tab only reads the
appended part of each run's events.jsonl on a timer, so the GUI thread stays free. Runs started
from a terminal are followed the same way ("Follow run folder…", or `follow_run(path)`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QMessageBox, QProgressBar, QPushButton, QScrollArea, QSlider, QSpinBox,
                               QSplitter, QStyle, QVBoxLayout, QWidget)

from engine.errors import BadInput
from engine.paths import BUNDLED_MODELS, user_data_dir, user_models_dir
from studio.jobs import DEVICES, PRESETS, RECIPES, CliJob, TrainingRun, peek_state, runs_dir
from studio.views.loss_plot import LossPlot, TrainingAlignmentView

log = logging.getLogger("prufrock.studio")

LATER = "arrives in a later version of Prufrock"
PRESET_TIPS = {
    "tiny": "a smoke run: a very small model that trains in seconds (checks the data and the setup)",
    "default": "the model of the shipped voice: a good voice after roughly a day on a CPU",
    "large": "a bigger model for a GPU",
}
STATE_COLOURS = {"running": "#2a9d4b", "stopping": "#d4a017", "stopped": "#8d8d99", "finished": "#1f78c8",
                 "failed": "#d63031", "following": "#8e44ad", "interrupted": "#e67e22"}
LAYOUT_NAMES = {"ljspeech": "LJSpeech layout (metadata.csv + wavs/)",
                "arctic": "CMU ARCTIC layout (etc/txt.done.data + wav/)",
                "vctk": "VCTK layout (txt/ + wav48…/)", "list": "list file (path|text|speaker lines)"}
CORPUS_VOICES = [("all installed system voices", ""), ("espeak-ng only", "espeak")]
_PROGRESS = re.compile(r"(\d+)/(\d+)")


def cuda_available() -> bool | None:
    """Whether torch sees a CUDA GPU; None when torch is not imported in this process (then it is not
    imported just to ask: the run checks it when it starts)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


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


def model_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip(".-") or "my-voice"


def format_duration(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class TrainingTab(QWidget):
    message = Signal(str, str)  # text, kind ("error" or "info"): the window shows it
    modelInstalled = Signal(str)  # model folder: the window lists it and selects it
    playRequested = Signal(object, int)  # wav, sample rate: the window plays it
    runAdded = Signal(object)  # TrainingRun

    def __init__(self, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingTab")
        self.settings = settings
        self.run_models: list[TrainingRun] = []
        self.corpus_job: CliJob | None = None
        self.export_job: CliJob | None = None
        self.export_target: Path | None = None
        self.layout_ok = False
        self._shown: TrainingRun | None = None
        self._shown_alignment = None
        self._pending: set = set()
        self._draw_timer = QTimer(self)  # coalesces redraws: a long log arrives in many chunks
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(120)
        self._draw_timer.timeout.connect(self._draw_pending)
        self._build_ui()
        self._restore_settings()
        self._discover_runs()
        self._detect_layout()
        self._update_buttons()

    # ============================================================================ UI
    def _build_ui(self) -> None:
        st = self.style()
        # ----- new run -----
        self.recipe = QComboBox(objectName="recipeSelector")
        for i, name in enumerate(RECIPES):
            self.recipe.addItem(name, name)
            if name != "tacotron":
                self.recipe.model().item(i).setEnabled(False)
                self.recipe.setItemData(i, f"The {name} recipe {LATER}.", Qt.ItemDataRole.ToolTipRole)
        self.recipe.setItemData(0, "Tacotron 2 text-to-speech: a voice", Qt.ItemDataRole.ToolTipRole)
        self.recipe.setToolTip("What to train (vc, polisher and wavenet arrive in a later version)")

        self.data_edit = QLineEdit(objectName="dataFolderEdit")
        self.data_edit.setPlaceholderText("corpus folder or list file")
        self.data_browse = QPushButton("Browse…")
        self.data_browse.setToolTip("Choose the corpus folder")
        self.layout_label = QLabel(objectName="layoutLabel")
        self.layout_label.setWordWrap(True)
        self.layout_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout_timer = QTimer(self)
        self._layout_timer.setSingleShot(True)
        self._layout_timer.setInterval(300)
        self._layout_timer.timeout.connect(self._detect_layout)

        self.corpus_check = QCheckBox("Build a corpus from system voices", objectName="corpusCheck")
        self.corpus_check.setToolTip("Render a speech corpus with the voices installed on this computer "
                                     "(espeak-ng, festival) and train on it")
        self.corpus_out = QLineEdit(objectName="corpusFolderEdit")
        self.corpus_browse = QPushButton("Browse…")
        self.corpus_voices = QComboBox()
        for label, spec in CORPUS_VOICES:
            self.corpus_voices.addItem(label, spec)
        self.corpus_limit = QSpinBox()
        self.corpus_limit.setRange(1, 5000)
        self.corpus_limit.setValue(200)
        self.corpus_limit.setToolTip("How many of the CMU ARCTIC prompts each voice reads")
        self.corpus_build = QPushButton("Build corpus", objectName="buildCorpusButton")
        self.corpus_progress = QProgressBar(objectName="corpusProgress")
        self.corpus_progress.setRange(0, 100)
        self.corpus_progress.setValue(0)
        self.corpus_progress.setTextVisible(True)
        self.corpus_status = QLabel()
        self.corpus_status.setWordWrap(True)
        self.corpus_box = QWidget()
        cform = QFormLayout(self.corpus_box)
        cform.setContentsMargins(16, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.corpus_out, 1)
        row.addWidget(self.corpus_browse)
        cform.addRow("Into:", row)
        cform.addRow("Voices:", self.corpus_voices)
        cform.addRow("Prompts:", self.corpus_limit)
        row = QHBoxLayout()
        row.addWidget(self.corpus_build)
        row.addWidget(self.corpus_progress, 1)
        cform.addRow(row)
        cform.addRow(self.corpus_status)
        self.corpus_box.setVisible(False)

        self.preset = QComboBox(objectName="presetSelector")
        for i, name in enumerate(PRESETS):
            self.preset.addItem(name, name)
            self.preset.setItemData(i, PRESET_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.device = QComboBox(objectName="deviceSelector")
        for name in DEVICES:
            self.device.addItem(name, name)
        cuda = cuda_available()
        if cuda is False:
            self.device.model().item(DEVICES.index("cuda")).setEnabled(False)
            self.device.setItemData(DEVICES.index("cuda"), "No CUDA GPU is available on this computer",
                                    Qt.ItemDataRole.ToolTipRole)
        self.device.setToolTip("auto = the CUDA GPU when there is one, else the CPU")
        self.max_steps = QSpinBox(objectName="maxStepsSpin")
        self.max_steps.setRange(0, 10_000_000)
        self.max_steps.setSingleStep(100)
        self.max_steps.setSpecialValueText("preset default")
        self.max_steps.setToolTip("Stop after this many steps (0 = the preset's)")
        self.run_edit = QLineEdit(objectName="runFolderEdit")
        self.run_edit.setToolTip("Where the run writes its checkpoints, event log, alignments and samples")
        self.run_browse = QPushButton("Browse…")
        self.start_button = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start training",
                                        objectName="startTrainingButton")
        self.start_button.setToolTip("Start a new training run in its own process")

        setup = QGroupBox("New run")
        form = QFormLayout(setup)
        form.addRow("Recipe:", self.recipe)
        row = QHBoxLayout()
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.data_browse)
        form.addRow("Data:", row)
        form.addRow("", self.layout_label)
        form.addRow(self.corpus_check)
        form.addRow(self.corpus_box)
        form.addRow("Preset:", self.preset)
        form.addRow("Device:", self.device)
        form.addRow("Max steps:", self.max_steps)
        row = QHBoxLayout()
        row.addWidget(self.run_edit, 1)
        row.addWidget(self.run_browse)
        form.addRow("Run folder:", row)
        form.addRow(self.start_button)

        # ----- runs -----
        self.runs_list = QListWidget(objectName="runsList")
        self.runs_list.setToolTip("Training runs: the studio's and those it follows. Select one to watch it.")
        self.runs_list.setMinimumHeight(140)
        self.stop_button = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop training",
                                       objectName="stopTrainingButton")
        self.stop_button.setToolTip("Stop the selected run: it writes a checkpoint and exits (Resume continues it)")
        self.resume_button = QPushButton("Resume", objectName="resumeTrainingButton")
        self.resume_button.setToolTip("Continue the selected run from its last complete checkpoint")
        self.open_button = QPushButton("Open folder", objectName="openRunFolderButton")
        self.open_button.setToolTip("Show the run folder in the file manager")
        self.use_button = QPushButton("Use as model", objectName="useAsModelButton")
        self.use_button.setToolTip("Install the run's best checkpoint (lowest validation loss) as a voice "
                                   "and select it")
        self.follow_button = QPushButton("Follow run folder…", objectName="followRunButton")
        self.follow_button.setToolTip("Watch a run started from a terminal ('prufrock train … --out FOLDER')")
        runs_box = QGroupBox("Runs")
        rl = QVBoxLayout(runs_box)
        rl.addWidget(self.runs_list, 1)
        grid = QGridLayout()
        grid.addWidget(self.stop_button, 0, 0)
        grid.addWidget(self.resume_button, 0, 1)
        grid.addWidget(self.open_button, 1, 0)
        grid.addWidget(self.use_button, 1, 1)
        grid.addWidget(self.follow_button, 2, 0, 1, 2)
        rl.addLayout(grid)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(setup)
        ll.addWidget(runs_box, 1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(380)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # ----- monitor -----
        self.run_title = QLabel("<b>No run selected</b>", objectName="runTitle")
        self.run_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(objectName="trainingProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("step %v / %m")
        self.stats_label = QLabel("", objectName="trainingStats")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
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
        self.monitor_splitter = QSplitter(Qt.Orientation.Vertical, objectName="trainingSplitter")
        self.monitor_splitter.addWidget(loss_box)
        self.monitor_splitter.addWidget(align_box)
        self.monitor_splitter.setStretchFactor(0, 3)
        self.monitor_splitter.setStretchFactor(1, 2)
        self.monitor_splitter.setChildrenCollapsible(False)
        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.run_title, 1)
        head.addWidget(self.progress, 1)
        rlay.addLayout(head)
        rlay.addWidget(self.stats_label)
        rlay.addWidget(self.monitor_splitter, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

        # ----- signals -----
        self.data_edit.textChanged.connect(lambda _t: self._layout_timer.start())
        self.data_edit.editingFinished.connect(self._detect_layout)
        self.data_browse.clicked.connect(self._browse_data)
        self.corpus_check.toggled.connect(self._corpus_toggled)
        self.corpus_browse.clicked.connect(self._browse_corpus)
        self.corpus_build.clicked.connect(lambda: self.build_corpus())
        self.run_browse.clicked.connect(self._browse_run)
        self.preset.currentIndexChanged.connect(lambda _i: self._choice_changed())
        self.device.currentIndexChanged.connect(lambda _i: self._choice_changed())
        self.max_steps.valueChanged.connect(lambda _v: self._choice_changed())
        self.recipe.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.start_button.clicked.connect(lambda: self.start_training())
        self.stop_button.clicked.connect(lambda: self.stop_training())
        self.resume_button.clicked.connect(lambda: self.resume_training())
        self.open_button.clicked.connect(lambda: self.open_folder())
        self.use_button.clicked.connect(lambda: self.use_as_model())
        self.follow_button.clicked.connect(self._follow_dialog)
        self.runs_list.currentRowChanged.connect(lambda _r: self._selection_changed())
        self.log_check.toggled.connect(self.loss_plot.set_log)
        self.smooth_slider.valueChanged.connect(self._smoothing_changed)
        self.sample_play.clicked.connect(lambda: self.play_sample())
        self._smoothing_changed(self.smooth_slider.value())

    # ============================================================================ settings
    def _get(self, key: str, default: str = "") -> str:
        if self.settings is None:
            return default
        v = self.settings.q.value(f"training/{key}", default)
        return default if v is None else str(v)

    def _set(self, key: str, value) -> None:
        if self.settings is not None:
            self.settings.q.setValue(f"training/{key}", value)

    def _restore_settings(self) -> None:
        with QSignalBlocker(self.preset), QSignalBlocker(self.device), QSignalBlocker(self.max_steps):
            self.preset.setCurrentIndex(max(0, self.preset.findData(self._get("preset", "default"))))
            device = self._get("device", "auto")
            idx = self.device.findData(device)
            if idx < 0 or not self.device.model().item(idx).isEnabled():
                idx = 0
            self.device.setCurrentIndex(idx)
            try:
                self.max_steps.setValue(int(self._get("max_steps", "0") or 0))
            except ValueError:
                self.max_steps.setValue(0)
        with QSignalBlocker(self.data_edit):
            self.data_edit.setText(self._get("data_folder"))
        self.corpus_out.setText(self._get("corpus_folder") or str(user_data_dir() / "corpora" / "system-voices"))
        self.run_edit.setPlaceholderText(f"{runs_dir()}/NAME (chosen when the run starts)")

    def _choice_changed(self) -> None:
        self._set("preset", self.preset.currentData())
        self._set("device", self.device.currentData())
        self._set("max_steps", self.max_steps.value())

    # ============================================================================ data
    def _browse_data(self) -> None:
        start = self.data_edit.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose the corpus folder", start)
        if path:
            self.data_edit.setText(path)
            self._detect_layout()

    def _detect_layout(self) -> None:
        self._layout_timer.stop()
        text = self.data_edit.text().strip()
        self.layout_ok = False
        if not text:
            self.layout_label.setText("Choose a corpus: LJSpeech, CMU ARCTIC or VCTK folder, or a list file "
                                      "(path|text|speaker) — or build one from system voices below.")
            self.layout_label.setStyleSheet("QLabel { color: #8d8d99; }")
        else:
            from engine.data.layouts import detect_layout

            try:
                layout = detect_layout(Path(text).expanduser())
            except BadInput as exc:
                self.layout_label.setText(str(exc))
                self.layout_label.setStyleSheet("QLabel { color: #d63031; }")
            else:
                self.layout_ok = True
                self.layout_label.setText("✓ " + LAYOUT_NAMES.get(layout, layout))
                self.layout_label.setStyleSheet("QLabel { color: #2a9d4b; }")
                self._set("data_folder", text)
        self._update_buttons()

    def _corpus_toggled(self, on: bool) -> None:
        self.corpus_box.setVisible(on)

    def _browse_corpus(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the new corpus", self.corpus_out.text())
        if path:
            self.corpus_out.setText(path)

    def _browse_run(self) -> None:
        start = self.run_edit.text().strip() or str(runs_dir())
        path = QFileDialog.getExistingDirectory(self, "Run folder of the new run", start)
        if path:
            self.run_edit.setText(path)

    def build_corpus(self, out=None, limit: int | None = None, voices: str | None = None) -> CliJob | None:
        """Run `prufrock corpus build` (a separate process) into `out` (default: the field's folder);
        when it succeeds the data field points at the new corpus."""
        if self.corpus_job is not None and self.corpus_job.running():
            return None
        out = Path(out or self.corpus_out.text().strip() or user_data_dir() / "corpora" / "system-voices")
        out = out.expanduser().absolute()
        self.corpus_out.setText(str(out))
        self._set("corpus_folder", str(out))
        limit = limit or self.corpus_limit.value()
        voices = self.corpus_voices.currentData() if voices is None else voices
        args = ["corpus", "build", "--out", str(out), "--limit", str(limit)]
        if voices:
            args += ["--voices", voices]
        job = CliJob(*args, parent=self)
        job.line.connect(self._corpus_line)
        job.done.connect(lambda ok, msg, out=out: self._corpus_done(ok, msg, out))
        self.corpus_job = job
        self.corpus_progress.setRange(0, 0)  # busy until the first progress line
        self.corpus_status.setText("Rendering the prompts with the system's voices…")
        job.start()
        self._update_buttons()
        return job

    def _corpus_line(self, line: str) -> None:
        m = _PROGRESS.search(line)
        if m and line.startswith("corpus"):
            done, total = int(m.group(1)), int(m.group(2))
            self.corpus_progress.setRange(0, max(1, total))
            self.corpus_progress.setValue(done)
            self.corpus_progress.setFormat(f"{done} / {total}")

    def _corpus_done(self, ok: bool, message: str, out: Path) -> None:
        self.corpus_progress.setRange(0, 1)
        self.corpus_progress.setValue(1 if ok else 0)
        if ok:
            self.corpus_status.setText(f"Corpus ready in {out}.")
            self.data_edit.setText(str(out))
            self._detect_layout()
            self.message.emit(f"Corpus built in {out}: it is the data of the next run.", "info")
        else:
            self.corpus_status.setText(f"Failed: {message}")
            self.message.emit(f"Building the corpus failed: {message}", "error")
        self._update_buttons()

    # ============================================================================ runs
    def _discover_runs(self) -> None:
        """The run folders under the user data folder's runs/, and the folders followed before."""
        folders: list[Path] = []
        root = runs_dir()
        try:
            if root.is_dir():
                folders = sorted((p for p in root.iterdir() if (p / "events.jsonl").is_file()),
                                 key=lambda p: (p / "events.jsonl").stat().st_mtime)
        except OSError:
            folders = []
        for raw in self._followed():
            p = Path(raw)
            if (p / "events.jsonl").is_file() and p not in folders:
                folders.append(p)
        for p in folders:
            run = self._add_run(p)
            run.state, run.step, run.max_steps = peek_state(p)
            self._refresh_item(run)
            if run.state == "following":
                run.follow()

    def _followed(self) -> list[str]:
        if self.settings is None:
            return []
        v = self.settings.q.value("training/followed", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])]

    def _add_run(self, path) -> TrainingRun:
        run = TrainingRun(path, parent=self)
        self.run_models.append(run)
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, str(run.path))
        self.runs_list.addItem(item)
        run.updated.connect(lambda parts, r=run: self._run_updated(r, parts))
        run.ended.connect(lambda state, r=run: self._run_ended(r, state))
        self._refresh_item(run)
        self.runAdded.emit(run)
        return run

    def run_for(self, path) -> TrainingRun | None:
        path = Path(path).expanduser().absolute()
        for run in self.run_models:
            if run.path == path:
                return run
        return None

    def _item(self, run: TrainingRun) -> QListWidgetItem | None:
        i = self.run_models.index(run)
        return self.runs_list.item(i)

    def _refresh_item(self, run: TrainingRun) -> None:
        item = self._item(run)
        if item is None:
            return
        progress = f"step {run.step}" + (f" / {run.max_steps}" if run.max_steps else "")
        item.setText(f"{run.name}\n   {run.state} · {progress}")
        item.setIcon(state_icon(run.state))
        item.setToolTip(f"{run.path}\nstate: {run.state}" + (f"\n{run.message}" if run.message else ""))

    def selected_run(self) -> TrainingRun | None:
        row = self.runs_list.currentRow()
        return self.run_models[row] if 0 <= row < len(self.run_models) else None

    def select_run(self, run: TrainingRun) -> None:
        self.runs_list.setCurrentRow(self.run_models.index(run))

    def _selection_changed(self) -> None:
        run = self.selected_run()
        if run is not None and not run.loaded:
            run.follow()
        self._shown = run
        self._shown_alignment = None
        self._pending.clear()
        self.alignment_view.clear_alignment()
        self._draw(run, {"state", "progress", "loss", "val", "alignment", "sample"})
        self._update_buttons()

    def _run_updated(self, run: TrainingRun, parts: set) -> None:
        if parts & {"state", "progress"}:
            self._refresh_item(run)
        if run is self._shown:
            self._pending |= set(parts)
            if not self._draw_timer.isActive():
                self._draw_timer.start()
        if parts & {"state", "checkpoint"}:
            self._update_buttons()

    def _run_ended(self, run: TrainingRun, state: str) -> None:
        self._refresh_item(run)
        if state == "failed":
            self.message.emit(f"Training run {run.name} failed: {run.message} "
                              f"(the full log is {run.path / 'studio-train.log'})", "error")
        elif state == "stopped":
            self.message.emit(f"Training run {run.name} stopped at step {run.step}"
                              + (f": {run.message}" if run.message else "; Resume continues it") + ".", "info")
        elif state == "finished":
            self.message.emit(f"Training run {run.name} finished at step {run.step}: "
                              "'Use as model' installs it as a voice.", "info")
        self._update_buttons()

    # ----- drawing the selected run ---------------------------------------------------------------
    def _draw_pending(self) -> None:
        if self._shown is not None and self._shown.follower.catching_up and "loss" in self._pending:
            self._draw_timer.start(400)  # a long log is still being read: draw its curves less often
            return
        self._draw_timer.setInterval(120)
        parts, self._pending = self._pending, set()
        if self._shown is not None and parts:
            self._draw(self._shown, parts)

    def _draw(self, run: TrainingRun | None, parts: set) -> None:
        if run is None:
            self.run_title.setText("<b>No run selected</b>")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.stats_label.setText("Start a run, or select one in the list.")
            self.loss_plot.clear_series()
            self.alignment_view.clear_alignment()
            self.sample_label.setText("No sample yet.")
            return
        if parts & {"state", "progress", "val"}:
            colour = STATE_COLOURS.get(run.state, "#d0d0d8")
            self.run_title.setText(f"<b>{run.name}</b> &nbsp;<span style='color:{colour}'>{run.state}</span>")
            self.run_title.setToolTip(str(run.path))
            self.progress.setRange(0, max(1, run.max_steps or run.step or 1))
            self.progress.setValue(min(run.step, self.progress.maximum()))
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
            self.stats_label.setText(" · ".join(stats))
        if parts & {"loss", "val"}:
            series = {"total": (run.steps, run.loss)}
            series.update(run.components)
            if run.val_steps:
                series["val"] = (run.val_steps, run.val_loss)
            self.loss_plot.set_series(series)
        if "alignment" in parts and run.alignment_path is not None:
            key = (str(run.alignment_path), run.alignment_step)
            if key != self._shown_alignment:
                try:
                    a = np.load(run.alignment_path, allow_pickle=False)
                except (OSError, ValueError) as exc:
                    log.info("cannot read the alignment %s: %s", run.alignment_path, exc)
                else:
                    self._shown_alignment = key
                    self.alignment_view.set_alignment(a)
                    text = run.alignment_text
                    if len(text) > 70:
                        text = text[:67] + "…"
                    self.alignment_label.setText(f"<b>Alignment</b> at step {run.alignment_step}: “{text}”")
        if "sample" in parts:
            if run.sample_path is not None:
                self.sample_label.setText(f"Sample at step {run.sample_step}: “{run.sample_text}”")
            else:
                self.sample_label.setText("No sample yet: the run renders one each time it validates.")
            self.sample_play.setEnabled(run.sample_path is not None)

    def _smoothing_changed(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        self.loss_plot.set_smoothing(value / 100)

    # ----- actions --------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        run = self.selected_run()
        building = self.corpus_job is not None and self.corpus_job.running()
        exporting = self.export_job is not None and self.export_job.running()
        self.start_button.setEnabled(self.recipe.currentData() == "tacotron" and self.layout_ok and not building)
        self.start_button.setToolTip("Start a new training run in its own process" if self.layout_ok else
                                     "Choose a corpus in a known layout first" if not building else
                                     "Waiting for the corpus to be built")
        self.corpus_build.setEnabled(not building)
        active = run is not None and run.stoppable
        self.stop_button.setEnabled(active)
        self.stop_button.setText("Kill now" if active and run.state == "stopping" else "Stop training")
        has_ckpt = (run is not None and not active and run.state not in ("following", "stopping")
                    and run.has_checkpoint())
        self.resume_button.setEnabled(has_ckpt)
        self.open_button.setEnabled(run is not None)
        self.use_button.setEnabled(run is not None and not exporting and run.has_checkpoint())
        self.use_button.setText("Installing…" if exporting else "Use as model")
        if self._shown is not None:
            self.sample_play.setEnabled(self._shown.sample_path is not None)
        else:
            self.sample_play.setEnabled(False)

    def _error(self, text: str) -> None:
        self.message.emit(text, "error")

    def _new_run_folder(self) -> Path:
        text = self.run_edit.text().strip()
        if text:
            return Path(text).expanduser().absolute()
        data = Path(self.data_edit.text().strip()).expanduser()
        base = f"{self.recipe.currentData()}-{model_name(data.stem or data.name)}-{self.preset.currentData()}-" \
               f"{time.strftime('%Y%m%d-%H%M%S')}"
        path, n = runs_dir() / base, 2
        while path.exists():
            path, n = runs_dir() / f"{base}-{n}", n + 1
        return path

    def start_training(self) -> TrainingRun | None:
        """Start a new run with the form's choices (what startTrainingButton does). Returns the run,
        or None when it cannot start (a message says why)."""
        if self.recipe.currentData() != "tacotron":
            self._error(f"The {self.recipe.currentData()} recipe {LATER}.")
            return None
        self._detect_layout()
        if not self.layout_ok:
            self._error("Cannot start training: " + (self.layout_label.text() if self.data_edit.text().strip()
                                                     else "choose a corpus folder first."))
            return None
        out = self._new_run_folder()
        if (out / "events.jsonl").exists() or (out / "checkpoints").exists():
            self._error(f"{out} already holds a training run: select it in the runs list and press Resume, "
                        "or choose another run folder.")
            return None
        launch = {"recipe": "tacotron", "data": str(Path(self.data_edit.text().strip()).expanduser().absolute()),
                  "preset": self.preset.currentData(), "device": self.device.currentData(),
                  "max_steps": self.max_steps.value() or None}
        run = self.run_for(out) or self._add_run(out)
        run.reset_series()
        run.follower.offset = 0
        if not run.start(launch):
            self._error(f"Cannot start training: {run.message}")
            return None
        self._choice_changed()
        self.run_edit.clear()
        self.select_run(run)
        self._refresh_item(run)
        self._update_buttons()
        return run

    def stop_training(self, run: TrainingRun | None = None) -> None:
        """Stop the selected run gracefully (a second press while it stops kills it)."""
        run = run or self.selected_run()
        if run is None or not run.stoppable:
            return
        if run.state == "stopping":
            run.kill()
        else:
            run.stop()
        self._update_buttons()

    def resume_training(self, run: TrainingRun | None = None) -> bool:
        run = run or self.selected_run()
        if run is None:
            return False
        run.load_all()
        overrides: dict = {}
        if not run.launch:  # started elsewhere: the form gives what the log does not hold
            self._detect_layout()
            if not self.layout_ok:
                self._error(f"To resume {run.name} here, choose its corpus in the Data field first.")
                return False
            overrides.update(data=str(Path(self.data_edit.text().strip()).expanduser().absolute()),
                             device=self.device.currentData())
        if run.max_steps and run.step >= run.max_steps and self.max_steps.value() > run.step:
            overrides["max_steps"] = self.max_steps.value()
        if not run.resume(overrides):
            self._error(f"Cannot resume {run.name}: {run.message}")
            return False
        self._refresh_item(run)
        self._update_buttons()
        return True

    def open_folder(self, run: TrainingRun | None = None) -> None:
        run = run or self.selected_run()
        if run is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path))):
            self.message.emit(f"The run folder is {run.path}", "info")

    def follow_run(self, path) -> TrainingRun | None:
        """Watch a run folder (one started from a terminal, or any earlier run). Returns the run, or None
        when the folder holds no event log (a message says so)."""
        path = Path(path).expanduser().absolute()
        if not (path / "events.jsonl").is_file():
            self._error(f"{path} is not a training run folder: it has no events.jsonl "
                        "(start one with 'prufrock train tacotron --data DIR --out FOLDER').")
            return None
        run = self.run_for(path)
        if run is None:
            run = self._add_run(path)
            run.state, run.step, run.max_steps = peek_state(path)
            if run.state == "interrupted":
                run.state = "following"  # until its log says more
            if not str(path).startswith(str(runs_dir())):
                followed = [p for p in self._followed() if p != str(path)] + [str(path)]
                self._set("followed", followed[-20:])
        run.follow()
        self.select_run(run)
        self._refresh_item(run)
        return run

    def _follow_dialog(self) -> None:
        start = str(runs_dir()) if runs_dir().is_dir() else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Follow a training run folder", start)
        if path:
            self.follow_run(path)

    def play_sample(self) -> bool:
        """Play the selected run's latest sample (through the window's audio output)."""
        run = self._shown
        if run is None or run.sample_path is None:
            return False
        try:
            import soundfile as sf

            wav, sr = sf.read(str(run.sample_path), dtype="float32", always_2d=False)
        except Exception as exc:  # noqa: BLE001 - a missing or half-written file
            self.message.emit(f"Cannot play the sample {run.sample_path.name}: {exc}", "info")
            return False
        if wav.ndim > 1:
            wav = wav.mean(axis=1)
        self.playRequested.emit(np.ascontiguousarray(wav, dtype=np.float32), int(sr))
        return True

    def use_as_model(self, name: str | None = None, run: TrainingRun | None = None) -> CliJob | None:
        """Install the run's best checkpoint as a voice in the user models folder, in a separate process;
        `modelInstalled` fires when it is there. Without `name` a dialog asks for one."""
        run = run or self.selected_run()
        if run is None:
            return None
        if self.export_job is not None and self.export_job.running():
            return None
        run.load_all()  # the validation losses decide which checkpoint is best
        ckpt = run.best_checkpoint()
        if ckpt is None:
            self._error(f"{run.name} has no complete checkpoint yet: train it a little longer.")
            return None
        interactive = name is None
        if interactive:
            name, ok = QInputDialog.getText(self, "Use as model", "Name of the new voice:", text=model_name(run.name))
            if not ok or not name.strip():
                return None
        name = model_name(name)
        if (BUNDLED_MODELS / name).exists():
            self._error(f"'{name}' is the name of a bundled model: choose another name.")
            return None
        dest = user_models_dir() / name
        if interactive and dest.exists():
            answer = QMessageBox.question(self, "Use as model", f"A voice named '{name}' is installed. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
        job = CliJob("models", "export", str(ckpt), "--out", str(dest), parent=self)
        job.done.connect(lambda ok, msg, dest=dest, ckpt=ckpt: self._exported(ok, msg, dest, ckpt))
        self.export_job = job
        self.export_target = dest
        job.start()
        self._update_buttons()
        return job

    def _exported(self, ok: bool, message: str, dest: Path, ckpt: Path) -> None:
        self._update_buttons()
        if not ok:
            self._error(f"Installing the model failed: {message}")
            return
        self.message.emit(f"Installed {dest.name} (checkpoint {ckpt.name}) in {dest.parent}: it is now the "
                          "selected voice.", "info")
        self.modelInstalled.emit(str(dest))

    # ============================================================================ closing
    def shutdown(self) -> None:
        """Stop the runs this studio launched (each writes a checkpoint first) and the other jobs."""
        for job in (self.corpus_job, self.export_job):
            if job is not None:
                job.cancel()
        for run in self.run_models:
            run.shutdown()

