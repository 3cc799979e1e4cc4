"""CPU priority of the processes the studio starts (its engine process, trainings, corpus builds).

On a machine with few cores the model's process and the window compete for the CPU: with both at the
same priority the scheduler preempts the window's GUI thread in the middle of a repaint, and the window
stalls for twice as long as its own work takes (measured on 2 cores with the WaveNet vocoder: the
longest pause of the GUI thread 49-63 ms at equal priority, 22-35 ms with the engine at niceness 10).
At a lower priority the model still gets every cycle the window does not use, so it is barely slower.

The studio puts `PRUFROCK_NICENESS` in the environment of what it starts; the engine's command line and
the studio's engine process call `apply_from_env()` first thing. The niceness is absolute (a process
already that nice, or a grandchild that inherits the variable, is left as it is). Where the platform
has no `os.nice` (Windows) nothing changes."""

from __future__ import annotations

import logging
import os

log = logging.getLogger("prufrock")

NICENESS_ENV = "PRUFROCK_NICENESS"
BACKGROUND_NICENESS = 10
"""What the studio asks for its engine process and the jobs it starts (0 = the window's own, 19 = the lowest)."""


def niceness() -> int | None:
    """This process's niceness, or None where the platform has none."""
    try:
        return os.nice(0)
    except (AttributeError, OSError):
        return None


def lower_priority(target: int) -> int | None:
    """Make this process at least `target` nice (never less nice than it is). -> the niceness now."""
    current = niceness()
    if current is None:
        return None
    target = max(0, min(19, int(target)))
    if current < target:
        try:
            return os.nice(target - current)
        except OSError as exc:
            log.warning("cannot lower the CPU priority to niceness %d: %s", target, exc)
    return current


def apply_from_env(environ=None) -> int | None:
    """Lower the priority to $PRUFROCK_NICENESS when it is set (a bad value is ignored). -> the niceness."""
    value = (os.environ if environ is None else environ).get(NICENESS_ENV, "").strip()
    if not value:
        return niceness()
    try:
        target = int(value)
    except ValueError:
        log.warning("ignoring %s=%r (not a whole number)", NICENESS_ENV, value)
        return niceness()
    return lower_priority(target)
