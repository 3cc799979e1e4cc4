"""The window's toolbar: which voice speaks (and which of its speakers), which vocoder makes the audio,
whether a polisher sharpens the mel, and which output device plays it.

Every list comes from the kind table through the engine: voices are the installed models whose kind
is an acoustic model (engine.bundle.installed(role="acoustic")), vocoders are
engine.inference.vocoder.vocoder_choices(), and Polish is offered when
engine.inference.polisher.polishers_for(voice) finds one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolBar

from engine import kinds
from engine.bundle import installed
from engine.inference.polisher import polishers_for
from engine.inference.vocoder import GRIFFINLIM, vocoder_choices

NO_VOICE = "(no voice installed)"


def voice_choices() -> list[tuple[str, str]]:
    """(name, folder) of the installed models that speak text."""
    return installed(role="acoustic")


def _polisher_recipe() -> str:
    return next(iter(kinds.names("polisher")), "RECIPE")


class ModelToolbar(QToolBar):
    def __init__(self, parent=None) -> None:
        super().__init__("Models", parent)
        self.setObjectName("modelsToolbar")
        self.setMovable(False)
        self.voice_selector = QComboBox(objectName="voiceSelector")
        self.voice_selector.setToolTip("The voice that speaks")
        self.voice_selector.setMinimumContentsLength(10)
        self.voice_selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.speaker_label = QLabel(" Speaker ")
        self.speaker_selector = QComboBox(objectName="speakerSelector")
        self.speaker_selector.setToolTip("Speaker of a multi-speaker voice")
        self.vocoder_selector = QComboBox(objectName="vocoderSelector")
        self.vocoder_selector.setToolTip("How the mel spectrogram becomes audio")
        self.polish_toggle = QCheckBox("Polish", objectName="polishToggle")
        self.polish_toggle.setEnabled(False)
        self.polish_toggle.setToolTip("Sharpen the mel with a polisher trained for the voice (none is installed)")
        self.output_selector = QComboBox(objectName="outputDeviceSelector")
        self.output_selector.setToolTip("Audio output device for playback")
        self.output_selector.addItem("Looking for audio devices…", None)
        self.output_selector.setEnabled(False)
        self.output_selector.setMinimumContentsLength(10)
        self.output_selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.addWidget(QLabel(" Voice "))
        self.addWidget(self.voice_selector)
        self._speaker_actions = [self.addWidget(self.speaker_label), self.addWidget(self.speaker_selector)]
        self.addSeparator()
        self.addWidget(QLabel(" Vocoder "))
        self.addWidget(self.vocoder_selector)
        self.addWidget(self.polish_toggle)
        self.addSeparator()
        self.addWidget(QLabel(" Output "))
        self.addWidget(self.output_selector)

    # ----- voices ---------------------------------------------------------------------------------
    def selected_voice_path(self) -> str | None:
        return self.voice_selector.currentData()

    def fill_voices(self, voices: list[tuple[str, str]], wanted: str | None) -> None:
        """List `voices` (name, folder) and select the folder `wanted` (or the first), without signals."""
        with QSignalBlocker(self.voice_selector):
            self.voice_selector.clear()
            for name, path in voices:
                self.voice_selector.addItem(name, path)
                self.voice_selector.setItemData(self.voice_selector.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
            if not voices:
                self.voice_selector.addItem(NO_VOICE, None)
            index = self.voice_selector.findData(wanted) if wanted else -1
            self.voice_selector.setCurrentIndex(max(0, index))

    def voices_with(self, folder: str | None) -> list[tuple[str, str]]:
        """The installed voices, plus `folder` when it is a voice given by folder (--model DIR)."""
        voices = voice_choices()
        if folder and folder not in [p for _, p in voices] and Path(folder).is_dir():
            voices.append((Path(folder).name, folder))
        return voices

    def fill_speakers(self, speakers: list[str]) -> None:
        self.speaker_selector.clear()
        for s in speakers:
            self.speaker_selector.addItem(s, s)
        for a in self._speaker_actions:
            a.setVisible(len(speakers) > 1)

    def speaker(self) -> str | None:
        return self.speaker_selector.currentData() if self.speaker_selector.count() > 1 else None

    # ----- vocoder and polisher ---------------------------------------------------------------------
    def fill_vocoders(self, choice: str | None) -> None:
        with QSignalBlocker(self.vocoder_selector):
            self.vocoder_selector.clear()
            for name in vocoder_choices():
                self.vocoder_selector.addItem(name, name)
            idx = self.vocoder_selector.findData(choice) if choice else -1
            if idx < 0 and choice:
                idx = self.vocoder_selector.findText(choice)
            self.vocoder_selector.setCurrentIndex(max(0, idx))

    def fallback_vocoder(self) -> None:
        """Select Griffin-Lim (always there); the selector's signal asks for it."""
        self.vocoder_selector.setCurrentIndex(max(0, self.vocoder_selector.findData(GRIFFINLIM)))

    def offer_polish(self, voice_name: str | None) -> bool:
        """Enable Polish when a polisher made for `voice_name` is installed. -> whether it is."""
        found = polishers_for(voice_name) if voice_name else []
        self.polish_toggle.setEnabled(bool(found))
        if not found:
            with QSignalBlocker(self.polish_toggle):
                self.polish_toggle.setChecked(False)
            self.polish_toggle.setToolTip(f"No mel polisher is installed for {voice_name or 'this voice'}: "
                                          f"train one with 'prufrock train {_polisher_recipe()} --partner "
                                          f"{voice_name or 'VOICE'}'")
        else:
            self.polish_toggle.setToolTip(f"Sharpen the mel with {found[0][0]} before vocoding")
        return bool(found)

    # ----- output devices ---------------------------------------------------------------------------
    def fill_outputs(self, devices, wanted: str, message: str) -> None:
        with QSignalBlocker(self.output_selector):
            self.output_selector.clear()
            if not devices:
                self.output_selector.addItem("No audio output", None)
                self.output_selector.setEnabled(False)
                self.output_selector.setToolTip(message)
                return
            self.output_selector.addItem("System default", None)
            for index, name in devices:
                self.output_selector.addItem(name, index)
            self.output_selector.setEnabled(True)
            self.output_selector.setCurrentIndex(max(0, self.output_selector.findText(wanted)))
