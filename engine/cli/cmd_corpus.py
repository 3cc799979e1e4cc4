"""`prufrock corpus`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "corpus (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("corpus", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock corpus' is not built yet in this version")
