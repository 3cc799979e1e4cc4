"""`prufrock convert SRC -o OUT.wav`: voice conversion of a recording."""

from __future__ import annotations

from pathlib import Path

from engine.cli.common import add_common
from engine.errors import NotBuiltYet

HELP = "voice conversion of a recording (not built yet)"


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help=HELP, description="Convert a recording (any format soundfile reads) "
                       "into another voice. The conversion models arrive in a later version.")
    p.add_argument("source", type=Path, help="the recording to convert")
    p.add_argument("-o", "--output", type=Path, default=Path("converted.wav"), help="output .wav or .flac")
    add_common(p, model_help="conversion model NAME or DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.audio.io import load_audio

    load_audio(args.source)  # a bad recording is reported as such first
    raise NotBuiltYet("'prufrock convert' is not built yet in this version: voice conversion models arrive later")
