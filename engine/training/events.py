"""The run's event log: JSON lines in RUN/events.jsonl, appended and flushed per event, so the
studio (or `tail -f`) can follow a run while it trains."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class EventLog:
    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / "events.jsonl"
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
        if self._tb is not None and type_ in ("step", "val"):
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


def read_events(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Events appended after byte `offset` (complete lines only) and the new offset."""
    path = Path(path)
    if not path.exists():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    events = []
    for line in data[: end + 1].splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events, offset + end + 1
