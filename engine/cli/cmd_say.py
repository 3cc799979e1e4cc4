"""`prufrock say`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "say (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("say", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock say' is not built yet in this version")
