"""The `prufrock` command: one console script with subcommands (see CONTRACT.md).

Each subcommand lives in its own module `engine/cli/cmd_<name>.py` exposing
`add_parser(subparsers)` (which registers the subcommand and sets `func=run`) and `run(args) -> int`.
Exit codes: 0 success; 2 bad input (one plain line on stderr); 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import BadInput, NotBuiltYet

COMMANDS = ["studio", "say", "convert", "corpus", "train", "models", "eval", "bench"]


class _Parser(argparse.ArgumentParser):
    """Usage errors are one plain line on stderr, exit 2 (CONTRACT.md)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="prufrock",
        description="Prufrock: a studio for neural speech synthesis and voice conversion.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"engine.cli.cmd_{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["studio", *argv])
    try:
        code = args.func(args)
    except BadInput as exc:
        print(f"prufrock: {exc}", file=sys.stderr)
        return 2
    except NotBuiltYet as exc:
        print(f"prufrock: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("prufrock: interrupted", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
