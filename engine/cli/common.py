"""Options shared by several subcommands (docs/commands.md "Common options")."""

from __future__ import annotations

import argparse
import json
import sys


def add_common(parser: argparse.ArgumentParser, *, model_help: str = "model NAME or DIR") -> None:
    parser.add_argument("--model", "--voice", dest="model", default="default", help=model_help)
    parser.add_argument("--vocoder", default="griffinlim", help="griffinlim, wavenet or a vocoder model NAME/DIR")
    parser.add_argument("--polish", action="store_true", help="GAN polisher on the mel before vocoding")
    add_device(parser)
    parser.add_argument("--seed", type=SEED, default=0, help="random seed (synthesis is reproducible)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = CUDA when present"
    )


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def print_report(report: dict, as_json: bool, width: int = 28) -> None:
    """An evaluation report: the whole object as JSON, or its "overall" figures a line each."""
    if as_json:
        print_json(report)
        return
    for k, v in report["overall"].items():
        print(f"{k:>{width}}: {v}")


def check_output_path(path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    from pathlib import Path

    from engine.errors import BadInput

    path = Path(path)
    if path.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise BadInput(f"output must end in .wav or .flac, got {path.name}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"output folder does not exist: {parent} (create it first)")


def int_in(lo: int, hi: int, what: str = "a whole number"):
    """argparse type: an int within [lo, hi]; anything else is one plain usage line (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} from {lo} to {hi} expected, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} from {lo} to {hi} expected, got {value}")
        return value

    parse.__name__ = "number"
    return parse


SEED = int_in(0, 2**32 - 1, "a seed")
THREADS = int_in(0, 1024, "a thread count")
CANDIDATES = int_in(1, 64, "a count of decodings")


def finite_floats(text: str, lo: float = -10.0, hi: float = 10.0) -> list[float]:
    """Comma-separated finite numbers within [lo, hi] (style weights); BadInput otherwise."""
    import math

    from engine.errors import BadInput

    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise BadInput(f"numbers separated by commas expected, got {part!r} in {text!r}") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise BadInput(f"each value must be a finite number from {lo:g} to {hi:g}, got {part!r}")
        values.append(value)
    if not values:
        raise BadInput(f"no numbers in {text!r}")
    return values
