"""The style of the next take: the style panel's sliders (one per style token) or a reference clip that
overrides them, kept in the StyleViewModel; the clip is read in the engine process."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject


class StyleController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.vm = window.style_vm
        self.panel = window.speak_tab.style_panel
        self.panel.weightChanged.connect(self.vm.set_weight)
        self.panel.resetRequested.connect(self.reset)
        self.panel.drop.fileChosen.connect(self.load_reference)
        self.vm.changed.connect(self.changed)

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
        (a take in the default style resets them; a clip's take leaves the style as it is)."""
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
        self.w.statusBar().showMessage(f"Reference clip {info.name} loaded: the next takes follow its style", 6000)
        self.w.referenceChanged.emit()

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
