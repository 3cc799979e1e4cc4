"""`prufrock train`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "train (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock train' is not built yet in this version")
