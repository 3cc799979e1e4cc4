"""Training runs as the studio sees them: separate processes (never threads of the GUI) and the
JSON-lines event log they write.

    TrainingRun     one run folder: its state, the series read from RUN/events.jsonl, and the
                    `prufrock train` process when the studio launched it (QProcess)
    EventFollower   reads only the bytes appended to events.jsonl since the last look, on a QTimer,
                    at most `chunk_bytes` a tick, so a long log never stalls the GUI thread
    CliJob          any other `prufrock ...` command run as a QProcess (corpus build, model export)

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
import sys
import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from engine.paths import PROJECT_ROOT, user_data_dir

log = logging.getLogger("prufrock.studio")

RECIPES = ("tacotron", "vc", "polisher", "wavenet")
PRESETS = ("tiny", "default", "large")
DEVICES = ("auto", "cpu", "cuda")
LAUNCH_FILE = "studio-run.json"
"""What the studio launched a run with (recipe, data, preset, device, max_steps, speakers): Resume reads it."""
RESUME_CONFIG = "studio-resume-config.json"
"""For a run started elsewhere: its training config (from the log's start event), passed to --config."""
LOG_FILE = "studio-train.log"
"""The stderr of the runs the studio launched, appended."""
STOP_TIMEOUT_MS = 60_000
ACTIVE = ("running", "stopping")
IDLE_S = 300
"""A followed run whose log has not grown for this long (and has no end event) shows as interrupted."""


def runs_dir() -> Path:
    return user_data_dir() / "runs"


def prufrock_command(*args: str) -> tuple[str, list[str]]:
    """(program, arguments) that run `prufrock ARGS...` with this Python (or this frozen build)."""
    if getattr(sys, "frozen", False):  # a PyInstaller build: the executable is `prufrock` itself
        return sys.executable, list(args)
    return sys.executable, ["-m", "engine", *args]


def _environment() -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    paths = [str(PROJECT_ROOT)] + [p for p in [env.value("PYTHONPATH", "")] if p]
    env.insert("PYTHONPATH", os.pathsep.join(paths))
    env.insert("PYTHONUNBUFFERED", "1")
    return env


def last_line(lines) -> str:
    """The last non-empty line (a traceback's last line is its message)."""
    for line in reversed(list(lines)):
        if line.strip():
            return line.strip()
    return ""


def _checkpoint_step(path: Path) -> int:
    try:
        return int(Path(path).name.split("_")[-1])
    except ValueError:
        return -1


# ============================================================================================ follower
class EventFollower(QObject):
    """Emits `events` (a list of dicts) with the complete lines appended to a JSON-lines file."""

    events = Signal(list)

    def __init__(self, path, interval_ms: int = 250, chunk_bytes: int = 64 * 1024, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.offset = 0
        self.chunk_bytes = chunk_bytes
        self._chunk = chunk_bytes
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        # Catching up with a long log: the next chunk soon, each a short slice of the GUI thread.
        self._more = QTimer(self)
        self._more.setSingleShot(True)
        self._more.setInterval(10)
        self._more.timeout.connect(self.poll)

    def start(self, interval_ms: int | None = None) -> None:
        if interval_ms is not None:
            self.timer.setInterval(interval_ms)
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._more.stop()

    @property
    def catching_up(self) -> bool:
        """More of the log is waiting to be read (the next chunk is due in a few ms)."""
        return self._more.isActive()

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def at_end(self) -> bool:
        return self.size() <= self.offset

    def poll(self) -> list[dict]:
        """Read what was appended (at most one chunk), emit and return its events."""
        size = self.size()
        if size < self.offset:  # the log was replaced: start again
            self.offset = 0
        if size <= self.offset:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(min(size - self.offset, self._chunk))
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return []
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) >= self._chunk:  # one line longer than a chunk: read more next time
                self._chunk *= 2
            return []
        self._chunk = self.chunk_bytes
        events = []
        for line in data[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "type" in e:
                events.append(e)
        self.offset += end + 1
        if self.offset < size and self.timer.isActive():
            self._more.start()
        if events:
            self.events.emit(events)
        return events

    def drain(self, max_chunks: int = 1 << 20) -> None:
        """Read to the end now (the last lines once a run's process has exited; the whole log before
        an action that needs it)."""
        for _ in range(max_chunks):
            before = self.offset
            self.poll()
            if self.offset == before:
                break


def peek_state(run_dir: Path, tail_bytes: int = 8192) -> tuple[str, int, int | None]:
    """(state, step, max_steps) of a run folder from the last few KB of its log (cheap)."""
    path = Path(run_dir) / "events.jsonl"
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - tail_bytes))
            data = f.read()
    except OSError:
        return "interrupted", 0, None
    state, step, max_steps, last_time = "interrupted", 0, None, 0.0
    for line in data.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if not isinstance(e, dict):
            continue
        step = int(e.get("step", step) or step)
        last_time = float(e.get("time", last_time) or last_time)
        if e.get("type") == "start":
            max_steps = e.get("max_steps", max_steps)
            state = "interrupted"
        elif e.get("type") == "end":
            state = e.get("status", "finished")
    if state == "interrupted" and time.time() - last_time < IDLE_S:
        state = "following"  # written to in the last two minutes: probably running elsewhere
    return state, step, max_steps


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


# ============================================================================================ a run
class TrainingRun(QObject):
    """One run folder. `updated` carries the set of parts that changed: "state", "progress", "loss",
    "val", "alignment", "sample", "checkpoint"."""

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
        self.follower = EventFollower(self.path / "events.jsonl", parent=self)
        self.follower.events.connect(self._on_events)
        self.follower.timer.timeout.connect(self._check_idle)
        self.launch = self._read_launch()
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._stderr_buf = b""
        self._stop_requested = False
        self._killed = False
        self.pid: int | None = None  # the training process's pid, host and world size, from its start event
        self.host = ""
        self.world_size = 1
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.kill)
        self.loaded = False
        self.reset_series()

    def reset_series(self) -> None:
        self.recipe = self.launch.get("recipe", "tacotron") if self.launch else "tacotron"
        self.device = ""
        self.max_steps: int | None = None
        self.step = 0
        self.start_step = 0
        self.start_time: float | None = None
        self.steps_per_s: float | None = None
        self.config: dict | None = None
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.components: dict[str, tuple[list[int], list[float]]] = {}
        self.val_steps: list[int] = []
        self.val_loss: list[float] = []
        self.last_val: dict = {}
        self.val_by_step: dict[int, float] = {}
        self.checkpoints: list[tuple[int, Path]] = []
        self.alignment_path: Path | None = None
        self.alignment_step: int | None = None
        self.alignment_text = ""
        self.sample_path: Path | None = None
        self.sample_step: int | None = None
        self.sample_text = ""
        self.nan_skips = 0
        self.end_status: str | None = None
        self.last_event_time: float | None = None

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
        kept = [(s, p) for s, p in self._checkpoints_on_disk()]
        if not kept:
            return None
        scored = [(self.val_by_step[s], -s, p) for s, p in kept if s in self.val_by_step]
        if scored:
            return min(scored)[2]
        return kept[-1][1]

    def _checkpoints_on_disk(self) -> list[tuple[int, Path]]:
        root = self.path / "checkpoints"
        try:
            found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step_")
                     and (p / "state.json").exists() and (p / "model.safetensors").exists()]
        except OSError:
            return []
        return sorted((_checkpoint_step(p), p) for p in found)

    def has_checkpoint(self) -> bool:
        return bool(self._checkpoints_on_disk())

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
        last_alignment = last_sample = None
        for e in events:
            kind = e.get("type")
            step = e.get("step")
            if isinstance(e.get("time"), (int, float)):
                self.last_event_time = float(e["time"])
            if kind == "start":
                self.max_steps = e.get("max_steps", self.max_steps)
                self.device = e.get("device", self.device)
                self.recipe = e.get("recipe", self.recipe)
                self.config = e.get("config", self.config)
                self.start_step = int(step or 0)
                self.step = self.start_step
                self.start_time = e.get("time")
                self.pid = e.get("pid") if isinstance(e.get("pid"), int) else None
                self.host = str(e.get("host", ""))
                self.world_size = int(e.get("world_size") or 1)
                self.steps_per_s = None
                self.end_status = None
                if self.process is None:
                    self.state = "following"
                parts |= {"state", "progress"}
            elif kind == "resume" and step is not None:
                self._truncate(int(step))
                parts |= {"loss", "val", "progress"}
            elif kind == "step" and step is not None:
                self.step = int(step)
                loss = e.get("loss")
                if isinstance(loss, (int, float)):
                    self.steps.append(self.step)
                    self.loss.append(float(loss))
                for name, value in (e.get("losses") or {}).items():
                    if isinstance(value, (int, float)) and "weight" not in name:
                        xs, ys = self.components.setdefault(name, ([], []))
                        xs.append(self.step)
                        ys.append(float(value))
                if self.process is None and self.state == "interrupted":
                    self.state = "following"
                    parts.add("state")
                sps = e.get("steps_per_s")
                if isinstance(sps, (int, float)) and sps > 0 and self.step > self.start_step + 1:
                    # smoothed: validation pauses make single figures jumpy
                    self.steps_per_s = sps if self.steps_per_s is None else 0.8 * self.steps_per_s + 0.2 * sps
                parts |= {"loss", "progress"}
            elif kind == "val" and step is not None:
                if isinstance(e.get("val_loss"), (int, float)):
                    self.val_steps.append(int(step))
                    self.val_loss.append(float(e["val_loss"]))
                    self.val_by_step[int(step)] = float(e["val_loss"])
                self.last_val = {k: v for k, v in e.items() if k not in ("type", "time")}
                parts.add("val")
            elif kind == "alignment" and e.get("path"):
                last_alignment = e
            elif kind == "sample" and e.get("path"):
                last_sample = e
            elif kind == "checkpoint" and step is not None:
                self.checkpoints.append((int(step), self._resolve(e.get("path", ""), "checkpoints")))
                parts.add("checkpoint")
            elif kind == "nan_skip":
                self.nan_skips += 1
            elif kind == "end":
                self.end_status = e.get("status", "finished")
                if step is not None:
                    self.step = int(step)
                if self.process is None:
                    self._kill_timer.stop()
                    self.state = self.end_status
                    self.follower.start(1000)  # quieter; a resume from a terminal still shows up
                parts |= {"state", "progress"}
        if last_alignment is not None:
            # the image's data: an .npy of the same stem beside the PNG the event names
            self.alignment_path = self._resolve(str(Path(last_alignment["path"]).with_suffix(".npy")), "alignments")
            self.alignment_step = last_alignment.get("step")
            self.alignment_text = last_alignment.get("text", "")
            parts.add("alignment")
        if last_sample is not None:
            self.sample_path = self._resolve(last_sample["path"], "samples")
            self.sample_step = last_sample.get("step")
            self.sample_text = last_sample.get("text", "")
            parts.add("sample")
        if parts:
            self.updated.emit(parts)

    def _check_idle(self) -> None:
        """A followed run whose log stopped growing without an "end" event: it was interrupted (or its
        machine is very slow; it shows as following again when a step arrives)."""
        if (self.process is None and self.state == "following" and self.end_status is None
                and self.last_event_time is not None and time.time() - self.last_event_time > IDLE_S
                and self.follower.at_end()):
            self.state = "interrupted"
            self.updated.emit({"state"})

    def _truncate(self, step: int) -> None:
        """A resume from the checkpoint at `step`: what was logged after it is superseded."""
        keep = [i for i, s in enumerate(self.steps) if s <= step]
        self.steps = [self.steps[i] for i in keep]
        self.loss = [self.loss[i] for i in keep]
        for name, (xs, ys) in list(self.components.items()):
            pairs = [(x, y) for x, y in zip(xs, ys) if x <= step]
            self.components[name] = ([x for x, _ in pairs], [y for _, y in pairs])
        pairs = [(x, y) for x, y in zip(self.val_steps, self.val_loss) if x <= step]
        self.val_steps, self.val_loss = [x for x, _ in pairs], [y for _, y in pairs]
        self.step = step

    # ----- launching --------------------------------------------------------------------------------
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
        self.path.mkdir(parents=True, exist_ok=True)
        if not resume:
            try:
                (self.path / LAUNCH_FILE).write_text(json.dumps(self.launch, indent=2) + "\n")
            except OSError as exc:
                self.message = f"cannot write to {self.path}: {exc.strerror or exc}"
                return False
        args = ["train", self.launch.get("recipe", "tacotron"), "--data", str(self.launch["data"]),
                "--out", str(self.path), "--preset", self.launch.get("preset", "default"),
                "--device", self.launch.get("device", "auto")]
        max_steps = self.launch.get("max_steps")
        if max_steps:
            args += ["--max-steps", str(int(max_steps))]
        if self.launch.get("speakers"):
            args += ["--speakers", ",".join(self.launch["speakers"])]
        if self.launch.get("config"):
            args += ["--config", str(self.launch["config"])]
        if resume:
            args.append("--resume")
        program, argv = prufrock_command(*args)
        proc = QProcess(self)
        proc.setProcessEnvironment(_environment())
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
            # Started elsewhere: rebuild it from the training config its log recorded.
            cfg = self.path / RESUME_CONFIG
            try:
                cfg.write_text(json.dumps(self.config["train"]) + "\n")
            except OSError as exc:
                self.message = f"cannot write to {self.path}: {exc.strerror or exc}"
                return False
            launch["config"] = str(cfg)
            launch.setdefault("max_steps", self.max_steps)
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
            self.message = "killed after it did not stop in time: the last complete checkpoint is kept"
            self.follower.start(1000)
            self.updated.emit({"state"})

    def _read_stderr(self) -> None:
        if self.process is None:
            return
        data = self._stderr_buf + bytes(self.process.readAllStandardError())
        *lines, self._stderr_buf = data.replace(b"\r", b"\n").split(b"\n")
        if len(self._stderr_buf) > 8192:
            lines.append(self._stderr_buf)
            self._stderr_buf = b""
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
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
            self._finish("stopped", "killed after it did not stop in time: the last complete checkpoint is kept"
                         if self._killed else "")
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


# ============================================================================================ other jobs
class CliJob(QObject):
    """`prufrock ARGS...` as a QProcess: `line` for each stderr line, `done(ok, message)` at the end
    (message = the last stderr line when it failed)."""

    line = Signal(str)
    done = Signal(bool, str)

    def __init__(self, *args: str, parent=None) -> None:
        super().__init__(parent)
        self.args = list(args)
        self.tail: deque[str] = deque(maxlen=20)
        self._buf = b""
        self.process = QProcess(self)
        self.process.setProcessEnvironment(_environment())
        self.process.setStandardOutputFile(QProcess.nullDevice())
        self.process.readyReadStandardError.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self.finished = False

    def start(self) -> None:
        program, argv = prufrock_command(*self.args)
        log.info("job: %s %s", program, " ".join(argv))
        self.process.start(program, argv)

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        if self.running():
            self.process.terminate()
            if not self.process.waitForFinished(3000):
                self.process.kill()
                self.process.waitForFinished(3000)

    def _read(self) -> None:
        data = self._buf + bytes(self.process.readAllStandardError())
        *lines, self._buf = data.replace(b"\r", b"\n").split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip()
            if text.strip():
                self.tail.append(text.strip())
                self.line.emit(text.strip())

    def _error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.finished:
            self.finished = True
            self.done.emit(False, f"could not start ({self.process.errorString()})")

    def _finished(self, code: int, status) -> None:
        self._read()
        if self._buf.strip():
            self.tail.append(self._buf.decode("utf-8", "replace").strip())
            self._buf = b""
        if self.finished:
            return
        self.finished = True
        ok = status == QProcess.ExitStatus.NormalExit and code == 0
        self.done.emit(ok, "" if ok else (last_line(self.tail) or f"exit code {code}"))
