"""The Convert tab at work: which converter (loaded in the engine process as a second source, beside
the voice), the source (dropped, opened or recorded; read in the engine process for its spectrogram),
and Convert, which runs the converter through the same pipeline as Speak (SpeakController draws its
events into this tab's views) and adds a take like any other.

    converter selected -> engine.load_converter -> converterLoaded | converterFailed
    load_source(path)  -> engine.load_source    -> sourceLoaded (source spectrogram, Play source)
    record()           -> AudioInput (audio thread) -> recorded -> USER_DATA/recordings/*.wav -> load_source
    convert()          -> a SpeakJob whose source is the recording's path
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer

from engine.bundle import installed
from engine.paths import user_data_dir
from studio.audio_io import NO_DEVICE_MESSAGE, NO_INPUT_MESSAGE
from studio.panes.convert_tab import NO_CONVERTER, SourceDrop
from studio.viewmodels import TakeViewModel
from studio.workers import SpeakJob

log = logging.getLogger("prufrock.studio")


def converters() -> list[tuple[str, str]]:
    """(name, folder) of the installed voice converters."""
    return installed(role="converter")


class ConvertController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.tab = tab = window.convert_tab
        self.vm = TakeViewModel(self)
        self.vm.changed.connect(self.draw)
        self.info = None  # ConverterInfo once loaded
        self.requested: str | None = None  # the converter folder asked of the engine
        self.source = None  # SourceInfo once loaded
        self.pending_source: str | None = None
        self.last_take = None
        tab.converter.currentIndexChanged.connect(lambda _i: self.converter_chosen())
        tab.source.fileChosen.connect(self.load_source)
        tab.source.open_dialog = self.open_dialog  # the drop zone's click opens our dialog
        tab.open.clicked.connect(self.open_dialog)
        tab.record.clicked.connect(lambda: self.record())
        tab.stop_record.clicked.connect(self.stop_recording)
        tab.convert.clicked.connect(lambda: self.convert())
        tab.stop.clicked.connect(lambda: self.w.stop())
        tab.play_source.clicked.connect(lambda: self.play_source())
        tab.play_converted.clicked.connect(lambda: self.play_converted())
        tab.export.clicked.connect(self.export_dialog)
        tab.draws.setValue(window.settings.convert_draws)
        tab.draws.valueChanged.connect(self._draws_changed)
        self.level_timer = QTimer(self)
        self.level_timer.setInterval(33)
        self.level_timer.timeout.connect(self._level)
        self.refresh()

    def _draws_changed(self, value: int) -> None:
        self.w.settings.convert_draws = value

    def connect_engine(self, e) -> None:
        e.converterLoaded.connect(self.converter_loaded)
        e.converterFailed.connect(self.converter_failed)
        e.sourceLoaded.connect(self.source_loaded)
        e.sourceFailed.connect(self.source_failed)
        self.requested = None  # a new engine process has no converter yet
        self.info = None

    def connect_audio(self, audio_in) -> None:
        self.audio_in = audio_in
        audio_in.inputsChanged.connect(lambda _d: self.update())
        audio_in.started.connect(self._recording_started)
        audio_in.recorded.connect(self._recorded)
        audio_in.failed.connect(self._record_failed)

    # ----- converters -------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """List the installed converters again (keeping the current one, or selecting folder `select`)."""
        sel = self.tab.converter
        current = select or sel.currentData()
        found = converters()
        with QSignalBlocker(sel):
            sel.clear()
            for name, path in found:
                sel.addItem(name, path)
                sel.setItemData(sel.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
            if not found:
                sel.addItem("(no converter installed)", None)
            idx = sel.findData(current) if current else -1
            if idx < 0:
                default = sel.findText("default-vc")
                idx = default if default >= 0 else 0
            sel.setCurrentIndex(idx)
        self.tab.note.setVisible(not found)
        if not found:
            self.tab.converter_status.setText("")
        elif self.requested is not None and sel.currentData() != self.requested:
            self.ensure_loaded()
        self.update()

    def has_converter(self) -> bool:
        return self.tab.converter.currentData() is not None

    def converter_chosen(self) -> None:
        if self.requested is not None or self.source is not None:
            self.ensure_loaded()
        self.update()

    def ensure_loaded(self) -> None:
        """Ask the engine for the selected converter unless it has it (or is loading it)."""
        path = self.tab.converter.currentData()
        if path is None or path == self.requested:
            return
        self.requested, self.info = path, None
        self.vm.clear()
        self.tab.converter_status.setText(f"loading {Path(path).name}…")
        self.w.engine.load_converter(path, self.w.device_choice)

    def converter_loaded(self, info) -> None:
        if info.path != self.requested:
            return
        self.info = info
        self.vm.set_audio(info.audio)
        for view in (self.tab.source_view, self.tab.converted_view):
            view.set_audio(info.audio)
        target = f" → {info.target}" if info.target else ""
        self.tab.converter_status.setText(f"{info.name}{target} · {info.device} · loaded in {info.load_s:.1f} s")
        self.w.banner.clear("converter")
        self.w.converterReady.emit(info)
        self.update()

    def converter_failed(self, spec: str, message: str) -> None:
        if spec != self.requested:
            return
        self.info = None
        self.tab.converter_status.setText("not loaded")
        self.w.show_error(message, topic="converter")
        self.update()

    # ----- the source ---------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from studio.panes.style_panel import AUDIO_FILTER

        if not self.has_converter():
            self.w.show_error(NO_CONVERTER, kind="info", topic="converter")
            return
        path, _ = QFileDialog.getOpenFileName(self.w, "Choose a recording to convert", self.w.settings.last_folder,
                                              AUDIO_FILTER)
        if path:
            self.w.settings.remember_file(path)
            self.load_source(path)

    def load_source(self, path) -> bool:
        """Read a recording to convert (what a drop on sourceDrop does). sourceChanged fires when it is
        shown, errorShown when it cannot be used. False when no converter is installed (a message says so)."""
        if not self.has_converter():
            self.w.show_error(NO_CONVERTER, kind="info", topic="converter")
            return False
        path = str(Path(path).expanduser().absolute())
        self.pending_source = path
        self.ensure_loaded()
        self.tab.source.name.setText(f"Loading {Path(path).name}…")
        self.tab.source.name.setVisible(True)
        self.w.engine.load_source(path)
        self.update()
        return True

    def source_loaded(self, info) -> None:
        if info.path != self.pending_source:
            return
        self.pending_source = None
        self.source = info
        view = self.tab.source_view
        if view.audio is None and self.info is not None:
            view.set_audio(self.info.audio)
        view.follow(False)  # fit the source: applied by set_mel
        view.set_mel(info.mel)
        self.vm.clear()
        self.vm.flush()
        self.tab.source.prompt.setText("Source (drop another to replace it):")
        self.tab.source.name.setText(f"<b>{info.name}</b> · {info.duration_s:.1f} s")
        self.w.banner.clear("source")
        self.w.statusBar().showMessage(f"Recording {info.name} loaded ({info.duration_s:.1f} s): press Convert", 6000)
        self.update()
        self.w.sourceChanged.emit()

    def source_failed(self, path: str, message: str) -> None:
        if path != self.pending_source:
            return
        self.pending_source = None
        if self.source is None:
            self.tab.source.prompt.setText(SourceDrop.PROMPT)
            self.tab.source.name.setVisible(False)
        else:
            self.tab.source.name.setText(f"<b>{self.source.name}</b> · {self.source.duration_s:.1f} s")
        self.w.show_error(message, topic="source")
        self.update()
        self.w.sourceChanged.emit()

    # ----- recording ----------------------------------------------------------------------------------
    def record(self) -> bool:
        """Start recording from the input device. Without one: a message, and False."""
        a = getattr(self, "audio_in", None)
        if not self.has_converter():
            self.w.show_error(NO_CONVERTER, kind="info", topic="converter")
            return False
        if a is None or not a.available:
            self.w.show_error((a.message if a is not None else "") or NO_INPUT_MESSAGE, kind="info", topic="record")
            return False
        if a.recording:
            return False
        rate = self.info.audio.sample_rate if self.info is not None else 16000
        a.start(rate)
        self.tab.record_time.setText("starting…")
        self.update()
        return True

    def stop_recording(self) -> None:
        a = getattr(self, "audio_in", None)
        if a is not None and a.recording:
            a.stop()

    def _recording_started(self) -> None:
        self.level_timer.start()
        self.w.statusBar().showMessage(f"Recording… (stops by itself after {self.audio_in.limit_s:.0f} s)")
        self.update()

    def _level(self) -> None:
        a = self.audio_in
        peak = a.level()
        db = 20 * math.log10(peak) if peak > 1e-6 else -60.0
        shown = max(db + 60.0, self.tab.level.value() - 1.5)  # peak hold, falling 45 dB/s
        self.tab.level.setValue(int(max(0.0, min(60.0, shown))))
        secs = a.seconds()
        self.tab.record_time.setText(f"{secs:4.1f} / {a.limit_s:.0f} s")
        if secs >= a.limit_s - 1e-3:
            self.stop_recording()

    def _recorded(self, wav, rate: int) -> None:
        from engine.audio.io import save_audio

        self.level_timer.stop()
        self.tab.level.setValue(0)
        self.tab.record_time.setText(f"{len(wav) / max(rate, 1):.1f} s recorded")
        self.update()
        if len(wav) < 0.2 * rate:
            self.w.show_error("The recording is shorter than 0.2 s: record again, speaking after pressing Record.",
                              kind="info", topic="record")
            return
        folder = user_data_dir() / "recordings"
        path = folder / time.strftime("recording-%Y%m%d-%H%M%S.wav")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            save_audio(path, wav, rate)
        except OSError as exc:
            self.w.show_error(f"cannot keep the recording in {folder}: {exc.strerror or exc}", topic="record")
            return
        self.w.banner.clear("record")
        self.load_source(path)

    def _record_failed(self, message: str) -> None:
        self.level_timer.stop()
        self.tab.record_time.setText("")
        self.w.show_error(message, kind="info", topic="record")
        self.update()

    # ----- converting ---------------------------------------------------------------------------------
    def can_convert(self) -> bool:
        return self.has_converter() and self.source is not None and self.w.job is None and not self.recording()

    def recording(self) -> bool:
        a = getattr(self, "audio_in", None)
        return a is not None and a.recording

    def convert(self) -> SpeakJob | None:
        """Convert the loaded source with the selected converter, the toolbar's vocoder and Polish
        choice. Returns the job, or None when it cannot start (a message says why)."""
        w = self.w
        if not self.can_convert():
            if not self.has_converter():
                w.show_error(NO_CONVERTER, kind="info", topic="converter")
            elif self.source is None:
                w.show_error("There is nothing to convert yet: drop, open or record a recording first.",
                             kind="info", topic="source")
            return None
        self.ensure_loaded()
        bar = w.toolbar
        job = SpeakJob(text="", source=self.source.path, vocoder=bar.vocoder_selector.currentData(),
                       polish=bar.polish_toggle.isChecked(), candidates=self.tab.draws.value())
        self.tab.converted_view.follow(True)
        self.tab.alignment.follow(True)
        return w.speaking.start(job, self)

    def take_added(self, take) -> None:
        """A conversion's take is listed (job_ended, called just before, closed the live views): keep it
        as this tab's latest."""
        self.last_take = take
        self.update()

    def job_ended(self) -> None:
        """The conversion job ended (take, Stop or failure): the live views stop following."""
        self.vm.end_live()
        self.tab.converted_view.follow(False)
        self.tab.alignment.follow(False)
        self.update()

    def draw(self, parts: set) -> None:
        vm = self.vm
        if "mel" in parts:
            mel = vm.mel()
            self.tab.converted_view.set_mel(mel)
            if vm.live and vm.audio is not None:
                self.tab.converted_view.grow_to(mel.shape[-1] * vm.audio.hop_length / vm.audio.sample_rate)
        if "alignment" in parts:
            self.tab.alignment.set_alignment(*vm.alignment())

    # ----- playing and exporting ------------------------------------------------------------------------
    def play_source(self) -> bool:
        if self.source is None:
            return False
        return self._play(self.source.wav, self.source.sample_rate)

    def play_converted(self) -> bool:
        if self.last_take is None:
            return False
        return self._play(self.last_take.wav, self.last_take.sample_rate)

    def _play(self, wav, rate: int) -> bool:
        self.w.play_offset_s = 0.0
        if self.w.audio.play(wav, rate):
            return True
        self.w.banner.show_message(self.w.audio.message or NO_DEVICE_MESSAGE, kind="info", topic="audio")
        return False

    def export_dialog(self) -> None:
        index = self._take_index()
        if index is None:
            self.w.show_error("There is no conversion to export yet: press Convert first.", kind="info",
                              topic="export")
            return
        self.w.takes_ctl.export_dialog(index)

    def _take_index(self) -> int | None:
        """Row of the latest conversion in the takes list (None when there is none or it was deleted)."""
        folder = getattr(self.last_take, "folder", None)
        for i, t in enumerate(self.w.takes):
            if t is self.last_take or (folder and getattr(t, "folder", None) == folder):
                return i
        return None

    # ----- state ----------------------------------------------------------------------------------------
    def update(self) -> None:
        t, w = self.tab, self.w
        have = self.has_converter()
        a = getattr(self, "audio_in", None)
        recording = self.recording()
        busy = w.job is not None
        converting = busy and w.job.converting
        t.converter.setEnabled(have and not converting)
        for widget in (t.source, t.open):
            widget.setEnabled(have and not recording)
        can_record = have and a is not None and a.available and not recording
        t.record.setEnabled(can_record)
        t.stop_record.setEnabled(recording)
        t.level.setEnabled(recording)
        t.convert.setEnabled(self.can_convert())
        playing = hasattr(w, "audio") and w.audio.playing
        t.stop.setEnabled((converting and not w.job.is_cancelled()) or playing)
        t.play_source.setEnabled(self.source is not None)
        t.play_converted.setEnabled(self.last_take is not None)
        t.export.setEnabled(self.last_take is not None and self._take_index() is not None)
        if not have:
            for widget, keys in ((t.converter, ""), (t.source, "Ctrl+Shift+O"), (t.open, "Ctrl+Shift+O"),
                                 (t.record, "Ctrl+R"), (t.convert, "Ctrl+Shift+Return")):
                widget.setToolTip(NO_CONVERTER + (f" (shortcut once one is installed: {keys})" if keys else ""))
            return
        t.converter.setToolTip("The voice converter: any voice in, its target voice out")
        t.source.setToolTip("Drop an audio file (WAV, FLAC, OGG…) or click to choose one (Ctrl+Shift+O)")
        t.open.setToolTip("Choose a recording to convert (Ctrl+Shift+O)")
        if recording:
            t.record.setToolTip("Recording… (Ctrl+R stops)")
        elif a is None or a.devices is None:
            t.record.setToolTip("Looking for an audio input device…")
        elif not a.available:
            t.record.setToolTip(a.message or NO_INPUT_MESSAGE)
        else:
            t.record.setToolTip(f"Record a source from the microphone, up to {a.limit_s:.0f} s (Ctrl+R)")
        t.convert.setToolTip(("Convert the recording into the converter's voice" if t.convert.isEnabled() else
                              "Converting…" if converting else
                              "Drop, open or record a recording first" if self.source is None else
                              "Wait for the current job to finish") + " (Ctrl+Shift+Return)")
