"""`prufrock studio`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "studio (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("studio", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock studio' is not built yet in this version")
