"""`prufrock models`."""

from __future__ import annotations

from engine.errors import NotBuiltYet

HELP = "models (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("models", help=HELP, description=HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotBuiltYet("'prufrock models' is not built yet in this version")
