"""CPU priority of the jobs the studio starts (trainings, corpus builds).

On a machine with few cores a training competes with the window and its engine process: the studio
puts `PRUFROCK_NICENESS` (10) in the environment of the trainings and corpus builds it starts, so they get
every cycle the window and the engine do not use. The engine's command line calls `apply_from_env()`
first thing. The niceness is absolute (a process already that nice, or a grandchild that inherits the
variable, is left as it is). Where the platform has no `os.nice` (Windows) nothing changes.

The studio's engine process runs at the window's own priority. It ran at niceness 10 for a while
(2026-12-03), when it used torch's two threads on 2 cores and preempted the GUI thread mid-repaint (the
longest pause 49-63 ms at equal priority, 22-35 ms at 10). Since it runs on one thread
(engine/threads.py) it leaves the window a core, and niceness no longer buys anything on an idle
machine: WaveNet studio stall 8.1 / 9.3 ms at niceness 10 against 9.2 / 12.2 ms at 0 (Griffin-Lim 10.9 /
11.8 against 11.6 / 15.4; goal 30). With both cores busy with other programs at niceness 0, niceness 10
starved it: the first WaveNet audio of a 10-word sentence 2.8-3.6 s and the 3.6 s take in 15-17 s
(playback stutters), against 0.32-0.33 s and 1.9 s at niceness 0 (stall 18-19 ms). (Scratch scripts over
`studio.bench.measure_gui_stall`; the engine process still applies `PRUFROCK_NICENESS` when the studio
is given one.)"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("prufrock")

NICENESS_ENV = "PRUFROCK_NICENESS"
BACKGROUND_NICENESS = 10
"""What the studio asks for the jobs it starts (0 = the window's own, 19 = the lowest)."""


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
