"""`prufrock studio` (and bare `prufrock`): open the desktop studio."""

from __future__ import annotations

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
    p.set_defaults(func=run)


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
    return None


def run(args) -> int:
    problem = display_problem()
    if problem:
        raise BadInput(problem)
    try:
        from studio.app import main
    except ImportError as exc:
        raise BadInput(f"the studio cannot start: {exc} (reinstall with 'pip install -e .')") from None
    return main(model=args.model, vocoder=args.vocoder, device=args.device)
