"""The `prufrock` command: one console script with subcommands (see docs/commands.md).

Each built-in subcommand lives in its own module `engine/cli/cmd_<name>.py` exposing
`add_parser(subparsers)` (which registers the subcommand and sets `func=run`) and `run(args) -> int`.
Other packages add subcommands through the entry-point group `prufrock.commands` (an entry names a
module with the same `add_parser`): that is how the studio contributes `prufrock studio` without the
engine ever importing it. Exit codes: 0 success; 2 bad input (one plain line on stderr); 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine import priority, threads
from engine.errors import BadInput, NotBuiltYet

COMMANDS = ["say", "convert", "vocode", "corpus", "train", "models", "eval", "bench"]
PLUGIN_GROUP = "prufrock.commands"
DEFAULT_COMMAND = "studio"
"""What a bare `prufrock` runs, when a plugin provides it."""


def plugin_modules(group: str = PLUGIN_GROUP) -> dict:
    """{name: loaded entry point object} of an entry-point group; broken plugins are skipped."""
    from importlib.metadata import entry_points

    out = {}
    for ep in entry_points(group=group):
        try:
            out[ep.name] = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the command line
            print(f"prufrock: plugin {ep.name!r} could not be loaded ({exc})", file=sys.stderr)
    return out


class _Parser(argparse.ArgumentParser):
    """Usage errors are one plain line on stderr, exit 2 (docs/commands.md)."""

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
    for name, module in plugin_modules().items():
        if name not in COMMANDS:
            module.add_parser(sub)
    return parser


def sub_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    priority.apply_from_env()  # a job the studio started runs below the window's priority
    if threads.threads_from_env():  # torch's threads when asked (a command's --threads still wins)
        threads.apply_from_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if DEFAULT_COMMAND not in sub_names(parser):
            print("prufrock: the studio is not installed here; see 'prufrock --help' for the commands",
                  file=sys.stderr)
            return 2
        args = parser.parse_args([DEFAULT_COMMAND, *argv])
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
