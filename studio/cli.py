"""`prufrock studio` (and bare `prufrock`): open the desktop studio.

The engine's command line does not know the studio: this module is declared in pyproject.toml under the
entry-point group `prufrock.commands`, and `prufrock` discovers it there (see engine/cli/__init__.py)."""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from pathlib import Path

from engine.cli.common import add_device
from engine.errors import BadInput

HELP = "open the desktop studio (the default command)"


def add_parser(sub) -> None:
    p = sub.add_parser("studio", help=HELP, description=HELP)
    p.add_argument("--model", "--voice", dest="model", default=None,
                   help="voice NAME or DIR (default: the last one used, else the bundled default)")
    p.add_argument("--vocoder", default=None, help="griffinlim or a vocoder model NAME/DIR")
    add_device(p)
    # The studio starts its engine process through this when frozen (PyInstaller), where there is no
    # `python -m studio.engine_process`.
    p.add_argument("--engine-process", metavar="ADDRESS", default=None, help=argparse.SUPPRESS)
    # packaging/smoke.sh: open offscreen, speak one sentence, export the take to this file, exit.
    p.add_argument("--smoke", metavar="OUT.wav", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


XCB_PACKAGES = ["libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-render-util0",
                "libxcb-shape0", "libxcb-xinerama0", "libxcb-xkb1", "libxkbcommon-x11-0"]


def _xcb_plugin_problem() -> str | None:
    """The first shared library Qt's X11 plugin cannot load, or None. (Qt itself aborts with a page of
    text, and names libxcb-cursor0 whatever is missing.)"""
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists():
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        text = str(exc)
        for word in text.replace(":", " ").split():
            if ".so" in word and "libqxcb" not in word:
                return word
        return text.splitlines()[0] if text else "a library of the X11 plugin"
    return None


def display_problem() -> str | None:
    """Why no window can open here, or None. Checked before Qt, which would abort without a message."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform != "xcb":
        return None  # offscreen, wayland, vnc...: the user chose; Qt reports its own problems
    if sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return ("no display found (DISPLAY is not set): run the studio in a desktop session, "
                "or use 'prufrock say' without a display")
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if host in ("", "unix") and number.isdigit() and not Path(f"/tmp/.X11-unix/X{number}").exists():
        return (f"cannot reach the display {display} (no X server is listening): start the studio in a "
                "desktop session, or use 'prufrock say' without a display")
    if sys.platform.startswith("linux"):
        missing = _xcb_plugin_problem()
        if missing:
            return (f"Qt cannot open a window on X11: the system library {missing} is missing; install Qt's X11 "
                    "libraries (Debian/Ubuntu: apt-get install " + " ".join(XCB_PACKAGES) + ")")
    return None


def run(args) -> int:
    if args.engine_process:
        from studio.engine_process import main as engine_main

        return engine_main([args.engine_process])
    if args.smoke:
        from studio.smoke import run_smoke

        return run_smoke(args.smoke)
    problem = display_problem()
    if problem:
        raise BadInput(problem)
    try:
        from studio.app import main
    except ImportError as exc:
        raise BadInput(f"the studio cannot start: {exc} (reinstall with 'pip install -e .')") from None
    return main(model=args.model, vocoder=args.vocoder, device=args.device)
