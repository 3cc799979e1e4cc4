"""One training run as the studio sees it: a run folder, the fold of its event log
(engine.training.events.RunState), and the `prufrock train` process when the studio launched it.

States of a run:
    running      launched by the studio, its process alive
    stopping     asked to stop (SIGTERM: the run writes a checkpoint and exits); killed after a timeout
    stopped      ended on request (end event "stopped", or killed after the stop timeout)
    finished     reached max_steps (end event "finished")
    failed       its process exited non-zero; `message` holds the last line of its stderr
    following    started elsewhere (a terminal): followed through its event log only
    interrupted  a run folder whose log ends without an "end" event and no longer grows
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from engine import kinds
from engine.fsutil import atomic_write_json
from engine.threads import job_threads
from engine.training import events as ev
from engine.training.checkpoint import checkpoint_step, list_checkpoints
from studio.jobs.follower import IDLE_S, EventFollower
from studio.jobs.process import environment, last_line, prufrock_command, split_lines

log = logging.getLogger("prufrock.studio")

DEFAULT_RECIPE = "tacotron"
"""The recipe a run is taken to be when nothing says otherwise (the default, first kind)."""
DEVICES = ("auto", "cpu", "cuda")
LAUNCH_FILE = "studio-run.json"
"""What the studio launched a run with (recipe, data, preset, device, max_steps, speakers): Resume reads it."""
RESUME_CONFIG = "studio-resume-config.json"
"""For a run started elsewhere: its training config (from the log's start event), passed to --config."""
LOG_FILE = "studio-train.log"
"""The stderr of the runs the studio launched, appended."""
STOP_TIMEOUT_MS = 60_000
ACTIVE = ("running", "stopping")
KILLED = "killed after it did not stop in time: the last complete checkpoint is kept"


def is_training_process(pid: int) -> bool:
    """Alive, ours to signal, and (where /proc tells) a `train` command, not a process that reused
    the pid of a run that died without logging its end."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        return b"train" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()  # no /proc (macOS): alive is all we can tell


class TrainingRun(QObject):
    """One run folder. `updated` carries the set of parts that changed (those of RunState.apply)."""

    updated = Signal(object)
    ended = Signal(str)  # final state: finished, stopped or failed
    failed = Signal(str)  # a one-line message

    def __init__(self, path, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path).expanduser().absolute()
        self.name = self.path.name
        self.state = "following"
        self.message = ""
        self.process: QProcess | None = None
        self.follower = EventFollower(ev.log_path(self.path), parent=self)
        self.follower.events.connect(self._on_events)
        self.follower.timer.timeout.connect(self._check_idle)
        self.launch = self._read_launch()
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._stderr_buf = b""
        self._stop_requested = self._killed = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.kill)
        self.loaded = False
        self.reset_series()

    def reset_series(self) -> None:
        self.log = ev.RunState()
        self.alignment_path: Path | None = None
        self.sample_path: Path | None = None

    # ----- what its log says (the fold) -------------------------------------------------------------
    recipe = property(lambda self: self.log.recipe or self.launch.get("recipe") or DEFAULT_RECIPE)
    step = property(lambda self: self.log.step)
    max_steps = property(lambda self: self.log.max_steps)
    device = property(lambda self: self.log.device)
    config = property(lambda self: self.log.config)
    steps_per_s = property(lambda self: self.log.steps_per_s)
    val_steps = property(lambda self: self.log.val_steps)
    val_loss = property(lambda self: self.log.val_loss)
    val_by_step = property(lambda self: self.log.val_by_step)
    last_val = property(lambda self: self.log.last_val)
    nan_skips = property(lambda self: self.log.nan_skips)
    pid = property(lambda self: self.log.pid)
    host = property(lambda self: self.log.host)
    end_status = property(lambda self: self.log.status if self.log.ended else None)

    @property
    def world_size(self) -> int:
        return self.log.world_size

    @world_size.setter
    def world_size(self, value: int) -> None:
        self.log.world_size = value

    @property
    def steps(self) -> list[int]:
        return self.log.series.get("total", ([], []))[0]

    @property
    def loss(self) -> list[float]:
        return self.log.series.get("total", ([], []))[1]

    @property
    def components(self) -> dict:
        return {k: v for k, v in self.log.series.items() if k != "total"}

    def _artifact(self, which: str, attr: str):
        art = getattr(self.log, which)
        return None if art is None else getattr(art, attr)

    alignment_step = property(lambda self: self._artifact("alignment", "step"))
    alignment_text = property(lambda self: self._artifact("alignment", "text") or "")
    sample_step = property(lambda self: self._artifact("sample", "step"))
    sample_text = property(lambda self: self._artifact("sample", "text") or "")

    def seed(self, state: str, step: int, max_steps: int | None) -> None:
        """What a cheap look at the log's tail said, until the whole log is read."""
        self.state, self.log.step, self.log.max_steps = state, step, max_steps

    # ----- what it is -------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.process is not None and self.state in ACTIVE

    @property
    def external_pid(self) -> int | None:
        """The pid of a followed run started elsewhere that this studio can stop: one process (a
        distributed run's other ranks would wait for rank 0 forever), on this machine (the host in its
        start event), still alive and still a training process, on a POSIX system (where SIGTERM lets
        it checkpoint)."""
        if (self.process is not None or self.state not in ("following", "stopping") or self.pid is None
                or self.world_size != 1 or os.name != "posix" or self.host != socket.gethostname()):
            return None
        return self.pid if is_training_process(self.pid) else None

    @property
    def stoppable(self) -> bool:
        """Started here and still running, or followed and stoppable by its pid."""
        return self.active or self.external_pid is not None

    def eta_s(self) -> float | None:
        if not self.max_steps or not self.steps_per_s or self.state not in ("running", "following"):
            return None
        return max(0, self.max_steps - self.step) / self.steps_per_s

    def best_checkpoint(self) -> Path | None:
        """The kept checkpoint with the lowest validation loss at its step (the latest when none of
        the kept ones was validated)."""
        kept = [(checkpoint_step(p), p) for p in list_checkpoints(self.path)]
        if not kept:
            return None
        scored = [(self.val_by_step[s], -s, p) for s, p in kept if s in self.val_by_step]
        return min(scored)[2] if scored else kept[-1][1]

    def has_checkpoint(self) -> bool:
        return bool(list_checkpoints(self.path))

    def _read_launch(self) -> dict:
        try:
            return json.loads((self.path / LAUNCH_FILE).read_text())
        except (OSError, ValueError):
            return {}

    # ----- following --------------------------------------------------------------------------------
    def follow(self) -> None:
        """Read the log (in chunks, on a timer) and keep watching it."""
        self.loaded = True
        self.follower.start(250 if self.state in ("running", "stopping", "following") else 1000)
        QTimer.singleShot(0, self.follower.poll)

    def load_all(self) -> None:
        """Read the rest of the log now (before an action that needs all of it), and keep following."""
        self.follower.drain()
        if not self.loaded:
            self.follow()

    def _resolve(self, raw: str, sub: str) -> Path:
        """A path from the log: the file of that name in this run folder when it is there (the log may
        hold paths relative to the trainer's working folder, or the folder may have moved)."""
        p = Path(raw)
        local = self.path / sub / p.name
        if local.exists():
            return local
        return p if p.is_absolute() else self.path / p

    def _on_events(self, events: list) -> None:
        parts: set = set()
        for e in events:
            parts |= self.log.apply(e)
            kind = e.get("type")
            if self.process is not None:
                continue
            if kind == ev.START:
                self.state = "following"
            elif kind == ev.STEP and self.state == "interrupted":
                self.state = "following"
                parts.add("state")
            elif kind == ev.END:
                self._kill_timer.stop()
                self.state = self.log.status
                self.follower.start(1000)  # quieter; a resume from a terminal still shows up
        if "alignment" in parts:  # the image's data: an .npy of the same stem beside the PNG
            self.alignment_path = self._resolve(str(Path(self.log.alignment.path).with_suffix(".npy")), "alignments")
        if "sample" in parts:
            self.sample_path = self._resolve(self.log.sample.path, "samples")
        if parts:
            self.updated.emit(parts)

    def _check_idle(self) -> None:
        """A followed run whose log stopped growing without an "end" event: it was interrupted (or its
        machine is very slow; it shows as following again when a step arrives)."""
        t = self.log.last_event_time
        if (self.process is None and self.state == "following" and not self.log.ended and t is not None
                and time.time() - t > IDLE_S and self.follower.at_end()):
            self.state = "interrupted"
            self.updated.emit({"state"})

    # ----- launching --------------------------------------------------------------------------------
    def command(self, resume: bool) -> list[str]:
        """The `prufrock train` arguments of this run's launch."""
        launch = self.launch
        args = ["train", launch.get("recipe") or DEFAULT_RECIPE, "--data", str(launch["data"]),
                "--out", str(self.path), "--preset", launch.get("preset", "default"),
                "--device", launch.get("device", "auto")]
        if launch.get("max_steps"):
            args += ["--max-steps", str(int(launch["max_steps"]))]
        if launch.get("speakers"):
            args += ["--speakers", ",".join(launch["speakers"])]
        if launch.get("config"):
            args += ["--config", str(launch["config"])]
        options = launch.get("options") or {}
        for flag, value in options.items():  # the kind's own options
            if value is True:
                args.append(flag)
            elif value:
                args += [flag, str(value)]
        if not options.get("--threads"):
            args += ["--threads", str(job_threads(options.get("--nproc")))]
        return args + (["--resume"] if resume else [])

    def start(self, launch: dict | None = None, resume: bool = False) -> bool:
        """Launch `prufrock train` for this folder (with --resume to continue it). False when it
        cannot start (the message says why)."""
        if self.active:
            return False
        if launch is not None:
            self.launch = dict(launch)
        if not self.launch.get("data"):
            self.message = "no data folder is known for this run"
            return False
        recipe = self.launch.get("recipe") or DEFAULT_RECIPE
        if recipe not in kinds.recipe_names():
            self.message = f"the {recipe} recipe cannot be trained in this version"
            return False
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not resume:
                atomic_write_json(self.path / LAUNCH_FILE, self.launch)
        except OSError as exc:
            self.message = f"cannot write to {self.path}: {exc.strerror or exc}"
            return False
        program, argv = prufrock_command(*self.command(resume))
        proc = QProcess(self)
        proc.setProcessEnvironment(environment())
        proc.setWorkingDirectory(str(self.path))
        proc.setStandardOutputFile(QProcess.nullDevice())
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.process = proc
        self.message = ""
        self.stderr_tail.clear()
        self._stderr_buf = b""
        self._stop_requested = self._killed = False
        self.state = "running"
        self._log_line(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}: {program} {' '.join(argv)}")
        log.info("training: %s %s", program, " ".join(argv))
        proc.start(program, argv)
        self.loaded = True
        self.follower.start(250)
        self.updated.emit({"state"})
        return True

    def resume(self, launch_overrides: dict | None = None) -> bool:
        """Continue from the last complete checkpoint (`prufrock train ... --resume`)."""
        if self.active:
            return False
        if self.external_pid is not None:
            self.message = f"{self.name} is still running elsewhere (pid {self.pid}): stop it first"
            return False
        self.load_all()  # what follows depends on the whole log (its config, max_steps, step)
        if not self.has_checkpoint():
            self.message = f"{self.name} has no checkpoint to resume from"
            return False
        launch = dict(self.launch)
        launch.update({k: v for k, v in (launch_overrides or {}).items() if v is not None})
        if not self.launch and self.config and self.config.get("train"):
            # Started elsewhere: rebuild it from what its log recorded.
            cfg = self.path / RESUME_CONFIG
            try:
                atomic_write_json(cfg, self.config["train"], indent=None)
            except OSError as exc:
                self.message = f"cannot write to {self.path}: {exc.strerror or exc}"
                return False
            launch["config"] = str(cfg)
            launch.setdefault("max_steps", self.max_steps)
            launch.setdefault("recipe", self.log.recipe or DEFAULT_RECIPE)
        if self.max_steps and self.step >= self.max_steps and (launch.get("max_steps") or 0) <= self.step:
            self.message = (f"{self.name} already reached its {self.max_steps} steps: raise Max steps "
                            "to train it further")
            return False
        self.launch = launch
        return self.start(resume=True)

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Ask the run to stop (SIGTERM: it writes a checkpoint and exits); kill it after `timeout_ms`.
        A run followed from a terminal on this machine is stopped through its pid."""
        pid = None if self.active else self.external_pid
        if pid is None and not self.active:
            return False
        self._stop_requested = True
        self.state = "stopping"
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            self.follower.start(250)
        else:
            self.process.terminate()
        self._kill_timer.start(timeout_ms)
        self.updated.emit({"state"})
        return True

    def kill(self) -> None:
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self._killed = True
            self.process.kill()
        elif self.process is None and self.state == "stopping" and self.external_pid is not None:
            self._kill_timer.stop()
            os.kill(self.pid, signal.SIGKILL)
            self.state = "stopped"
            self.message = KILLED
            self.follower.start(1000)
            self.updated.emit({"state"})

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        lines, self._stderr_buf = split_lines(self._stderr_buf, bytes(self.process.readAllStandardError()))
        if len(self._stderr_buf) > 8192:
            lines.append(self._stderr_buf.decode("utf-8", "replace"))
            self._stderr_buf = b""
        for line in lines:
            if line:
                self.stderr_tail.append(line)
                self._log_line(line)

    def _log_line(self, line: str) -> None:
        try:
            with open(self.path / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:
            pass

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish("failed", f"the training process could not start ({self.process.errorString()})")

    def _on_finished(self, code: int, status) -> None:
        self._read_stderr()
        if self._stderr_buf.strip():
            self.stderr_tail.append(self._stderr_buf.decode("utf-8", "replace").strip())
            self._stderr_buf = b""
        self.follower.drain()
        if status == QProcess.ExitStatus.NormalExit and code == 0:
            self._finish(self.end_status or ("stopped" if self._stop_requested else "finished"))
        elif self._killed or self._stop_requested:
            self._finish("stopped", KILLED if self._killed else "")
        else:
            why = last_line(self.stderr_tail) or (f"exit code {code}" if status == QProcess.ExitStatus.NormalExit
                                                  else "the process crashed")
            self._finish("failed", why)

    def _finish(self, state: str, message: str = "") -> None:
        if self.process is None:
            return
        self._kill_timer.stop()
        proc, self.process = self.process, None
        proc.deleteLater()
        self.state = state
        self.message = message
        self.follower.start(1000)
        self.updated.emit({"state", "progress"})
        if state == "failed":
            self.failed.emit(message)
        self.ended.emit(state)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """The studio closes: stop the process gracefully (it checkpoints), kill it if it lingers."""
        self.follower.stop()
        if self.process is None or self.process.state() == QProcess.ProcessState.NotRunning:
            return
        proc = self.process
        proc.finished.disconnect(self._on_finished)
        proc.terminate()
        if not proc.waitForFinished(wait_ms):
            proc.kill()
            proc.waitForFinished(5000)
