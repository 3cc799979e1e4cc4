"""The main window: builds the parts and wires them together.

    ModelToolbar      (model_toolbar.py)      voice, speaker, vocoder, Polish, output device
    SpeakTab          (panes/speak_tab.py)    text, style, takes; live spectrogram, waveform, alignment
    ConvertTab        (panes/convert_tab.py)  source (drop, open, record), Convert; source/converted/alignment
    TrainingTab       (panes/training_tab.py) training runs
    MessageBanner     (message_banner.py)     one-line errors and notices, cleared by success
    VoiceController   (voice_controller.py)   loading the toolbar's models in the engine process
    SpeakController   (speak_controller.py)   one Speak: the pipeline's events -> views, playback, take
    TakesController   (takes_controller.py)   the takes: kept on disk, selected, played, exported
    StyleController   (style_controller.py)   sliders and reference clip
    ConvertController (convert_controller.py) the converter (a second source in the engine), sources, recording

The GUI thread only draws and routes signals: the models load and run in the engine process that
`EngineWorker` manages (workers.py, engine_process.py), and audio plays on the audio thread (audio_io.py).
"""

from __future__ import annotations

import atexit
import gc
import logging
import weakref
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QStatusBar, QTabWidget, QVBoxLayout, QWidget

from studio import qt_compat

qt_compat.apply()  # before any widget exists: see qt_compat.py

from engine.paths import RESOURCES  # noqa: E402
from studio.about import AboutDialog, about_markdown  # noqa: E402
from studio.audio_io import DEVICE_LOST_MESSAGE, NO_DEVICE_MESSAGE, AudioInput, AudioOutput  # noqa: E402
from studio.convert_controller import ConvertController  # noqa: E402
from studio.menus import build_menus  # noqa: E402
from studio.message_banner import MessageBanner  # noqa: E402
from studio.model_toolbar import ModelToolbar  # noqa: E402
from studio.panes.convert_tab import ConvertTab  # noqa: E402
from studio.panes.speak_tab import SpeakTab  # noqa: E402
from studio.panes.training_tab import TrainingTab  # noqa: E402
from studio.settings import Settings  # noqa: E402
from studio.speak_controller import SpeakController  # noqa: E402
from studio.style_controller import StyleController  # noqa: E402
from studio.take_store import TakeStore  # noqa: E402
from studio.takes_controller import TakesController  # noqa: E402
from studio.viewmodels import StyleViewModel, TakeViewModel  # noqa: E402
from studio.voice_controller import VoiceController  # noqa: E402
from studio.workers import EngineWorker, SpeakJob  # noqa: E402

log = logging.getLogger("prufrock.studio")
ICON = RESOURCES / "icons" / "prufrock.svg"
STATUS_CHARS = 140
"""A status-bar message longer than this is cut (the banner and the log hold all of it)."""


class MainWindow(QMainWindow):
    # What scripts, tests and the benchmark can wait for.
    voiceReady = Signal(object)  # VoiceInfo
    takeAdded = Signal(int)  # index into .takes
    jobEnded = Signal(str)  # "take", "partial" (stopped after some audio), "cancelled" or "failed"
    referenceChanged = Signal()
    errorShown = Signal(str)
    firstChunk = Signal()  # the current job's first mel chunk has been drawn
    firstAudio = Signal()  # the current job's first audio chunk has arrived (drawn and playing)
    sourceChanged = Signal()  # a recording to convert was loaded (or could not be)
    converterReady = Signal(object)  # ConverterInfo
    tokensMeasured = Signal(str)  # voice name: its style sliders now say what they do

    def __init__(self, model=None, settings=None, vocoder: str | None = None, device: str = "auto",
                 takes: TakeStore | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = Settings.coerce(settings)
        self.device_choice = device
        self.voice = None  # VoiceInfo once loaded
        self.vocoder_name: str | None = None
        self.polisher_name: str | None = None
        self.job: SpeakJob | None = None
        self.last_job: SpeakJob | None = None
        self.last_error = ""
        self.loading_voice = False
        self.is_shut_down = False
        self.engine_restarts = 0
        self._audio_told = False
        self._about: AboutDialog | None = None
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.take_vm = TakeViewModel(self)
        self.style_vm = StyleViewModel(self)
        self._build_ui()
        self.takes_ctl = TakesController(self, takes)
        self.takes = self.takes_ctl.takes
        self.style = StyleController(self)
        self.speaking = SpeakController(self)
        self.voices = VoiceController(self)
        self.converting = ConvertController(self)
        self.take_vm.changed.connect(self._draw)
        self.speak_tab.before_polish.toggled.connect(lambda _on: self._draw({"mel"}))
        self.start_engine()
        self.audio = AudioOutput(self)
        self.audio_in = AudioInput(self.audio, self)
        self.converting.connect_audio(self.audio_in)
        self.audio.devicesChanged.connect(self._devices_listed)
        self.audio.unavailable.connect(self._audio_unavailable)
        self.audio.playingChanged.connect(self._playing_changed)
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().shutdown())  # a script that never closes it
        self.voices.fill(model, vocoder)
        self._restore_settings()
        if self.takes_ctl.restore():
            self.takes_list.setCurrentRow(len(self.takes) - 1)
        self.update_actions()
        self.voices.load_selected()
        # The modules imported so far (torch, pyqtgraph, Qt) hold ~250k objects; a full garbage
        # collection over them pauses the GUI thread for 100+ ms. They live as long as the process:
        # move them out of the collector's sight.
        gc.collect()
        gc.freeze()

    # ================================================================================ UI
    def _build_ui(self) -> None:
        self.setWindowTitle("Prufrock Studio")
        self.resize(1320, 840)
        self.setMinimumSize(780, 560)
        self.toolbar = ModelToolbar()
        self.addToolBar(self.toolbar)
        t = self.toolbar
        self.voice_selector, self.speaker_selector = t.voice_selector, t.speaker_selector
        self.vocoder_selector, self.polish_toggle, self.output_selector = \
            t.vocoder_selector, t.polish_toggle, t.output_selector

        self.speak_tab = s = SpeakTab()
        self.text_pane, self.text_input = s.text_pane, s.text_pane.text
        self.speak_button, self.stop_button = s.text_pane.speak, s.text_pane.stop
        self.play_button, self.export_button = s.text_pane.play, s.text_pane.export
        self.style_panel, self.takes_pane, self.takes_list = s.style_panel, s.takes_pane, s.takes_pane.list
        self.spectrogram, self.waveform, self.alignment = s.spectrogram, s.waveform, s.alignment
        self.main_splitter, self.left_splitter, self.view_splitter = s.main_splitter, s.left_splitter, s.view_splitter

        self.convert_tab = ConvertTab()
        self.training_tab = TrainingTab(self.settings)
        self.tabs = QTabWidget(objectName="mainTabs")
        self.tabs.addTab(s, "&Speak")
        self.tabs.addTab(self.convert_tab, "&Convert")
        self.tabs.addTab(self.training_tab, "&Training")
        self.tabs.setTabToolTip(0, "Type text and hear it (Alt+S)")
        self.tabs.setTabToolTip(1, "Convert a recording (dropped, opened or recorded) into another voice (Alt+C)")
        self.tabs.setTabToolTip(2, "Train your own models: start, watch, stop and resume training runs (Alt+T)")

        self.banner = MessageBanner()
        central = QWidget()
        clay = QVBoxLayout(central)
        clay.setContentsMargins(4, 4, 4, 0)
        clay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.banner.attach(central)  # floats over the content: nothing moves when it shows or hides

        status = QStatusBar(objectName="statusBar")
        self.setStatusBar(status)
        self.busy_bar = QProgressBar(objectName="speakProgress")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(220)
        self.busy_bar.setMaximumHeight(16)
        self.busy_bar.setTextVisible(True)
        self.busy_bar.hide()
        self.device_label = QLabel("device: –", objectName="deviceLabel")
        self.model_label = QLabel("voice: –", objectName="modelLabel")
        self.rtf_label = QLabel("last take RTF: –", objectName="rtfLabel")
        for w in (self.busy_bar, self.device_label, self.model_label, self.rtf_label):
            status.addPermanentWidget(w)

        self.actions = build_menus(self)

        self.speak_button.clicked.connect(lambda: self.speak())
        self.stop_button.clicked.connect(lambda: self.stop())
        self.play_button.clicked.connect(lambda: self.play())
        self.export_button.clicked.connect(lambda: self.takes_ctl.export_dialog())
        self.output_selector.currentIndexChanged.connect(lambda _i: self._output_chosen())
        self.tabs.currentChanged.connect(lambda i: i == 1 and self.converting.has_converter() and
                                         self.converting.ensure_loaded())  # ready before the first Convert
        self.training_tab.message.connect(lambda text, kind: self.show_error(text, kind=kind))
        self.training_tab.modelInstalled.connect(self._model_installed)
        self.training_tab.playRequested.connect(self._play_sample)
        self.playhead_timer = QTimer(self)
        self.playhead_timer.setInterval(33)
        self.playhead_timer.timeout.connect(self._move_playhead)
        self.play_offset_s = 0.0
        self.speak_tab.time_link.clicked.connect(self.play_from)

    def _model_installed(self, path: str) -> None:
        """A model was installed from the Training tab: list it where it belongs."""
        from engine.bundle import installed

        if any(p == str(path) or Path(p) == Path(path) for _, p in installed(role="converter")):
            self.converting.refresh(select=str(path))
        else:
            self.refresh_voices(select=path)

    def start_engine(self) -> None:
        self.engine = EngineWorker(self)
        self.voices.connect_engine(self.engine)
        self.speaking.connect_engine(self.engine)
        self.style.connect_engine(self.engine)
        self.engine.engineLost.connect(self.voices.engine_lost)
        self.engine.notice.connect(lambda msg: self.banner.show_message(msg, kind="info", topic="engine"))
        self.converting.connect_engine(self.engine)

    # ================================================================================ the API
    def can_speak(self) -> bool:
        return self.voice is not None and self.vocoder_name is not None and self.job is None

    def speak(self, text: str | None = None) -> SpeakJob | None:
        """Synthesise the text pane's text (or `text`, which is put in the pane). Returns the job,
        or None when it cannot start (a message says why)."""
        return self.speaking.speak(text)

    def stop(self) -> None:
        """Cancel the running synthesis (within one decoder chunk; what was vocoded is kept as a
        partial take) and stop playback."""
        self.speaking.stop()

    def play(self, index: int | None = None) -> bool:
        """Play a take (the selected one by default). False when there is nothing to play on."""
        return self.takes_ctl.play(index)

    def selected_take_index(self) -> int:
        return self.takes_ctl.selected_index()

    def export_take(self, path, index: int = -1) -> Path:
        """Write take `index` (default: the latest) to `path` (.wav or .flac), atomically.

        Raises BadInput with a one-line message when there is no such take or the path is unusable."""
        return self.takes_ctl.export(path, index)

    def load_reference(self, path) -> None:
        """Use an audio clip as the style reference (what dropping it on referenceDrop does).

        The clip is read in the engine process; referenceChanged fires when it is in use, errorShown if
        it cannot be used."""
        self.style.load_reference(path)

    def reset_style(self) -> None:
        self.style.reset()

    def preview_token(self, token: int):
        """Speak the fixed phrase with style token `token` emphasised (its ▶ button). -> the job or None."""
        return self.style.preview(token)

    def load_source(self, path) -> bool:
        """Load a recording to convert (what dropping it on sourceDrop does). It is read in the engine
        process: sourceChanged fires when it is shown, errorShown when it cannot be used. False (and a
        message) when no converter is installed."""
        return self.converting.load_source(path)

    def convert(self) -> SpeakJob | None:
        """Convert the loaded recording (what convertButton does). Returns the job, or None when it
        cannot start (a message says why)."""
        return self.converting.convert()

    def record(self) -> bool:
        """Start recording a source from the input device (recordButton). False, with a message, when
        there is no input device."""
        return self.converting.record()

    def stop_recording(self) -> None:
        self.converting.stop_recording()

    def refresh_voices(self, select: str | None = None) -> None:
        self.voices.refresh(select)

    def show_about(self) -> AboutDialog:
        md = about_markdown(self.voice, self.vocoder_name or self.vocoder_selector.currentText())
        self._about = AboutDialog(md, self)
        self._about.open()
        return self._about

    def show_error(self, message: str, kind: str = "error", topic: str = "") -> None:
        """Show a one-line message in the window (banner and status bar); never a traceback. A
        `topic` lets the banner clear itself when that thing later succeeds."""
        message = " ".join(str(message).split()) or "unknown error"
        if kind == "error":
            self.last_error = message
            log.error("%s", message)
        self.banner.show_message(message, kind=kind, topic=topic)
        short = message if len(message) <= STATUS_CHARS else message[: STATUS_CHARS - 1] + "…"
        self.statusBar().showMessage(short, 15000)
        self.errorShown.emit(message)

    # ================================================================================ drawing and state
    def _draw(self, parts: set) -> None:
        vm = self.take_vm
        toggle = self.speak_tab.before_polish
        toggle.setEnabled(vm.has_before)
        if "mel" in parts:
            mel = vm.mel(before_polish=toggle.isChecked())
            self.spectrogram.set_mel(mel)
            if vm.live and vm.audio is not None:
                self.spectrogram.grow_to(mel.shape[-1] * vm.audio.hop_length / vm.audio.sample_rate)
        if "alignment" in parts:
            self.alignment.set_alignment(*vm.alignment())
        if "wave" in parts:
            self.waveform.set_wave(vm.wave(), vm.sample_rate)
        if parts & {"mel", "alignment"}:
            self.speak_tab.time_link.set_map(vm.time_map())

    def _play_sample(self, wav, sample_rate: int) -> None:
        """Play a training sample; without an audio device say so, and carry on."""
        try:
            ok = self.audio.play(wav, sample_rate)
        except Exception as exc:  # noqa: BLE001 - playback must never block the studio
            log.warning("playing a training sample failed: %s", exc)
            ok = False
        if not ok:
            self.statusBar().showMessage(self.audio.message or NO_DEVICE_MESSAGE, 8000)

    def play_from(self, seconds: float) -> bool:
        """Play the shown take from `seconds` (what a click in the Speak tab's views does)."""
        if self.job is not None or not self.takes:
            return False
        return self.takes_ctl.play(None, start_s=seconds)

    def _move_playhead(self) -> None:
        pos = self.audio.position_s()
        self.speak_tab.time_link.set_playhead(None if pos is None else self.play_offset_s + pos)

    def _playing_changed(self, playing: bool) -> None:
        if playing:
            self.playhead_timer.start()
        else:
            self.playhead_timer.stop()
            self.speak_tab.time_link.set_playhead(None)
        self.update_actions()

    def _devices_listed(self, devices) -> None:
        self.toolbar.fill_outputs(devices, self.settings.output_device, self.audio.message)
        if not devices:
            self.statusBar().showMessage(self.audio.message, 8000)
            if self.banner.isHidden() and not self._audio_told:
                self._audio_told = True
                self.banner.show_message(self.audio.message, kind="info", topic="audio")
        else:
            self.banner.clear("audio")
            self.audio.set_device(self.output_selector.currentData())

    def _output_chosen(self) -> None:
        self.audio.set_device(self.output_selector.currentData())
        self.settings.output_device = "" if self.output_selector.currentIndex() <= 0 else \
            self.output_selector.currentText()

    def _audio_unavailable(self, message: str) -> None:
        self.speaking.stream_open = False
        self.statusBar().showMessage(message, 8000)
        if message == DEVICE_LOST_MESSAGE:  # news, not a standing condition: always in the banner
            self.banner.show_message(message, kind="info", topic="audio")
        elif not self._audio_told:  # once in the banner; then the status bar says it
            self._audio_told = True
            self.banner.show_message(message, kind="info", topic="audio")

    def update_actions(self) -> None:
        busy = self.job is not None
        self.speak_button.setEnabled(self.can_speak())
        self.stop_button.setEnabled((busy and not self.job.is_cancelled()) or self.audio.playing)
        has = bool(self.takes)
        self.play_button.setEnabled(has)
        self.export_button.setEnabled(has)
        self.takes_pane.delete_button.setEnabled(has and not busy)
        self.takes_pane.clear_button.setEnabled(has and not busy)
        self.voice_selector.setEnabled(self.voice_selector.count() > 0 and
                                       self.toolbar.selected_voice_path() is not None)
        if not self.speak_button.isEnabled():
            self.speak_button.setToolTip("Synthesising…" if busy else
                                         "Waiting for the voice to load" if self.loading_voice or
                                         (self.voice and not self.vocoder_name) else "No voice is loaded")
        else:
            self.speak_button.setToolTip("Synthesise the text (Ctrl+Enter)")
        if hasattr(self, "audio_in"):
            self.converting.update()

    def update_labels(self) -> None:
        if self.voice is not None:
            polish = f" + {self.polisher_name}" if self.polisher_name else ""
            self.model_label.setText(f"voice: {self.voice.name}{polish} · vocoder: {self.vocoder_name or '…'}")
            self.device_label.setText(f"device: {self.voice.device}")
        if self.takes:
            t = self.takes[-1]
            self.rtf_label.setText(f"last take RTF: {t.rtf:.2f}")
            self.rtf_label.setToolTip(f"synthesis {t.synthesis_s:.2f} s + vocoder {t.vocoder_s:.2f} s for "
                                      f"{t.duration_s:.2f} s of audio")

    # ================================================================================ settings and closing
    def _restore_settings(self) -> None:
        s = self.settings
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        if s.window_state is not None:
            self.restoreState(s.window_state)
        for name, splitter in self.speak_tab.splitters().items():
            state = s.splitter_state(name)
            if state is not None:
                splitter.restoreState(state)
        self.style_panel.drop.start_folder = s.last_folder
        self.style_panel.drop.settings = s

    def save_settings(self) -> None:
        s = self.settings
        if self.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):  # never shown: no layout to keep
            s.geometry = self.saveGeometry()
            s.window_state = self.saveState()
            for name, splitter in self.speak_tab.splitters().items():
                s.set_splitter_state(name, splitter.saveState())
        s.sync()

    def shutdown(self) -> None:
        """Cancel work and stop the worker threads (idempotent; closeEvent calls it)."""
        if self.is_shut_down:
            return
        self.is_shut_down = True
        if self.job is not None:
            self.engine.cancel(self.job)
        self.playhead_timer.stop()
        self.training_tab.shutdown()
        self.converting.stop_recording()
        self.audio.shutdown()
        self.engine.shutdown()
        self.takes_ctl.store.close()  # the last take's files are written before the window goes

    def closeEvent(self, event) -> None:  # noqa: N802
        try:
            self.save_settings()
        finally:
            self.shutdown()
        super().closeEvent(event)
