"""The training tab's list of runs (runsList) and the buttons that act on the selected one.

One row per TrainingRun: the runs the studio started (under the user data folder's runs/) and the
folders it follows; row i is `runs[i]`. The panel only lists and selects; the tab acts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QListWidget, QListWidgetItem, QPushButton, QStyle, QVBoxLayout

from engine.training.events import LOG_NAME
from studio.jobs import TrainingRun, peek_state, runs_dir
from studio.panes.run_monitor import state_icon


def run_folders(followed: list[str]) -> list[Path]:
    """Run folders under runs_dir() (oldest log first), then the followed ones still there."""
    folders: list[Path] = []
    root = runs_dir()
    try:
        if root.is_dir():
            folders = sorted((p for p in root.iterdir() if (p / LOG_NAME).is_file()),
                             key=lambda p: (p / LOG_NAME).stat().st_mtime)
    except OSError:
        folders = []
    for raw in followed:
        p = Path(raw)
        if (p / LOG_NAME).is_file() and p not in folders:
            folders.append(p)
    return folders


class RunsPanel(QGroupBox):
    selectionChanged = Signal(object)  # TrainingRun or None
    runUpdated = Signal(object, object)  # run, parts
    runEnded = Signal(object, str)  # run, state
    runAdded = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__("Runs", parent)
        st = self.style()
        self.runs: list[TrainingRun] = []
        self.list = QListWidget(objectName="runsList")
        self.list.setToolTip("Training runs: the studio's and those it follows. Select one to watch it.")
        self.list.setMinimumHeight(140)
        self.stop_button = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop training",
                                       objectName="stopTrainingButton")
        self.stop_button.setToolTip("Stop the selected run: it writes a checkpoint and exits (Resume continues it)")
        self.resume_button = QPushButton("Resume", objectName="resumeTrainingButton")
        self.resume_button.setToolTip("Continue the selected run from its last complete checkpoint")
        self.open_button = QPushButton("Open folder", objectName="openRunFolderButton")
        self.open_button.setToolTip("Show the run folder in the file manager")
        self.use_button = QPushButton("Use as model", objectName="useAsModelButton")
        self.use_button.setToolTip("Install the run's best checkpoint (lowest validation loss) as a model "
                                   "and select it")
        self.follow_button = QPushButton("Follow run folder…", objectName="followRunButton")
        self.follow_button.setToolTip("Watch a run started from a terminal ('prufrock train … --out FOLDER')")
        rl = QVBoxLayout(self)
        rl.addWidget(self.list, 1)
        grid = QGridLayout()
        grid.addWidget(self.stop_button, 0, 0)
        grid.addWidget(self.resume_button, 0, 1)
        grid.addWidget(self.open_button, 1, 0)
        grid.addWidget(self.use_button, 1, 1)
        grid.addWidget(self.follow_button, 2, 0, 1, 2)
        rl.addLayout(grid)
        self.list.currentRowChanged.connect(lambda _r: self._selected())

    def discover(self, followed: list[str]) -> None:
        """List the run folders of runs_dir() and the followed ones; follow those still growing."""
        for p in run_folders(followed):
            if self.run_for(p) is not None:
                continue
            run = self.add(p)
            run.seed(*peek_state(p))
            self.refresh(run)
            if run.state == "following":
                run.follow()

    def add(self, path) -> TrainingRun:
        run = TrainingRun(path, parent=self)
        self.runs.append(run)
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, str(run.path))
        self.list.addItem(item)
        run.updated.connect(lambda parts, r=run: self._updated(r, parts))
        run.ended.connect(lambda state, r=run: self.runEnded.emit(r, state))
        self.refresh(run)
        self.runAdded.emit(run)
        return run

    def run_for(self, path) -> TrainingRun | None:
        path = Path(path).expanduser().absolute()
        return next((run for run in self.runs if run.path == path), None)

    def refresh(self, run: TrainingRun) -> None:
        item = self.list.item(self.runs.index(run))
        if item is None:
            return
        progress = f"step {run.step}" + (f" / {run.max_steps}" if run.max_steps else "")
        item.setText(f"{run.name}\n   {run.state} · {progress}")
        item.setIcon(state_icon(run.state))
        item.setToolTip(f"{run.path}\nstate: {run.state}" + (f"\n{run.message}" if run.message else ""))

    def selected(self) -> TrainingRun | None:
        row = self.list.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def select(self, run: TrainingRun) -> None:
        self.list.setCurrentRow(self.runs.index(run))

    def _selected(self) -> None:
        run = self.selected()
        if run is not None and not run.loaded:
            run.follow()
        self.selectionChanged.emit(run)

    def _updated(self, run: TrainingRun, parts: set) -> None:
        if parts & {"state", "progress"}:
            self.refresh(run)
        self.runUpdated.emit(run, parts)

    def update_buttons(self, exporting: bool) -> None:
        run = self.selected()
        active = run is not None and run.stoppable
        self.stop_button.setEnabled(active)
        self.stop_button.setText("Kill now" if active and run.state == "stopping" else "Stop training")
        has_ckpt = run is not None and run.has_checkpoint()
        self.resume_button.setEnabled(has_ckpt and not active and run.state not in ("following", "stopping"))
        self.open_button.setEnabled(run is not None)
        self.use_button.setEnabled(run is not None and not exporting and has_ckpt)
        self.use_button.setText("Installing…" if exporting else "Use as model")

    def shutdown(self) -> None:
        for run in self.runs:
            run.shutdown()
