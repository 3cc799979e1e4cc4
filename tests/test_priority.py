"""engine/priority.py: the processes the studio starts run below the window's CPU priority (on 2 cores
the engine at equal priority preempted the GUI thread mid-repaint: its longest pause doubled)."""

import os
import subprocess
import sys

import pytest

from engine import priority
from engine.paths import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "nice"), reason="no process niceness on this platform")


def _niceness_after(code: str, value: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != priority.NICENESS_ENV}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if value is not None:
        env[priority.NICENESS_ENV] = value
    out = subprocess.run([sys.executable, "-c", code + "\nimport os; print('NICE', os.nice(0))"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split("NICE")[-1])


def test_the_command_line_lowers_its_priority_when_the_studio_asks():
    base = os.nice(0)
    run_cli = "from engine.cli import main\ntry:\n    main(['no-such-command'])\nexcept SystemExit:\n    pass"
    assert _niceness_after(run_cli, None) == base  # started by hand: as it was
    assert _niceness_after(run_cli, "7") == max(base, 7)
    assert _niceness_after(run_cli, "not a number") == base  # ignored, not a crash
    # Absolute, not added: a grandchild that inherits the variable stays at the same niceness.
    twice = "from engine.priority import apply_from_env\napply_from_env()\napply_from_env()"
    assert _niceness_after(twice, "7") == max(base, 7)


def test_the_studio_starts_its_jobs_below_its_own_priority():
    pytest.importorskip("PySide6")
    from studio.jobs.process import environment

    assert environment().value(priority.NICENESS_ENV) == str(priority.BACKGROUND_NICENESS)
