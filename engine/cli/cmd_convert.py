"""`prufrock convert`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "convert (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock convert' is not built yet in this version")
