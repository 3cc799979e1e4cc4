"""`prufrock eval`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "eval (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock eval' is not built yet in this version")
