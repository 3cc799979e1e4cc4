"""`prufrock bench`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "bench (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock bench' is not built yet in this version")
