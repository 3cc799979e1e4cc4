"""The training tab's "New run" form: recipe (from the kind table), its options, data folder (with
layout detection, or a corpus built from system voices), preset, device, max steps and run folder.

The recipes listed are engine.kinds' kinds: those whose recipe exists (engine.kinds.recipe_names())
can be started; the others are shown disabled, saying so. Each kind's own `prufrock train` options
(Kind.train_options) get a field of their own."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QStyle, QWidget)

from engine import kinds
from engine.errors import BadInput
from engine.training.events import LOG_NAME
from studio.jobs import DEFAULT_RECIPE, DEVICES, runs_dir
from studio.panes.corpus_builder import CorpusBuilder, default_corpus_folder

LATER = "arrives in a later version of Prufrock"
PRESET_TIPS = {
    "tiny": "a smoke run: a very small model that trains in seconds (checks the data and the setup)",
    "default": "the model of the shipped voice: a good voice after roughly a day on a CPU",
    "large": "a bigger model for a GPU",
}
LAYOUT_NAMES = {"ljspeech": "LJSpeech layout (metadata.csv + wavs/)",
                "arctic": "CMU ARCTIC layout (etc/txt.done.data + wav/)",
                "vctk": "VCTK layout (txt/ + wav48…/)", "list": "list file (path|text|speaker lines)"}


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


def model_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip(".-") or "my-voice"


class NewRunForm(QGroupBox):
    changed = Signal()  # anything that decides whether Start can be pressed
    message = Signal(str, str)

    def __init__(self, settings=None, parent=None) -> None:
        super().__init__("New run", parent)
        self.settings = settings
        self.layout_ok = False
        self.option_fields: dict[str, QWidget] = {}
        st = self.style()
        self.recipe = QComboBox(objectName="recipeSelector")
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
        self._layout_timer.timeout.connect(self.detect_layout)
        self.corpus = CorpusBuilder()
        self.options_box = QWidget()
        self.options_form = QFormLayout(self.options_box)
        self.options_form.setContentsMargins(0, 0, 0, 0)
        self.preset = QComboBox(objectName="presetSelector")
        self.device = QComboBox(objectName="deviceSelector")
        for name in DEVICES:
            self.device.addItem(name, name)
        if cuda_available() is False:
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
        self.start_button.setToolTip("Start a new training run in its own process (Ctrl+Shift+T)")

        form = QFormLayout(self)
        form.addRow("Recipe:", self.recipe)
        form.addRow(self.options_box)
        row = QHBoxLayout()
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.data_browse)
        form.addRow("Data:", row)
        form.addRow("", self.layout_label)
        form.addRow(self.corpus.check)
        form.addRow(self.corpus.box)
        form.addRow("Preset:", self.preset)
        form.addRow("Device:", self.device)
        form.addRow("Max steps:", self.max_steps)
        row = QHBoxLayout()
        row.addWidget(self.run_edit, 1)
        row.addWidget(self.run_browse)
        form.addRow("Run folder:", row)
        form.addRow(self.start_button)

        self.refresh_recipes()
        self._restore()
        self.data_edit.textChanged.connect(lambda _t: self._layout_timer.start())
        self.data_edit.editingFinished.connect(self.detect_layout)
        self.data_browse.clicked.connect(self._browse_data)
        self.run_browse.clicked.connect(self._browse_run)
        self.recipe.currentIndexChanged.connect(lambda _i: self._recipe_changed())
        for w in (self.preset, self.device):
            w.currentIndexChanged.connect(lambda _i: self._save_choices())
        self.max_steps.valueChanged.connect(lambda _v: self._save_choices())
        self.corpus.built.connect(self._corpus_built)
        self.corpus.busyChanged.connect(self.changed)

    # ----- settings --------------------------------------------------------------------------------
    def get(self, key: str, default: str = "") -> str:
        if self.settings is None:
            return default
        v = self.settings.q.value(f"training/{key}", default)
        return default if v is None else str(v)

    def set(self, key: str, value) -> None:
        if self.settings is not None:
            self.settings.q.setValue(f"training/{key}", value)

    def _restore(self) -> None:
        with QSignalBlocker(self.preset), QSignalBlocker(self.device), QSignalBlocker(self.max_steps):
            self.preset.setCurrentIndex(max(0, self.preset.findData(self.get("preset", "default"))))
            idx = self.device.findData(self.get("device", "auto"))
            if idx < 0 or not self.device.model().item(idx).isEnabled():
                idx = 0
            self.device.setCurrentIndex(idx)
            try:
                self.max_steps.setValue(int(self.get("max_steps", "0") or 0))
            except ValueError:
                self.max_steps.setValue(0)
        with QSignalBlocker(self.data_edit):
            self.data_edit.setText(self.get("data_folder"))
        self.corpus.out.setText(self.get("corpus_folder") or str(default_corpus_folder()))
        self.run_edit.setPlaceholderText(f"{runs_dir()}/NAME (chosen when the run starts)")

    def _save_choices(self) -> None:
        self.set("preset", self.preset.currentData())
        self.set("device", self.device.currentData())
        self.set("max_steps", self.max_steps.value())

    # ----- recipes from the kind table ----------------------------------------------------------------
    def refresh_recipes(self) -> None:
        """List the kind table's kinds: startable recipes enabled, the others disabled with a reason."""
        current = self.recipe.currentData() or DEFAULT_RECIPE
        startable = kinds.recipe_names()
        with QSignalBlocker(self.recipe):
            self.recipe.clear()
            for kind in kinds.all_kinds():
                self.recipe.addItem(kind.name, kind.name)
                i = self.recipe.count() - 1
                if kind.name in startable:
                    tip = f"{kinds.ROLES[kind.role]}: {kind.summary}"
                else:
                    self.recipe.model().item(i).setEnabled(False)
                    tip = f"The {kind.name} recipe {LATER} (its training code is not in this version)."
                self.recipe.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
            idx = self.recipe.findData(current)
            if idx < 0 or current not in startable:
                idx = max(0, self.recipe.findData(startable[0] if startable else DEFAULT_RECIPE))
            self.recipe.setCurrentIndex(idx)
        self.recipe.setToolTip("What to train: " + (", ".join(startable) or "nothing") + " can be trained here")
        self._recipe_changed()

    def selected_kind(self):
        name = self.recipe.currentData()
        return kinds.get(name) if name in kinds.names() else None

    def startable(self) -> bool:
        return self.recipe.currentData() in kinds.recipe_names()

    def _recipe_changed(self) -> None:
        kind = self.selected_kind()
        wanted = self.preset.currentData() or self.get("preset", "default")
        with QSignalBlocker(self.preset):
            self.preset.clear()
            for name in (kind.presets if kind else ("default",)):
                self.preset.addItem(name, name)
                self.preset.setItemData(self.preset.count() - 1, PRESET_TIPS.get(name, f"the {name} preset"),
                                        Qt.ItemDataRole.ToolTipRole)
            idx = self.preset.findData(wanted)
            self.preset.setCurrentIndex(idx if idx >= 0 else max(0, self.preset.findData(
                kind.default_preset if kind else "default")))
        self._build_options(kind)
        self.changed.emit()

    def _build_options(self, kind) -> None:
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self.option_fields = {}
        for flags, kw in (kind.train_options if kind else ()):
            flag = flags[0]
            if kw.get("action") == "store_true":
                field = QCheckBox(flag.lstrip("-").replace("-", " "))
            else:
                field = QLineEdit()
                field.setPlaceholderText(str(kw.get("default") or "optional"))
            field.setToolTip(kw.get("help", flag))
            field.setObjectName("trainOption" + flag.lstrip("-").replace("-", "_"))
            self.option_fields[flag] = field
            self.options_form.addRow(flag.lstrip("-").replace("-", " ").capitalize() + ":", field)
        self.options_box.setVisible(bool(self.option_fields))

    def options(self) -> dict:
        """{flag: value} of the kind's own options that were filled in (True for a switch)."""
        out = {}
        for flag, field in self.option_fields.items():
            value = field.isChecked() if isinstance(field, QCheckBox) else field.text().strip()
            if value:
                out[flag] = value
        return out

    # ----- data ------------------------------------------------------------------------------------
    def data_path(self) -> Path:
        return Path(self.data_edit.text().strip()).expanduser().absolute()

    def _browse_data(self) -> None:
        start = self.data_edit.text().strip() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose the corpus folder", start)
        if path:
            self.data_edit.setText(path)
            self.detect_layout()

    def _browse_run(self) -> None:
        start = self.run_edit.text().strip() or str(runs_dir())
        path = QFileDialog.getExistingDirectory(self, "Run folder of the new run", start)
        if path:
            self.run_edit.setText(path)

    def detect_layout(self) -> None:
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
                self.set("data_folder", text)
        self.changed.emit()

    def _corpus_built(self, ok: bool, message: str, out: Path) -> None:
        self.set("corpus_folder", str(out))
        if ok:
            self.data_edit.setText(str(out))
            self.detect_layout()
            self.message.emit(f"Corpus built in {out}: it is the data of the next run.", "info")
        else:
            self.message.emit(f"Building the corpus failed: {message}", "error")

    # ----- the run ---------------------------------------------------------------------------------
    def new_run_folder(self) -> Path:
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

    def launch(self) -> dict:
        """What `prufrock train` is started with (saved in the run folder for Resume)."""
        return {"recipe": self.recipe.currentData(), "data": str(self.data_path()),
                "preset": self.preset.currentData(), "device": self.device.currentData(),
                "max_steps": self.max_steps.value() or None, "options": self.options()}

    def why_not(self, out: Path) -> str | None:
        """Why the form cannot start a run into `out` now, or None."""
        if not self.startable():
            return f"The {self.recipe.currentData()} recipe {LATER}."
        if not self.layout_ok:
            return "Cannot start training: " + (self.layout_label.text() if self.data_edit.text().strip()
                                                else "choose a corpus folder first.")
        if (out / LOG_NAME).exists() or (out / "checkpoints").exists():
            return (f"{out} already holds a training run: select it in the runs list and press Resume, "
                    "or choose another run folder.")
        return None

    def update_start(self) -> None:
        building = self.corpus.running
        self.start_button.setEnabled(self.startable() and self.layout_ok and not building)
        self.start_button.setToolTip(("Start a new training run in its own process" if self.layout_ok else
                                      "Choose a corpus in a known layout first" if not building else
                                      "Waiting for the corpus to be built") + " (Ctrl+Shift+T)")
        self.corpus.build_button.setEnabled(not building)
