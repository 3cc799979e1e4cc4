"""How the studio runs `prufrock` commands as separate processes: the command line, the environment,
and where the runs it starts live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QProcessEnvironment

from engine import priority
from engine.paths import PROJECT_ROOT, user_data_dir


def runs_dir() -> Path:
    """The user data folder's runs/: where the studio puts the runs it starts."""
    return user_data_dir() / "runs"


def prufrock_command(*args: str) -> tuple[str, list[str]]:
    """(program, arguments) that run `prufrock ARGS...` with this Python (or this frozen build)."""
    if getattr(sys, "frozen", False):  # a PyInstaller build: the executable is `prufrock` itself
        return sys.executable, list(args)
    return sys.executable, ["-m", "engine", *args]


def environment() -> QProcessEnvironment:
    env = QProcessEnvironment.systemEnvironment()
    paths = [str(PROJECT_ROOT)] + [p for p in [env.value("PYTHONPATH", "")] if p]
    env.insert("PYTHONPATH", os.pathsep.join(paths))
    env.insert("PYTHONUNBUFFERED", "1")
    if not env.contains(priority.NICENESS_ENV):  # below the window's priority (engine/priority.py)
        env.insert(priority.NICENESS_ENV, str(priority.BACKGROUND_NICENESS))
    return env


def last_line(lines) -> str:
    """The last non-empty line (a traceback's last line is its message)."""
    for line in reversed(list(lines)):
        if line.strip():
            return line.strip()
    return ""


def split_lines(buffer: bytes, data: bytes) -> tuple[list[str], bytes]:
    """Complete lines of `buffer + data` (a carriage return ends a line too) and the rest."""
    *lines, rest = (buffer + data).replace(b"\r", b"\n").split(b"\n")
    return [raw.decode("utf-8", "replace").rstrip() for raw in lines], rest
