"""The run's event log: JSON lines in RUN/events.jsonl, appended and flushed per event, so the
studio (or `tail -f`) can follow a run while it trains.

This module is the one place that knows the log: the event types, the writer (`EventLog`, used by the
trainer and the recipes), the reader (`read_events`, a byte offset at a time) and the fold
(`RunState` / `fold_events`: a log -> loss series, validation metrics, the last alignment and
sample, status, progress, speed, wall time per segment, where it runs, its recipe and config).
The export (`engine.training.export.run_summary`) and the studio's training tab both read runs
through the fold.

    state = fold_events(read_events(run / "events.jsonl")[0])
    state.series["total"]      # ([steps], [losses])
    state.status               # "running" | "finished" | "stopped" | "" (no start event yet)

    state = RunState()         # following a growing log
    parts = state.apply_all(new_events)   # {"state", "progress", "loss", "val", ...} that changed
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# ----- event types (the "type" field) -------------------------------------------------------------
START = "start"
"""A training segment begins: step, max_steps, recipe, device, world_size, pid, host, data, preset,
networks, frozen, config."""
RESUME = "resume"
"""Continued from a checkpoint: step, checkpoint. What was logged after that step is superseded."""
INIT = "init"
"""Weights initialised from a checkpoint or bundle: checkpoint."""
STEP = "step"
"""A logged training step: step, epoch, loss, losses {name: value}, grad_norm, lr, steps_per_s."""
VAL = "val"
"""Validation: step, val_loss and the recipe's metrics."""
ALIGNMENT = "alignment"
"""An attention image: step, path (PNG; an .npy of the same stem beside it), text."""
SAMPLE = "sample"
"""A rendered sample: step, path (audio), text."""
CHECKPOINT = "checkpoint"
"""A complete checkpoint: step, path."""
NAN_SKIP = "nan_skip"
"""A step skipped because a loss or gradient was not finite: step, networks, loss."""
END = "end"
"""The segment ends: step, status ("finished" or "stopped")."""
IMAGE = "image"
"""A validation image: step, path (PNG, with a .npy of the same name beside it), text, caption."""

TYPES = (START, RESUME, INIT, STEP, VAL, ALIGNMENT, SAMPLE, CHECKPOINT, NAN_SKIP, END, IMAGE)

LOG_NAME = "events.jsonl"


def log_path(run_dir: Path) -> Path:
    return Path(run_dir) / LOG_NAME


# ----- writing ------------------------------------------------------------------------------------
class EventLog:
    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.path = log_path(run_dir)
        self.enabled = enabled
        self._tb = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", buffering=1)
            self._tb = _tensorboard_writer(Path(run_dir) / "tensorboard")

    def write(self, type_: str, **fields) -> None:
        if not self.enabled:
            return
        event = {"type": type_, "time": round(time.time(), 3), **fields}
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()
        if self._tb is not None and type_ in (STEP, VAL):
            step = fields.get("step", 0)
            for k, v in fields.items():
                if isinstance(v, (int, float)) and k != "step":
                    self._tb.add_scalar(f"{type_}/{k}", v, step)
            for k, v in (fields.get("losses") or {}).items():
                self._tb.add_scalar(f"{type_}/{k}", v, step)

    def image(self, tag: str, step: int, array) -> None:
        if self._tb is not None:
            self._tb.add_image(tag, array, step, dataformats="HW")

    def close(self) -> None:
        if self.enabled:
            self._file.close()
            if self._tb is not None:
                self._tb.close()


def _tensorboard_writer(path: Path):
    """A TensorBoard SummaryWriter when tensorboard is installed (optional extra), else None."""
    if os.environ.get("PRUFROCK_TENSORBOARD", "1") == "0":
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:
        return None
    return SummaryWriter(str(path))


# ----- reading ------------------------------------------------------------------------------------
def parse_lines(data: bytes) -> list[dict]:
    """The events of complete JSON lines (objects with a "type"); broken lines are skipped."""
    events = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and "type" in e:
            events.append(e)
    return events


def read_events(path: Path, offset: int = 0, max_bytes: int | None = None) -> tuple[list[dict], int]:
    """Events appended after byte `offset` (complete lines only, reading at most `max_bytes`) and the
    new offset (unchanged when no complete line was there)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read() if max_bytes is None else f.read(max_bytes)
    except OSError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    return parse_lines(data[: end + 1]), offset + end + 1


def read_tail(path: Path, tail_bytes: int = 8192) -> list[dict]:
    """The events of the last `tail_bytes` of a log (the first, probably cut, line is dropped)."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - tail_bytes))
            data = f.read()
    except OSError:
        return []
    if size > tail_bytes:
        data = data[data.find(b"\n") + 1:]
    return parse_lines(data)


# ----- folding ------------------------------------------------------------------------------------
@dataclass
class Segment:
    """One process's stretch of a run: from its start event to its last event."""

    start_time: float
    start_step: int
    end_time: float
    end_step: int
    device: str = ""
    status: str = ""
    """"finished" or "stopped" from its end event; "" when the log ends without one."""

    @property
    def wall_time_s(self) -> float:
        return max(0.0, self.end_time - self.start_time)


@dataclass
class Artifact:
    """The latest alignment image or sample: where the log says it is, for which step and text."""

    step: int | None
    path: str
    text: str = ""


@dataclass
class RunState:
    """Everything a run's log says, folded event by event (see `apply`)."""

    status: str = ""
    """"" (no start event seen), "running" (started or resumed, no end event yet), or the last end
    event's status ("finished", "stopped")."""
    step: int = 0
    start_step: int = 0
    """The step the current segment started at."""
    max_steps: int | None = None
    steps_per_s: float | None = None
    """Training speed, smoothed (validation pauses make single figures jumpy)."""
    recipe: str = ""
    config: dict | None = None
    device: str = ""
    data: str = ""
    preset: str = ""
    pid: int | None = None
    host: str = ""
    world_size: int = 1
    series: dict = field(default_factory=dict)
    """{loss name: ([steps], [values])}: "total" is the step's loss, then each component of `losses`
    (loss weights are left out)."""
    val_steps: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_by_step: dict = field(default_factory=dict)
    last_val: dict = field(default_factory=dict)
    """The latest val event's fields (step, val_loss, metrics)."""
    alignment: Artifact | None = None
    sample: Artifact | None = None
    checkpoints: list = field(default_factory=list)
    """[(step, path as logged)] of checkpoint events."""
    nan_skips: int = 0
    segments: list = field(default_factory=list)
    """[Segment] one per start event."""
    last_event_time: float | None = None
    events: int = 0

    @property
    def wall_time_s(self) -> float:
        return sum(s.wall_time_s for s in self.segments)

    @property
    def ended(self) -> bool:
        return self.status in ("finished", "stopped")

    def eta_s(self) -> float | None:
        if not self.max_steps or not self.steps_per_s or self.status != "running":
            return None
        return max(0, self.max_steps - self.step) / self.steps_per_s

    # ----- folding ----------------------------------------------------------------------------------
    def apply_all(self, events) -> set:
        parts: set = set()
        for e in events:
            parts |= self.apply(e)
        return parts

    def apply(self, e: dict) -> set:
        """Fold one event in; returns the parts it changed: "state", "progress", "loss", "val",
        "alignment", "sample", "checkpoint"."""
        kind, step = e.get("type"), e.get("step")
        t = e.get("time")
        self.events += 1
        if isinstance(t, (int, float)):
            self.last_event_time = float(t)
            if self.segments and self.segments[-1].status == "" and kind not in (START, RESUME, INIT):
                self.segments[-1].end_time = float(t)
                if isinstance(step, int):
                    self.segments[-1].end_step = step
        if kind == START:
            return self._start(e)
        if kind == RESUME and step is not None:
            self._truncate(int(step))
            self.status = "running"
            return {"state", "loss", "val", "progress"}
        if kind == STEP and step is not None:
            return self._step(e)
        if kind == VAL and step is not None:
            if isinstance(e.get("val_loss"), (int, float)):
                self.val_steps.append(int(step))
                self.val_loss.append(float(e["val_loss"]))
                self.val_by_step[int(step)] = float(e["val_loss"])
            self.last_val = {k: v for k, v in e.items() if k not in ("type", "time")}
            return {"val"}
        if kind == ALIGNMENT and e.get("path"):
            self.alignment = Artifact(step, str(e["path"]), str(e.get("text", "")))
            return {"alignment"}
        if kind == SAMPLE and e.get("path"):
            self.sample = Artifact(step, str(e["path"]), str(e.get("text", "")))
            return {"sample"}
        if kind == CHECKPOINT and step is not None:
            self.checkpoints.append((int(step), str(e.get("path", ""))))
            return {"checkpoint"}
        if kind == NAN_SKIP:
            self.nan_skips += 1
            return {"progress"}
        if kind == END:
            self.status = str(e.get("status", "finished"))
            if step is not None:
                self.step = int(step)
            if self.segments:
                self.segments[-1].status = self.status
            return {"state", "progress"}
        return set()

    def _start(self, e: dict) -> set:
        t = float(e.get("time") or 0.0)
        self.step = self.start_step = int(e.get("step") or 0)
        self.max_steps = e.get("max_steps", self.max_steps)
        self.recipe = str(e.get("recipe") or self.recipe)
        self.config = e.get("config", self.config)
        self.device = str(e.get("device") or self.device)
        self.data = str(e.get("data") or self.data)
        self.preset = str(e.get("preset") or self.preset)
        self.pid = e.get("pid") if isinstance(e.get("pid"), int) else None
        self.host = str(e.get("host", ""))
        self.world_size = int(e.get("world_size") or 1)
        self.steps_per_s = None
        self.status = "running"
        self.segments.append(Segment(t, self.step, t, self.step, self.device))
        return {"state", "progress"}

    def _step(self, e: dict) -> set:
        self.step = int(e["step"])
        loss = e.get("loss")
        if isinstance(loss, (int, float)):
            xs, ys = self.series.setdefault("total", ([], []))
            xs.append(self.step)
            ys.append(float(loss))
        for name, value in (e.get("losses") or {}).items():
            if isinstance(value, (int, float)) and "weight" not in name:
                xs, ys = self.series.setdefault(name, ([], []))
                xs.append(self.step)
                ys.append(float(value))
        sps = e.get("steps_per_s")
        if isinstance(sps, (int, float)) and sps > 0 and self.step > self.start_step + 1:
            self.steps_per_s = sps if self.steps_per_s is None else 0.8 * self.steps_per_s + 0.2 * sps
        return {"loss", "progress"}

    def _truncate(self, step: int) -> None:
        """A resume from the checkpoint at `step`: what was logged after it is superseded."""
        for name, (xs, ys) in list(self.series.items()):
            pairs = [(x, y) for x, y in zip(xs, ys) if x <= step]
            self.series[name] = ([x for x, _ in pairs], [y for _, y in pairs])
        pairs = [(x, y) for x, y in zip(self.val_steps, self.val_loss) if x <= step]
        self.val_steps, self.val_loss = [x for x, _ in pairs], [y for _, y in pairs]
        self.step = step


def fold_events(events, state: RunState | None = None) -> RunState:
    """Fold events (dicts, in log order) into a RunState (a new one, or `state` continued)."""
    state = state if state is not None else RunState()
    state.apply_all(events)
    return state


def read_run(run_dir: Path) -> RunState:
    """The fold of a run folder's whole log (an empty state when it has none)."""
    return fold_events(read_events(log_path(run_dir))[0])
