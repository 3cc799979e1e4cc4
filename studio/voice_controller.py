"""Loading the models the toolbar names: the voice (in the engine process), then a vocoder matched to
it, and a polisher when Polish is on; and starting a new engine process when one dies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import QObject

from engine.bundle import resolve
from engine.errors import BadInput

log = logging.getLogger("prufrock.studio")


class VoiceController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.bar = window.toolbar
        self.bar.voice_selector.currentIndexChanged.connect(lambda _i: self.load_selected())
        self.bar.vocoder_selector.currentIndexChanged.connect(lambda _i: self.vocoder_chosen())
        self.bar.polish_toggle.toggled.connect(self.polish_toggled)

    def connect_engine(self, e) -> None:
        e.voiceLoaded.connect(self.voice_loaded)
        e.voiceFailed.connect(self.voice_failed)
        e.vocoderReady.connect(self.vocoder_ready)
        e.vocoderFailed.connect(self.vocoder_failed)
        e.polisherReady.connect(self.polisher_ready)
        e.polisherFailed.connect(self.polisher_failed)

    def fill(self, model, vocoder: str | None) -> None:
        """The selectors at startup: `model` (NAME or folder) or the last voice used, else the default."""
        voices = self.bar.voices_with(None)
        if model is not None:
            try:
                wanted = str(resolve(model).absolute())
            except BadInput as exc:
                self.w.show_error(str(exc), topic="voice")
                wanted = None
            voices = self.bar.voices_with(wanted)
        else:
            paths = [p for _, p in voices]
            last = self.w.settings.last_voice
            default = [p for n, p in voices if n == "default"]  # the bundled default voice
            wanted = last if last in paths else (default[0] if default else (paths[0] if paths else None))
        self.bar.fill_voices(voices, wanted)
        self.bar.fill_vocoders(vocoder or self.w.settings.vocoder)

    def refresh(self, select: str | None = None) -> None:
        """List the installed voices again (after "Use as model"), keeping the current one, or selecting
        the voice in folder `select` (which loads it)."""
        current = self.bar.selected_voice_path()
        wanted = str(Path(select).absolute()) if select else current
        self.bar.fill_voices(self.bar.voices_with(current), wanted)
        if self.bar.voice_selector.currentData() != wanted and current:
            self.bar.voice_selector.setCurrentIndex(max(0, self.bar.voice_selector.findData(current)))
        if select or self.bar.selected_voice_path() != current:
            self.load_selected()  # a model installed again under the same name loads again too
        self.w.update_actions()

    def load_selected(self) -> None:
        w = self.w
        path = self.bar.selected_voice_path()
        if path is None:
            if not w.last_error:
                w.show_error("No voice is installed: put a voice model in resources/models/default "
                             "(or train one in the Training tab).", topic="voice")
            w.model_label.setText("voice: none")
            return
        if w.job is not None:
            w.stop()
        # The sliders come from the voice's (small) config.json at once; the weights load in the engine.
        try:
            cfg = json.loads((Path(path) / "config.json").read_text())
            n_tokens = int(cfg.get("gst_tokens", 0))
            speakers = list(cfg.get("speakers", []))
        except (OSError, ValueError) as exc:
            w.show_error(f"cannot read the voice's config.json in {path}: {exc}", topic="voice")
            n_tokens, speakers = 0, []
        w.speak_tab.style_panel.build(n_tokens)
        w.style_vm.set_voice(n_tokens, None)
        self.bar.fill_speakers(speakers)
        w.voice, w.vocoder_name, w.loading_voice = None, None, True
        name = Path(path).name
        w.model_label.setText(f"voice: {name} (loading…)")
        w.statusBar().showMessage(f"Loading voice {name}…")
        w.busy_bar.setRange(0, 0)
        w.busy_bar.setFormat("loading…")
        w.busy_bar.show()
        w.update_actions()
        w.engine.load_voice(path, w.device_choice)

    def vocoder_chosen(self) -> None:
        spec = self.bar.vocoder_selector.currentData()
        self.w.settings.vocoder = spec
        if self.w.voice is not None:
            self.w.vocoder_name = None
            self.w.update_actions()
            self.w.engine.load_vocoder(spec)

    def polish_toggled(self, on: bool) -> None:
        if self.w.voice is not None:
            self.w.engine.load_polisher(on)

    # ----- the engine's answers ---------------------------------------------------------------------
    def voice_loaded(self, info) -> None:
        w = self.w
        if info.path != self.bar.selected_voice_path():
            return  # an older request
        w.voice, w.loading_voice = info, False
        w.settings.last_voice = info.path
        w.take_vm.set_audio(info.audio)
        w.speak_tab.spectrogram.set_audio(info.audio)
        w.speak_tab.style_panel.build(info.n_style_tokens)
        w.style_vm.set_voice(info.n_style_tokens, info.default_weights)
        self.bar.fill_speakers(info.speakers)
        w.device_label.setText(f"device: {info.device}")
        if info.device == "cpu":
            n = info.threads
            w.device_label.setToolTip(f"The models run on the CPU, {n} thread{'s' if n != 1 else ''} "
                                      "(PRUFROCK_THREADS sets it; one keeps a core free for the window)")
        else:
            w.device_label.setToolTip(f"The models run on {info.device}")
        w.setWindowTitle(f"Prufrock Studio — {info.name}")
        w.banner.clear("voice")
        if self.bar.offer_polish(info.name) and self.bar.polish_toggle.isChecked():
            w.engine.load_polisher(True)
        w.engine.load_vocoder(self.bar.vocoder_selector.currentData())
        w.statusBar().showMessage(f"Voice {info.name} loaded in {info.load_s:.1f} s", 5000)
        w.update_labels()
        w.update_actions()

    def voice_failed(self, spec: str, message: str) -> None:
        w = self.w
        if spec != self.bar.selected_voice_path():
            return
        w.loading_voice = False
        w.busy_bar.hide()
        w.model_label.setText("voice: none")
        w.show_error(message, topic="voice")
        w.update_actions()

    def vocoder_ready(self, name: str) -> None:
        w = self.w
        w.vocoder_name = name
        if w.job is None:
            w.busy_bar.hide()
        w.banner.clear("vocoder")
        w.update_labels()
        w.update_actions()
        w.voiceReady.emit(w.voice)
        w.style.measure()  # what each style token does: in the engine, between takes

    def vocoder_failed(self, spec: str, message: str) -> None:
        self.w.show_error(message + " — using griffinlim.", topic="vocoder")
        before = self.bar.vocoder_selector.currentIndex()
        self.bar.fallback_vocoder()  # its signal asks for Griffin-Lim
        if self.bar.vocoder_selector.currentIndex() == before:
            self.w.busy_bar.hide()

    def polisher_ready(self, name: str) -> None:
        self.w.polisher_name = name or None
        self.w.banner.clear("polisher")
        self.w.update_labels()

    def polisher_failed(self, message: str) -> None:
        self.w.polisher_name = None
        self.bar.polish_toggle.setChecked(False)
        self.w.show_error(message, topic="polisher")

    def engine_lost(self, message: str) -> None:
        """The engine process died: say so, and start a new one (up to 3 times a session)."""
        w = self.w
        w.voice, w.vocoder_name, w.loading_voice = None, None, False
        if w.job is not None:
            w.audio.stop()
            w.speaking.end("failed")
            w.jobEnded.emit("failed")
        w.busy_bar.hide()
        w.model_label.setText("voice: none (engine stopped)")
        old = w.engine
        old.shutdown(timeout_s=1.0)
        old.deleteLater()
        if w.engine_restarts < 3 and not w.is_shut_down:
            w.engine_restarts += 1
            w.show_error(message.split(":")[0] + ": restarting it and reloading the voice (details in the log)")
            w.start_engine()
            self.load_selected()
        else:
            w.show_error(message)
        w.update_actions()
