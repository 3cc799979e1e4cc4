"""The style of the next take: the style panel's sliders (one per style token) or a reference clip that
overrides them, kept in the StyleViewModel; the clip is read in the engine process.

What each token does is measured in the engine process when a voice is loaded (studio/token_effects.py,
cached by voice name) and written beside its slider; each slider's ▶ speaks the fixed phrase with
that token emphasised."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

PREVIEW = "preview of token"
"""How a token preview's take names its style."""


class StyleController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.vm = window.style_vm
        self.panel = window.speak_tab.style_panel
        self.panel.weightChanged.connect(self.vm.set_weight)
        self.panel.resetRequested.connect(self.reset)
        self.panel.drop.fileChosen.connect(self.load_reference)
        self.panel.previewRequested.connect(self.preview)
        self.vm.changed.connect(self.changed)
        self.measured_for: str | None = None  # the voice whose token figures were asked for
        self.effects: dict = {}  # voice name -> [TokenEffect]

    def connect_engine(self, e) -> None:
        e.referenceLoaded.connect(self.reference_loaded)
        e.referenceFailed.connect(self.reference_failed)
        e.tokensMeasured.connect(self.tokens_measured)
        e.tokensFailed.connect(self.tokens_failed)
        self.measured_for = None

    # ----- what the tokens do -------------------------------------------------------------------
    def measure(self) -> None:
        """Ask the engine what each token of the loaded voice does (once per voice; cached on disk)."""
        from studio.token_effects import PHRASE, token_cache_path

        voice = self.w.voice
        if voice is None or not voice.n_style_tokens or self.measured_for == voice.name:
            return
        if voice.name in self.effects:
            self.panel.set_effects(self.effects[voice.name])
            self.measured_for = voice.name
            return
        self.measured_for = voice.name
        self.w.engine.measure_tokens(voice.name, PHRASE, str(token_cache_path(voice.name)))

    def tokens_measured(self, voice: str, effects) -> None:
        self.effects[voice] = list(effects)
        if self.w.voice is not None and self.w.voice.name == voice:
            self.panel.set_effects(effects)
            self.w.tokensMeasured.emit(voice)

    def tokens_failed(self, voice: str, message: str) -> None:
        import logging

        logging.getLogger("prufrock.studio").warning("style tokens of %s not measured: %s", voice, message)
        for label in self.panel.labels:
            label.setToolTip("What this token does could not be measured: " + message)

    def preview(self, token: int):
        """Speak the fixed phrase with `token` emphasised (the sliders and the text pane stay as they are)."""
        from studio.token_effects import PHRASE, emphasised
        from studio.workers import SpeakJob

        w = self.w
        if not w.can_speak() or not self.vm.default_weights or not 0 <= token < len(self.vm.default_weights):
            w.statusBar().showMessage("The preview is available when the voice is ready", 4000)
            return None
        job = SpeakJob(text=PHRASE, weights=emphasised(self.vm.default_weights, token), speaker=w.toolbar.speaker(),
                       purpose=f"{PREVIEW} {token}")
        w.statusBar().showMessage(f"Previewing token {token}…")
        return w.speaking.start(job)

    def changed(self) -> None:
        vm, panel = self.vm, self.panel
        if vm.reference is not None:
            panel.show_weights(vm.reference.weights or vm.weights, editable=False)
            panel.note.setText(f"Takes follow the style of {vm.reference.name}. Reset returns to the sliders.")
        elif vm.reference_pending:
            panel.note.setText("Loading the reference clip…")
        else:
            if not vm.touched:
                panel.show_weights(vm.weights, editable=True)
            n = vm.n_tokens
            panel.note.setText("This voice has no style tokens." if n == 0 else
                               f"{n} style tokens: {'your mix' if vm.touched else 'the voice default'}. "
                               "Move a slider, or drop a clip below.")

    def reset(self) -> None:
        """Clear the reference clip and put the sliders back to the voice's default weights."""
        self.vm.reset()
        self.panel.drop.clear_reference()
        self.w.referenceChanged.emit()

    def restore_take(self, take) -> None:
        """A take was selected: its text back in the text pane, and its slider mix back on the sliders
        (a take in the default style resets them; a clip's take leaves the style as it is). A
        conversion's take leaves both alone."""
        if getattr(take, "source", "text") not in ("", "text") or take.style.startswith(PREVIEW):
            return
        self.w.text_input.setPlainText(take.text)
        voice = self.w.voice
        if voice is None or take.model != voice.name or self.vm.reference is not None or self.vm.reference_pending:
            return
        weights = take.token_weights or []
        if take.style.startswith("sliders") and len(weights) == self.vm.n_tokens:
            self.vm.weights = [float(x) for x in weights]
            self.vm.touched = True
            self.panel.show_weights(self.vm.weights, editable=True)
            self.vm.changed.emit()
        elif take.style == "default style" and self.vm.touched:
            self.vm.reset()

    def load_reference(self, path) -> None:
        path = str(Path(path).expanduser().absolute())
        self.vm.reference_pending = path
        self.panel.drop.start_folder = str(Path(path).parent)
        self.panel.drop.show_loading(path)
        self.changed()
        self.w.engine.load_reference(path)

    def reference_loaded(self, info) -> None:
        if info.path != self.vm.reference_pending:
            return
        self.vm.reference_pending = None
        self.vm.reference = info
        self.panel.drop.show_reference(info, self.w.voice.audio)
        self.vm.changed.emit()
        self.w.banner.clear("reference")
        aims = self.aims(info)
        self.w.statusBar().showMessage(f"Reference clip {info.name} loaded: the next takes follow its style"
                                       + (f" ({aims})" if aims else ""), 6000)
        self.w.referenceChanged.emit()

    @staticmethod
    def aims(info) -> str:
        """What a take styled by the clip aims for, e.g. "aimed for F0 182 Hz, 4.1 syllables/s"."""
        parts = []
        if getattr(info, "f0_hz", None):
            parts.append(f"F0 {info.f0_hz:.0f} Hz")
        if getattr(info, "rate_sps", None):
            parts.append(f"{info.rate_sps:.1f} syllables/s")
        return ("aimed for " + ", ".join(parts)) if parts else ""

    def reference_failed(self, path: str, message: str) -> None:
        if path != self.vm.reference_pending:
            return
        self.vm.reference_pending = None
        if self.vm.reference is not None:
            self.panel.drop.show_reference(self.vm.reference, self.w.voice.audio)
        else:
            self.panel.drop.clear_reference()
        self.vm.changed.emit()
        self.w.show_error(message, topic="reference")
        self.w.referenceChanged.emit()
