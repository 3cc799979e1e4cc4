"""The training tab: set up a run, start / stop / resume it, watch its loss curves, alignment and
samples, and install it as a model.

    NewRunForm   (new_run_form.py)  recipe from the kind table, data, preset, device, steps, folder
    RunsPanel    (runs_panel.py)    runsList and the buttons acting on the selected run
    RunMonitor   (run_monitor.py)   the selected run's figures, loss curves, alignment and sample

Every run is a separate `prufrock train` process (studio/jobs/); the tab only reads the appended part
of each run's events.jsonl on a timer, so the GUI thread stays free. Runs started from a terminal are
followed the same way ("Follow run folder…", or `follow_run(path)`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QInputDialog, QMessageBox, QScrollArea, QVBoxLayout, QWidget

from engine.paths import BUNDLED_MODELS, user_models_dir
from engine.training.events import LOG_NAME
from studio.jobs import CliJob, TrainingRun, peek_state, runs_dir
from studio.panes.new_run_form import NewRunForm, model_name
from studio.panes.run_monitor import ALL_PARTS, RunMonitor
from studio.panes.runs_panel import RunsPanel

log = logging.getLogger("prufrock.studio")


class TrainingTab(QWidget):
    message = Signal(str, str)  # text, kind ("error" or "info"): the window shows it
    modelInstalled = Signal(str)  # model folder: the window lists it and selects it
    playRequested = Signal(object, int)  # wav, sample rate: the window plays it
    runAdded = Signal(object)  # TrainingRun

    def __init__(self, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingTab")
        self.settings = settings
        self.export_job: CliJob | None = None
        self.export_target: Path | None = None
        self._shown: TrainingRun | None = None
        self._pending: set = set()
        self._draw_timer = QTimer(self)  # coalesces redraws: a long log arrives in many chunks
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(120)
        self._draw_timer.timeout.connect(self._draw_pending)

        self.form = NewRunForm(settings)
        self.panel = RunsPanel()
        self.monitor = RunMonitor()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.form)
        ll.addWidget(self.panel, 1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 2)
        layout.addWidget(self.monitor, 3)
        self._alias_widgets()

        self.form.changed.connect(self._update_buttons)
        self.form.message.connect(self.message)
        self.form.start_button.clicked.connect(lambda: self.start_training())
        self.form.corpus.build_button.clicked.connect(lambda: self.build_corpus())
        self.panel.stop_button.clicked.connect(lambda: self.stop_training())
        self.panel.resume_button.clicked.connect(lambda: self.resume_training())
        self.panel.open_button.clicked.connect(lambda: self.open_folder())
        self.panel.use_button.clicked.connect(lambda: self.use_as_model())
        self.panel.follow_button.clicked.connect(self._follow_dialog)
        self.panel.selectionChanged.connect(self._selection_changed)
        self.panel.runUpdated.connect(self._run_updated)
        self.panel.runEnded.connect(self._run_ended)
        self.panel.runAdded.connect(self.runAdded)
        self.monitor.sample_play.clicked.connect(lambda: self.play_sample())
        self.panel.discover(self._followed())
        self.form.detect_layout()
        self._update_buttons()

    def _alias_widgets(self) -> None:
        """The parts' widgets under the names scripts and tests use."""
        f, p, m = self.form, self.panel, self.monitor
        self.recipe, self.data_edit, self.layout_label = f.recipe, f.data_edit, f.layout_label
        self.preset, self.device, self.max_steps, self.run_edit = f.preset, f.device, f.max_steps, f.run_edit
        self.start_button = f.start_button
        c = f.corpus
        self.corpus_check, self.corpus_box, self.corpus_out = c.check, c.box, c.out
        self.corpus_limit, self.corpus_voices, self.corpus_build = c.limit, c.voices, c.build_button
        self.corpus_progress, self.corpus_status = c.progress, c.status
        self.runs_list, self.run_models = p.list, p.runs
        self.stop_button, self.resume_button, self.open_button = p.stop_button, p.resume_button, p.open_button
        self.use_button, self.follow_button = p.use_button, p.follow_button
        self.run_title, self.progress, self.stats_label = m.run_title, m.progress, m.stats_label
        self.loss_plot, self.alignment_view, self.sample_play = m.loss_plot, m.alignment_view, m.sample_play

    def showEvent(self, event) -> None:  # noqa: N802
        self.form.refresh_recipes()  # a kind registered since (a plugin) shows up
        super().showEvent(event)

    def refresh_recipes(self) -> None:
        self.form.refresh_recipes()

    # ----- runs -----------------------------------------------------------------------------------
    def _followed(self) -> list[str]:
        if self.settings is None:
            return []
        v = self.settings.q.value("training/followed", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])]

    def _detect_layout(self) -> None:
        self.form.detect_layout()

    @property
    def layout_ok(self) -> bool:
        return self.form.layout_ok

    def run_for(self, path) -> TrainingRun | None:
        return self.panel.run_for(path)

    def selected_run(self) -> TrainingRun | None:
        return self.panel.selected()

    def select_run(self, run: TrainingRun) -> None:
        self.panel.select(run)

    def _selection_changed(self, run) -> None:
        self._shown = run
        self._pending.clear()
        self.monitor.reset()
        self.monitor.draw(run, ALL_PARTS)
        self._update_buttons()

    def _run_updated(self, run: TrainingRun, parts: set) -> None:
        if run is self._shown:
            self._pending |= set(parts)
            if not self._draw_timer.isActive():
                self._draw_timer.start()
        if parts & {"state", "checkpoint"}:
            self._update_buttons()

    def _run_ended(self, run: TrainingRun, state: str) -> None:
        self.panel.refresh(run)
        if state == "failed":
            self.message.emit(f"Training run {run.name} failed: {run.message} "
                              f"(the full log is {run.path / 'studio-train.log'})", "error")
        elif state == "stopped":
            self.message.emit(f"Training run {run.name} stopped at step {run.step}"
                              + (f": {run.message}" if run.message else "; Resume continues it") + ".", "info")
        elif state == "finished":
            self.message.emit(f"Training run {run.name} finished at step {run.step}: "
                              "'Use as model' installs it.", "info")
        self._update_buttons()

    def _draw_pending(self) -> None:
        if self._shown is not None and self._shown.follower.catching_up and "loss" in self._pending:
            self._draw_timer.start(400)  # a long log is still being read: draw its curves less often
            return
        self._draw_timer.setInterval(120)
        parts, self._pending = self._pending, set()
        if self._shown is not None and parts:
            self.monitor.draw(self._shown, parts)

    def _update_buttons(self) -> None:
        self.form.update_start()
        self.panel.update_buttons(exporting=self.export_job is not None and self.export_job.running())

    # ----- actions --------------------------------------------------------------------------------
    def _error(self, text: str) -> None:
        self.message.emit(text, "error")

    def build_corpus(self, out=None, limit: int | None = None, voices: str | None = None) -> CliJob | None:
        """Run `prufrock corpus build` (a separate process); when it succeeds the data field points at
        the new corpus."""
        job = self.form.corpus.build(out, limit, voices)
        self._update_buttons()
        return job

    def start_training(self) -> TrainingRun | None:
        """Start a new run with the form's choices (what startTrainingButton does). Returns the run,
        or None when it cannot start (a message says why)."""
        self.form.detect_layout()
        out = self.form.new_run_folder()
        why = self.form.why_not(out)
        if why:
            self._error(why)
            return None
        run = self.run_for(out) or self.panel.add(out)
        run.reset_series()
        run.follower.offset = 0
        if not run.start(self.form.launch()):
            self._error(f"Cannot start training: {run.message}")
            return None
        self.form.run_edit.clear()
        self.select_run(run)
        self.panel.refresh(run)
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
            self.form.detect_layout()
            if not self.form.layout_ok:
                self._error(f"To resume {run.name} here, choose its corpus in the Data field first.")
                return False
            overrides.update(data=str(self.form.data_path()), device=self.device.currentData())
        if run.max_steps and run.step >= run.max_steps and self.max_steps.value() > run.step:
            overrides["max_steps"] = self.max_steps.value()
        if not run.resume(overrides):
            self._error(f"Cannot resume {run.name}: {run.message}")
            return False
        self.panel.refresh(run)
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
        if not (path / LOG_NAME).is_file():
            self._error(f"{path} is not a training run folder: it has no {LOG_NAME} "
                        "(start one with 'prufrock train RECIPE --data DIR --out FOLDER').")
            return None
        run = self.run_for(path)
        if run is None:
            run = self.panel.add(path)
            state, step, max_steps = peek_state(path)
            run.seed("following" if state == "interrupted" else state, step, max_steps)  # until its log says more
            if not str(path).startswith(str(runs_dir())):
                followed = [p for p in self._followed() if p != str(path)] + [str(path)]
                self.form.set("followed", followed[-20:])
        run.follow()
        self.select_run(run)
        self.panel.refresh(run)
        return run

    def _follow_dialog(self) -> None:
        last = self.settings.q.value("dialogs/last_run_parent", "") if self.settings is not None else ""
        start = last if last and Path(last).is_dir() else str(runs_dir()) if runs_dir().is_dir() else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Follow a training run folder", start)
        if path:
            if self.settings is not None:  # the next dialog opens where this run lives
                self.settings.q.setValue("dialogs/last_run_parent", str(Path(path).parent))
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
        """Install the run's best checkpoint as a model in the user models folder, in a separate process;
        `modelInstalled` fires when it is there. Without `name` a dialog asks for one."""
        run = run or self.selected_run()
        if run is None or (self.export_job is not None and self.export_job.running()):
            return None
        run.load_all()  # the validation losses decide which checkpoint is best
        ckpt = run.best_checkpoint()
        if ckpt is None:
            self._error(f"{run.name} has no complete checkpoint yet: train it a little longer.")
            return None
        interactive = name is None
        if interactive:
            name, ok = QInputDialog.getText(self, "Use as model", "Name of the new model:", text=model_name(run.name))
            if not ok or not name.strip():
                return None
        name = model_name(name)
        if (BUNDLED_MODELS / name).exists():
            self._error(f"'{name}' is the name of a bundled model: choose another name.")
            return None
        dest = user_models_dir() / name
        if interactive and dest.exists():
            answer = QMessageBox.question(self, "Use as model", f"A model named '{name}' is installed. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
        job = CliJob("models", "export", str(ckpt), "--out", str(dest), parent=self)
        job.done.connect(lambda ok, msg, dest=dest, ckpt=ckpt: self._exported(ok, msg, dest, ckpt))
        self.export_job, self.export_target = job, dest
        job.start()
        self._update_buttons()
        return job

    def _exported(self, ok: bool, message: str, dest: Path, ckpt: Path) -> None:
        self._update_buttons()
        if not ok:
            self._error(f"Installing the model failed: {message}")
            return
        self.message.emit(f"Installed {dest.name} (checkpoint {ckpt.name}) in {dest.parent}: it is now the "
                          "selected model.", "info")
        self.modelInstalled.emit(str(dest))

    def shutdown(self) -> None:
        """Stop the runs this studio launched (each writes a checkpoint first) and the other jobs."""
        self.form.corpus.cancel()
        if self.export_job is not None:
            self.export_job.cancel()
        self.panel.shutdown()
