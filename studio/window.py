"""The main window: wires the panes, the views, the workers and the audio output together.

The GUI thread only draws and routes signals: the models load and run in the engine process that
`EngineWorker` manages (its `EventReader` thread turns the engine's events into signals), and audio
plays on the audio thread (see workers.py, engine_process.py, audio_io.py).
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import time
import weakref
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow,
                               QProgressBar, QPushButton, QSplitter, QStatusBar, QTabWidget, QToolBar,
                               QVBoxLayout, QWidget)

from studio import qt_compat

qt_compat.apply()  # before any widget exists: see qt_compat.py

from engine.bundle import model_dirs, resolve  # noqa: E402
from engine.errors import BadInput, NotBuiltYet  # noqa: E402
from engine.inference.pipeline import SENTENCE_GAP_S  # noqa: E402
from engine.paths import RESOURCES  # noqa: E402
from studio.about import AboutDialog, about_markdown  # noqa: E402
from studio.audio_io import NO_DEVICE_MESSAGE, AudioOutput  # noqa: E402
from studio.panes import ConvertTab, StylePanel, TakesPane, TextPane  # noqa: E402
from studio.panes.later_tabs import CONVERT_LATER  # noqa: E402
from studio.panes.training_tab import TrainingTab  # noqa: E402
from studio.settings import Settings  # noqa: E402
from studio.viewmodels import StyleViewModel, TakeViewModel  # noqa: E402
from studio.views import AlignmentView, SpectrogramView, WaveformView  # noqa: E402
from studio.workers import EngineWorker, SpeakJob  # noqa: E402

log = logging.getLogger("prufrock.studio")
ICON = RESOURCES / "icons" / "prufrock.svg"
POLISH_LATER = "The GAN polisher arrives in a later version of Prufrock (no polisher model is installed)."


def installed_models(kind: str) -> list[tuple[str, str]]:
    """(name, folder) of installed models of one kind (reads each small config.json)."""
    out = []
    for d in model_dirs():
        try:
            if json.loads((d / "config.json").read_text()).get("kind") == kind:
                out.append((d.name, str(d)))
        except (OSError, ValueError):
            continue
    return out


class MessageBanner(QFrame):
    """A dismissible one-line message above the views: errors in red, notices in blue."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.text = QLabel(objectName="messageText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self.topic = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        colours = {"error": ("#5c1f24", "#ffd6d9"), "info": ("#1d3557", "#e3f2fd")}
        bg, fg = colours.get(kind, colours["info"])
        self.setStyleSheet(f"#messageBanner {{ background: {bg}; border-radius: 4px; }} "
                           f"#messageText {{ color: {fg}; }} QPushButton {{ color: {fg}; }}")
        self.kind = kind
        self.topic = ""
        self.text.setText(("⚠ " if kind == "error" else "ℹ ") + text)
        self.show()


class MainWindow(QMainWindow):
    # What scripts, tests and the benchmark can wait for.
    voiceReady = Signal(object)  # VoiceInfo
    takeAdded = Signal(int)  # index into .takes
    jobEnded = Signal(str)  # "take", "cancelled" or "failed"
    referenceChanged = Signal()
    errorShown = Signal(str)
    firstChunk = Signal()  # the current job's first mel chunk has been drawn

    def __init__(self, model=None, settings=None, vocoder: str | None = None, device: str = "auto") -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = Settings.coerce(settings)
        self.device_choice = device
        self.voice = None  # VoiceInfo once loaded
        self.vocoder_name: str | None = None
        self.takes: list = []
        self.job: SpeakJob | None = None
        self.last_job: SpeakJob | None = None
        self.last_error = ""
        self.loading_voice = False
        self._stream_open = False
        self._audio_told = False
        self._shut_down = False
        self._restoring = False
        self._about: AboutDialog | None = None
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))

        self.take_vm = TakeViewModel(self)
        self.style_vm = StyleViewModel(self)
        self._build_ui()
        self._build_workers()
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().shutdown())  # a script that never closes it
        self._fill_selectors(model, vocoder)
        self._restore_settings()
        self._update_actions()
        self._load_selected_voice()
        # The modules imported so far (torch, pyqtgraph, Qt) hold ~250k objects; a full garbage
        # collection over them pauses the GUI thread for 100+ ms. They live as long as the process:
        # move them out of the collector's sight.
        gc.collect()
        gc.freeze()

    # ================================================================================ UI
    def _build_ui(self) -> None:
        self.setWindowTitle("Prufrock Studio")
        self.resize(1320, 840)

        # ----- toolbar: models and output -----
        bar = QToolBar("Models", objectName="modelsToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.voice_selector = QComboBox(objectName="voiceSelector")
        self.voice_selector.setToolTip("The voice (Tacotron model) that speaks")
        self.voice_selector.setMinimumContentsLength(12)
        self.speaker_label = QLabel(" Speaker ")
        self.speaker_selector = QComboBox(objectName="speakerSelector")
        self.speaker_selector.setToolTip("Speaker of a multi-speaker voice")
        self.vocoder_selector = QComboBox(objectName="vocoderSelector")
        self.vocoder_selector.setToolTip("How the mel spectrogram becomes audio")
        self.polish_toggle = QCheckBox("Polish", objectName="polishToggle")
        self.polish_toggle.setEnabled(False)
        self.polish_toggle.setToolTip(POLISH_LATER)
        self.output_selector = QComboBox(objectName="outputDeviceSelector")
        self.output_selector.setToolTip("Audio output device for playback")
        self.output_selector.addItem("Looking for audio devices…", None)
        self.output_selector.setEnabled(False)
        self.output_selector.setMinimumContentsLength(16)
        bar.addWidget(QLabel(" Voice "))
        bar.addWidget(self.voice_selector)
        self._speaker_actions = [bar.addWidget(self.speaker_label), bar.addWidget(self.speaker_selector)]
        bar.addSeparator()
        bar.addWidget(QLabel(" Vocoder "))
        bar.addWidget(self.vocoder_selector)
        bar.addWidget(self.polish_toggle)
        bar.addSeparator()
        bar.addWidget(QLabel(" Output "))
        bar.addWidget(self.output_selector)

        # ----- left: text, style, takes -----
        self.text_pane = TextPane()
        self.text_input = self.text_pane.text
        self.speak_button, self.stop_button = self.text_pane.speak, self.text_pane.stop
        self.play_button, self.export_button = self.text_pane.play, self.text_pane.export
        self.style_panel = StylePanel()
        self.takes_pane = TakesPane()
        self.takes_list = self.takes_pane.list
        left = QSplitter(Qt.Orientation.Vertical, objectName="leftSplitter")
        left.addWidget(self.text_pane)
        left.addWidget(self.style_panel)
        left.addWidget(self.takes_pane)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)
        left.setStretchFactor(2, 3)
        left.setChildrenCollapsible(False)
        left.setSizes([190, 250, 300])

        # ----- right: live views -----
        self.spectrogram = SpectrogramView(placeholder="Type some text and press Speak (Ctrl+Enter):\n"
                                                       "the mel spectrogram is drawn here as the decoder runs.")
        self.spectrogram.setObjectName("spectrogramView")
        self.spectrogram.setToolTip("Mel spectrogram (drag or wheel to pan and zoom in time; A resets)")
        self.waveform = WaveformView()
        self.waveform.setObjectName("waveformView")
        self.waveform.setXLink(self.spectrogram)
        self.alignment = AlignmentView()
        self.alignment.setObjectName("alignmentView")
        self.alignment.setToolTip("Attention: which input symbol (left) each decoder step (bottom) reads")
        views = QSplitter(Qt.Orientation.Vertical, objectName="viewSplitter")
        for title, view, stretch in (("Mel spectrogram", self.spectrogram, 4), ("Waveform", self.waveform, 2),
                                     ("Alignment", self.alignment, 4)):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(1)
            lay.addWidget(QLabel(f"<b>{title}</b>"))
            lay.addWidget(view, 1)
            views.addWidget(box)
            views.setStretchFactor(views.count() - 1, stretch)
        views.setChildrenCollapsible(False)

        speak_tab = QWidget(objectName="speakTab")
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(views)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([400, 920])
        self.left_splitter, self.view_splitter = left, views
        lay = QVBoxLayout(speak_tab)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.main_splitter)

        self.convert_tab = ConvertTab([name for name, _ in installed_models("vc")])
        self.training_tab = TrainingTab(self.settings)
        self.tabs = QTabWidget(objectName="mainTabs")
        self.tabs.addTab(speak_tab, "Speak")
        self.tabs.addTab(self.convert_tab, "Convert")
        self.tabs.addTab(self.training_tab, "Training")
        self.tabs.setTabToolTip(1, CONVERT_LATER)
        self.tabs.setTabToolTip(2, "Train your own voices: start, watch, stop and resume training runs")

        self.banner = MessageBanner()
        central = QWidget()
        clay = QVBoxLayout(central)
        clay.setContentsMargins(4, 4, 4, 0)
        clay.addWidget(self.banner)
        clay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        # ----- status bar: state, device, model, last RTF -----
        status = QStatusBar(objectName="statusBar")
        self.setStatusBar(status)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.hide()
        self.device_label = QLabel("device: –", objectName="deviceLabel")
        self.model_label = QLabel("voice: –", objectName="modelLabel")
        self.rtf_label = QLabel("last take RTF: –", objectName="rtfLabel")
        for w in (self.busy_bar, self.device_label, self.model_label, self.rtf_label):
            status.addPermanentWidget(w)

        # ----- menus and shortcuts -----
        file_menu = self.menuBar().addMenu("&File")
        act = QAction("Load reference clip…", self, shortcut=QKeySequence("Ctrl+O"))
        act.triggered.connect(lambda: self.style_panel.drop.open_dialog())
        file_menu.addAction(act)
        act = QAction("Export take…", self, shortcut=QKeySequence("Ctrl+S"))
        act.triggered.connect(self._export_dialog)
        file_menu.addAction(act)
        file_menu.addSeparator()
        act = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        act.triggered.connect(self.close)
        file_menu.addAction(act)
        help_menu = self.menuBar().addMenu("&Help")
        act = QAction("About Prufrock…", self, objectName="aboutAction")
        act.triggered.connect(self.show_about)
        help_menu.addAction(act)
        QShortcut(QKeySequence("Escape"), self, activated=self.stop)

        # ----- signals from the widgets -----
        self.speak_button.clicked.connect(lambda: self.speak())
        self.stop_button.clicked.connect(lambda: self.stop())
        self.play_button.clicked.connect(lambda: self.play())
        self.export_button.clicked.connect(self._export_dialog)
        self.takes_list.currentRowChanged.connect(self._take_selected)
        self.takes_list.itemDoubleClicked.connect(lambda _item: self.play())
        self.style_panel.weightChanged.connect(self.style_vm.set_weight)
        self.style_panel.resetRequested.connect(self.reset_style)
        self.style_panel.drop.fileChosen.connect(self.load_reference)
        self.style_vm.changed.connect(self._style_changed)
        self.take_vm.changed.connect(self._draw)
        self.voice_selector.currentIndexChanged.connect(lambda _i: self._load_selected_voice())
        self.vocoder_selector.currentIndexChanged.connect(lambda _i: self._vocoder_chosen())
        self.output_selector.currentIndexChanged.connect(lambda _i: self._output_chosen())
        self.training_tab.message.connect(lambda text, kind: self.show_error(text, kind=kind))
        self.training_tab.modelInstalled.connect(lambda path: self.refresh_voices(select=path))
        self.training_tab.playRequested.connect(self._play_sample)

        self.playhead_timer = QTimer(self)
        self.playhead_timer.setInterval(33)
        self.playhead_timer.timeout.connect(self._move_playhead)

    def _build_workers(self) -> None:
        self._engine_restarts = 0
        self._start_engine()
        self.audio = AudioOutput(self)
        self.audio.devicesChanged.connect(self._devices_listed)
        self.audio.unavailable.connect(self._audio_unavailable)
        self.audio.playingChanged.connect(self._playing_changed)

    def _start_engine(self) -> None:
        self.engine = EngineWorker(self)
        e = self.engine
        e.voiceLoaded.connect(self._voice_loaded)
        e.voiceFailed.connect(self._voice_failed)
        e.vocoderReady.connect(self._vocoder_ready)
        e.vocoderFailed.connect(self._vocoder_failed)
        e.referenceLoaded.connect(self._reference_loaded)
        e.referenceFailed.connect(self._reference_failed)
        e.jobStarted.connect(self._job_started)
        e.chunk.connect(self._chunk)
        e.segmentDone.connect(self._segment_done)
        e.segmentAudio.connect(self._segment_audio)
        e.takeReady.connect(self._take_ready)
        e.jobCancelled.connect(self._job_cancelled)
        e.jobFailed.connect(self._job_failed)
        e.engineLost.connect(self._engine_lost)

    def _current(self, job_id: int) -> SpeakJob | None:
        """The running job if `job_id` is it (events of older jobs are ignored)."""
        return self.job if self.job is not None and self.job.id == job_id else None

    # ================================================================================ selectors
    def _fill_selectors(self, model, vocoder) -> None:
        voices = installed_models("tacotron")
        wanted = None
        if model is not None:
            try:
                path = str(resolve(model).absolute())
            except BadInput as exc:
                self.show_error(str(exc))
                path = None
            if path and path not in [p for _, p in voices]:
                voices.append((Path(path).name, path))
            wanted = path
        else:
            last = self.settings.last_voice
            paths = [p for _, p in voices]
            default = [p for n, p in voices if n == "default"]
            wanted = last if last in paths else (default[0] if default else (paths[0] if paths else None))
        self.voice_selector.blockSignals(True)
        for name, path in voices:
            self.voice_selector.addItem(name, path)
            self.voice_selector.setItemData(self.voice_selector.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if wanted is not None:
            self.voice_selector.setCurrentIndex(max(0, self.voice_selector.findData(wanted)))
        self.voice_selector.blockSignals(False)
        if not voices:
            self.voice_selector.addItem("(no voice installed)", None)
            self.voice_selector.setEnabled(False)

        self.vocoder_selector.blockSignals(True)
        self.vocoder_selector.addItem("griffinlim", "griffinlim")
        for name, path in installed_models("wavenet"):
            self.vocoder_selector.addItem(f"{name} (WaveNet)", path)
        choice = vocoder or self.settings.vocoder
        idx = self.vocoder_selector.findData(choice)
        if idx < 0:
            idx = self.vocoder_selector.findText(choice)
        self.vocoder_selector.setCurrentIndex(max(0, idx))
        self.vocoder_selector.blockSignals(False)

    def refresh_voices(self, select: str | None = None) -> None:
        """List the installed voices again (after "Use as model"), keeping the current one, or selecting
        the voice in folder `select` (which loads it)."""
        current = self._selected_voice_path()
        voices = installed_models("tacotron")
        paths = [p for _, p in voices]
        if current and current not in paths and Path(current).is_dir():
            voices.append((Path(current).name, current))  # one given by folder (--model DIR)
        wanted = str(Path(select).absolute()) if select else current
        self.voice_selector.blockSignals(True)
        self.voice_selector.clear()
        for name, path in voices:
            self.voice_selector.addItem(name, path)
            self.voice_selector.setItemData(self.voice_selector.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if not voices:
            self.voice_selector.addItem("(no voice installed)", None)
        index = self.voice_selector.findData(wanted) if wanted else -1
        if index < 0:
            index = max(0, self.voice_selector.findData(current))
        self.voice_selector.setCurrentIndex(index)
        self.voice_selector.blockSignals(False)
        if select or self._selected_voice_path() != current:
            self._load_selected_voice()  # a model installed again under the same name loads again too
        self._update_actions()

    def _play_sample(self, wav, sample_rate: int) -> None:
        """Play a training sample; without an audio device say so, and carry on."""
        try:
            ok = self.audio.play(wav, sample_rate)
        except Exception as exc:  # noqa: BLE001 - playback must never block the studio
            log.warning("playing a training sample failed: %s", exc)
            ok = False
        if not ok:
            self.statusBar().showMessage(self.audio.message or NO_DEVICE_MESSAGE, 8000)

    def _selected_voice_path(self) -> str | None:
        return self.voice_selector.currentData()

    def _load_selected_voice(self) -> None:
        path = self._selected_voice_path()
        if path is None:
            if not self.last_error:
                self.show_error("No voice is installed: put a voice model in resources/models/default "
                                "(or train one with 'prufrock train tacotron').")
            self.model_label.setText("voice: none")
            return
        if self.job is not None:
            self.stop()
        # The sliders come from the voice's (small) config.json at once; the weights load in the engine thread.
        try:
            cfg = json.loads((Path(path) / "config.json").read_text())
            n_tokens = int(cfg.get("gst_tokens", 0))
            speakers = list(cfg.get("speakers", []))
        except (OSError, ValueError) as exc:
            self.show_error(f"cannot read the voice's config.json in {path}: {exc}")
            n_tokens, speakers = 0, []
        self.style_panel.build(n_tokens)
        self.style_vm.set_voice(n_tokens, None)
        self._fill_speakers(speakers)
        self.voice = None
        self.vocoder_name = None
        self.loading_voice = True
        name = Path(path).name
        self.model_label.setText(f"voice: {name} (loading…)")
        self.statusBar().showMessage(f"Loading voice {name}…")
        self.busy_bar.show()
        self._update_actions()
        self.engine.load_voice(path, self.device_choice)

    def _fill_speakers(self, speakers: list[str]) -> None:
        self.speaker_selector.clear()
        for s in speakers:
            self.speaker_selector.addItem(s, s)
        many = len(speakers) > 1
        for a in self._speaker_actions:
            a.setVisible(many)

    def _vocoder_chosen(self) -> None:
        spec = self.vocoder_selector.currentData()
        self.settings.vocoder = spec
        if self.voice is not None:
            self.vocoder_name = None
            self._update_actions()
            self.engine.load_vocoder(spec)

    # ================================================================================ worker answers
    def _voice_loaded(self, info) -> None:
        if info.path != self._selected_voice_path():
            return  # an older request
        self.voice = info
        self.loading_voice = False
        self.settings.last_voice = info.path
        self.take_vm.set_audio(info.audio)
        self.spectrogram.set_audio(info.audio)
        self.style_panel.build(info.n_style_tokens)
        self.style_vm.set_voice(info.n_style_tokens, info.default_weights)
        self._fill_speakers(info.speakers)
        self.device_label.setText(f"device: {info.device}")
        self.setWindowTitle(f"Prufrock Studio — {info.name}")
        self.engine.load_vocoder(self.vocoder_selector.currentData())
        self.statusBar().showMessage(f"Voice {info.name} loaded in {info.load_s:.1f} s", 5000)
        self._update_labels()
        self._update_actions()

    def _voice_failed(self, spec: str, message: str) -> None:
        if spec != self._selected_voice_path():
            return
        self.loading_voice = False
        self.busy_bar.hide()
        self.model_label.setText("voice: none")
        self.show_error(message)
        self._update_actions()

    def _vocoder_ready(self, name: str) -> None:
        self.vocoder_name = name
        if self.job is None:
            self.busy_bar.hide()
        self._update_labels()
        self._update_actions()
        self.voiceReady.emit(self.voice)

    def _vocoder_failed(self, spec: str, message: str) -> None:
        self.show_error(message + " — using griffinlim.")
        self.vocoder_selector.setCurrentIndex(0)  # griffinlim: requests it again
        if spec == "griffinlim":
            self.busy_bar.hide()

    def _job_started(self, job_id: int, segments) -> None:
        if self._current(job_id) is None:
            return
        self.spectrogram.follow(True)
        self.alignment.follow(True)
        self.take_vm.begin(segments)

    def _chunk(self, job_id: int, ev) -> None:
        job = self._current(job_id)
        if job is None:
            return
        if job.first_mel_s is None:
            job.first_mel_s = time.perf_counter() - job.t0
            self.take_vm.append_chunk(ev)
            self.take_vm.soon()  # draw the first frames without waiting for the frame timer
            self.firstChunk.emit()
            return
        self.take_vm.append_chunk(ev)

    def _segment_done(self, job_id: int, result) -> None:
        if self._current(job_id) is not None:
            self.take_vm.finish_segment(result)

    def _segment_audio(self, job_id: int, index: int, wav) -> None:
        job = self._current(job_id)
        if job is None or job.is_cancelled():
            return
        if job.first_audio_s is None:
            job.first_audio_s = time.perf_counter() - job.t0
        self.take_vm.set_segment_audio(index, wav)
        sr = self.voice.audio.sample_rate
        if index == 0:
            self._stream_open = self.audio.begin(sr)
        if self._stream_open:
            if index:
                self.audio.feed(np.zeros(int(SENTENCE_GAP_S * sr), dtype=np.float32))
            self.audio.feed(wav)

    def _take_ready(self, job_id: int, take) -> None:
        job = self._current(job_id)
        if job is None:
            return
        job.done_s = time.perf_counter() - job.t0
        if self._stream_open:
            self.audio.end_feed()
            self._stream_open = False
        self.takes.append(take)
        self.takes_pane.add(take, len(self.takes) - 1)
        self._end_job("take")
        # Select it (which shows its final views) at the next turn of the event loop: two short pauses
        # of the GUI thread rather than one long one.
        row = len(self.takes) - 1
        QTimer.singleShot(0, lambda: self.job is None and self.takes_list.setCurrentRow(row))
        self._update_labels()
        self.statusBar().showMessage(
            f"Take {len(self.takes)}: {take.duration_s:.2f} s of audio in {take.synthesis_s + take.vocoder_s:.2f} s "
            f"(RTF {take.rtf:.2f})", 8000)
        self.takeAdded.emit(len(self.takes) - 1)
        self.jobEnded.emit("take")

    def _job_cancelled(self, job_id: int) -> None:
        if self._current(job_id) is None:
            return
        self._end_job("cancelled")
        self.statusBar().showMessage("Stopped: no take was added", 6000)
        self.jobEnded.emit("cancelled")

    def _job_failed(self, job_id: int, message: str) -> None:
        if self._current(job_id) is None:
            return
        self.audio.stop()
        self._end_job("failed")
        self.show_error(message)
        self.jobEnded.emit("failed")

    def _engine_lost(self, message: str) -> None:
        """The engine process died: say so, and start a new one (up to 3 times a session)."""
        self.voice, self.vocoder_name, self.loading_voice = None, None, False
        if self.job is not None:
            self.audio.stop()
            self._end_job("failed")
            self.jobEnded.emit("failed")
        self.busy_bar.hide()
        self.model_label.setText("voice: none (engine stopped)")
        old = self.engine
        old.shutdown(timeout_s=1.0)
        old.deleteLater()
        if self._engine_restarts < 3 and not self._shut_down:
            self._engine_restarts += 1
            self.show_error(message.split(":")[0] + ": restarting it and reloading the voice (details in the log)")
            self._start_engine()
            self._load_selected_voice()
        else:
            self.show_error(message)
        self._update_actions()

    def _end_job(self, how: str) -> None:
        self.last_job = self.job
        self.job = None
        if how != "take":
            self._stream_open = False
        self.take_vm.end_live()
        self.spectrogram.follow(False)
        self.alignment.follow(False)
        self.busy_bar.hide()
        self._update_actions()

    # ================================================================================ style
    def _style_changed(self) -> None:
        vm = self.style_vm
        if vm.reference is not None:
            self.style_panel.show_weights(vm.reference.weights or vm.weights, editable=False)
            self.style_panel.note.setText(f"Takes follow the style of {vm.reference.name}. "
                                          "Reset returns to the sliders.")
        elif vm.reference_pending:
            self.style_panel.note.setText("Loading the reference clip…")
        else:
            if not vm.touched:
                self.style_panel.show_weights(vm.weights, editable=True)
            n = vm.n_tokens
            self.style_panel.note.setText(
                "This voice has no style tokens." if n == 0 else
                f"{n} style tokens: {'your mix' if vm.touched else 'the voice default'}. "
                "Move a slider, or drop a clip below.")

    def reset_style(self) -> None:
        """Clear the reference clip and put the sliders back to the voice's default weights."""
        self.style_vm.reset()
        self.style_panel.drop.clear_reference()
        self.referenceChanged.emit()

    def load_reference(self, path) -> None:
        """Use an audio clip as the style reference (what dropping it on referenceDrop does).

        The clip is read in the engine thread; referenceChanged fires when it is in use, errorShown if
        it cannot be used."""
        path = str(Path(path).expanduser().absolute())
        self.style_vm.reference_pending = path
        self.style_panel.drop.start_folder = str(Path(path).parent)
        self.style_panel.drop.show_loading(path)
        self._style_changed()
        self.engine.load_reference(path)

    def _reference_loaded(self, info) -> None:
        if info.path != self.style_vm.reference_pending:
            return
        self.style_vm.reference_pending = None
        self.style_vm.reference = info
        self.style_panel.drop.show_reference(info, self.voice.audio)
        self.style_vm.changed.emit()
        self.statusBar().showMessage(f"Reference clip {info.name} loaded: the next takes follow its style", 6000)
        self.referenceChanged.emit()

    def _reference_failed(self, path: str, message: str) -> None:
        if path != self.style_vm.reference_pending:
            return
        self.style_vm.reference_pending = None
        if self.style_vm.reference is not None:
            self.style_panel.drop.show_reference(self.style_vm.reference, self.voice.audio)
        else:
            self.style_panel.drop.clear_reference()
        self.style_vm.changed.emit()
        self.show_error(message)
        self.referenceChanged.emit()

    def load_source(self, path) -> None:
        """Load a recording to convert (what dropping it on sourceDrop will do). Voice conversion is a
        later feature: this raises NotBuiltYet with a message saying so."""
        raise NotBuiltYet(f"cannot load {Path(path).name}: " + CONVERT_LATER)

    # ================================================================================ actions
    def can_speak(self) -> bool:
        return self.voice is not None and self.vocoder_name is not None and self.job is None

    def speak(self, text: str | None = None) -> SpeakJob | None:
        """Synthesise the text pane's text (or `text`, which is put in the pane). Returns the job,
        or None when it cannot start (a message says why)."""
        if text is not None:
            self.text_input.setPlainText(text)
        if not self.can_speak():
            if self.job is None:
                self.statusBar().showMessage("The voice is still loading: Speak is available when it is ready",
                                             5000)
            return None
        text = self.text_pane.plain_text()
        if not text.strip():
            self.show_error("There is no text to speak: type something in the text pane first.", kind="info")
            self.banner.topic = "text"
            return None
        speaker = self.speaker_selector.currentData() if self.speaker_selector.count() > 1 else None
        job = SpeakJob(text=text, speaker=speaker, **self.style_vm.request())
        self.job = job
        self.audio.stop()
        self._stream_open = False
        if self.banner.topic == "text":
            self.banner.hide()
        self.busy_bar.show()
        self.statusBar().showMessage("Speaking…")
        self._update_actions()
        self.engine.speak(job)
        return job

    def stop(self) -> None:
        """Cancel the running synthesis (within one decoder chunk) and stop playback."""
        if self.job is not None and not self.job.is_cancelled():
            self.engine.cancel(self.job)
            self.statusBar().showMessage("Stopping…")
        self._stream_open = False
        self.audio.stop()
        self._update_actions()

    def selected_take_index(self) -> int:
        row = self.takes_list.currentRow()
        return row if 0 <= row < len(self.takes) else len(self.takes) - 1

    def play(self, index: int | None = None) -> bool:
        """Play a take (the selected one by default). False when there is nothing to play on."""
        if not self.takes:
            return False
        take = self.takes[self.selected_take_index() if index is None else index]
        if self.job is None:
            self.take_vm.show_take(take)
        if self.audio.play(take.wav, take.sample_rate):
            return True
        self.banner.show_message(self.audio.message or NO_DEVICE_MESSAGE, kind="info")  # asked for: say so
        return False

    def export_take(self, path, index: int = -1) -> Path:
        """Write take `index` (default: the latest) to `path` (.wav or .flac), atomically.

        Raises BadInput with a one-line message when there is no such take or the path is unusable."""
        from engine.audio.io import save_audio

        if not self.takes:
            raise BadInput("there is no take to export yet: speak something first")
        try:
            take = self.takes[index]
        except (IndexError, TypeError):
            raise BadInput(f"there is no take {index}: there are {len(self.takes)} takes") from None
        path = Path(path).expanduser()
        try:
            save_audio(path, take.wav, take.sample_rate)
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
        self.settings.export_folder = str(path.resolve().parent)
        self.settings.export_format = path.suffix.lower().lstrip(".")
        self.statusBar().showMessage(f"Exported take to {path}", 6000)
        return path

    def _export_dialog(self) -> None:
        if not self.takes:
            self.show_error("There is no take to export yet: speak something first.", kind="info")
            return
        index = self.selected_take_index()
        fmt = self.settings.export_format if self.settings.export_format in ("wav", "flac") else "wav"
        filters = {"wav": "WAV audio (*.wav)", "flac": "FLAC audio (*.flac)"}
        start = str(Path(self.settings.export_folder) / f"take-{index + 1}.{fmt}")
        path, chosen = QFileDialog.getSaveFileName(self, "Export take", start,
                                                   ";;".join([filters[fmt]] + [f for k, f in filters.items()
                                                                               if k != fmt]))
        if not path:
            return
        if Path(path).suffix.lower() not in (".wav", ".flac", ".ogg"):
            path += ".flac" if "FLAC" in chosen else ".wav"
        try:
            self.export_take(path, index)
        except BadInput as exc:
            self.show_error(str(exc))

    def show_about(self) -> AboutDialog:
        md = about_markdown(self.voice, self.vocoder_name or self.vocoder_selector.currentText())
        self._about = AboutDialog(md, self)
        self._about.open()
        return self._about

    # ================================================================================ views
    def _draw(self, parts: set) -> None:
        vm = self.take_vm
        if "mel" in parts:
            mel = vm.mel()
            self.spectrogram.set_mel(mel)
            if vm.live and vm.audio is not None:
                self.spectrogram.grow_to(mel.shape[-1] * vm.audio.hop_length / vm.audio.sample_rate)
        if "alignment" in parts:
            self.alignment.set_alignment(*vm.alignment())
        if "wave" in parts:
            self.waveform.set_wave(vm.wave(), vm.sample_rate)

    def _take_selected(self, row: int) -> None:
        if self.job is None and 0 <= row < len(self.takes):
            self.spectrogram.follow(False)
            self.alignment.follow(False)
            self.take_vm.show_take(self.takes[row])
        self._update_actions()

    def _move_playhead(self) -> None:
        self.waveform.set_playhead(self.audio.position_s())

    def _playing_changed(self, playing: bool) -> None:
        if playing:
            self.playhead_timer.start()
        else:
            self.playhead_timer.stop()
            self.waveform.set_playhead(None)
        self._update_actions()

    # ================================================================================ audio devices
    def _devices_listed(self, devices) -> None:
        self.output_selector.blockSignals(True)
        self.output_selector.clear()
        if not devices:
            self.output_selector.addItem("No audio output", None)
            self.output_selector.setEnabled(False)
            self.output_selector.setToolTip(self.audio.message)
            self.statusBar().showMessage(self.audio.message, 8000)
            if not self.banner.isVisible() and not self._audio_told:
                self._audio_told = True
                self.banner.show_message(self.audio.message, kind="info")
        else:
            self.output_selector.addItem("System default", None)
            for index, name in devices:
                self.output_selector.addItem(name, index)
            self.output_selector.setEnabled(True)
            wanted = self.output_selector.findText(self.settings.output_device)
            self.output_selector.setCurrentIndex(max(0, wanted))
            self.audio.set_device(self.output_selector.currentData())
        self.output_selector.blockSignals(False)

    def _output_chosen(self) -> None:
        self.audio.set_device(self.output_selector.currentData())
        self.settings.output_device = "" if self.output_selector.currentIndex() <= 0 else \
            self.output_selector.currentText()

    def _audio_unavailable(self, message: str) -> None:
        self._stream_open = False
        self.statusBar().showMessage(message, 8000)
        if not self._audio_told:  # once in the banner; then the status bar says it
            self._audio_told = True
            self.banner.show_message(message, kind="info")

    # ================================================================================ state and messages
    def _update_actions(self) -> None:
        busy = self.job is not None
        self.speak_button.setEnabled(self.can_speak())
        self.stop_button.setEnabled((busy and not self.job.is_cancelled()) or self.audio.playing)
        has = bool(self.takes)
        self.play_button.setEnabled(has)
        self.export_button.setEnabled(has)
        self.voice_selector.setEnabled(self.voice_selector.count() > 0 and self._selected_voice_path() is not None)
        if not self.speak_button.isEnabled():
            self.speak_button.setToolTip("Synthesising…" if busy else
                                         "Waiting for the voice to load" if self.loading_voice or
                                         (self.voice and not self.vocoder_name) else "No voice is loaded")
        else:
            self.speak_button.setToolTip("Synthesise the text (Ctrl+Enter)")

    def _update_labels(self) -> None:
        if self.voice is not None:
            self.model_label.setText(f"voice: {self.voice.name} · vocoder: {self.vocoder_name or '…'}")
            self.device_label.setText(f"device: {self.voice.device}")
        if self.takes:
            t = self.takes[-1]
            self.rtf_label.setText(f"last take RTF: {t.rtf:.2f}")
            self.rtf_label.setToolTip(f"synthesis {t.synthesis_s:.2f} s + vocoder {t.vocoder_s:.2f} s for "
                                      f"{t.duration_s:.2f} s of audio")

    def show_error(self, message: str, kind: str = "error") -> None:
        """Show a one-line message in the window (banner and status bar); never a traceback."""
        message = " ".join(str(message).split()) or "unknown error"
        if kind == "error":
            self.last_error = message
            log.error("%s", message)
        self.banner.show_message(message, kind=kind)
        self.statusBar().showMessage(message, 15000)
        self.errorShown.emit(message)

    # ================================================================================ settings and closing
    def _restore_settings(self) -> None:
        s = self.settings
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        if s.window_state is not None:
            self.restoreState(s.window_state)
        for name, splitter in (("main", self.main_splitter), ("left", self.left_splitter),
                               ("views", self.view_splitter)):
            state = s.splitter_state(name)
            if state is not None:
                splitter.restoreState(state)
        self.style_panel.drop.start_folder = s.export_folder

    def save_settings(self) -> None:
        s = self.settings
        if self.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):  # never shown: no layout to keep
            s.geometry = self.saveGeometry()
            s.window_state = self.saveState()
            for name, splitter in (("main", self.main_splitter), ("left", self.left_splitter),
                                   ("views", self.view_splitter)):
                s.set_splitter_state(name, splitter.saveState())
        s.sync()

    def shutdown(self) -> None:
        """Cancel work and stop the worker threads (idempotent; closeEvent calls it)."""
        if self._shut_down:
            return
        self._shut_down = True
        if self.job is not None:
            self.engine.cancel(self.job)
        self.playhead_timer.stop()
        self.training_tab.shutdown()
        self.audio.shutdown()
        self.engine.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802
        try:
            self.save_settings()
        finally:
            self.shutdown()
        super().closeEvent(event)
