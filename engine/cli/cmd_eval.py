"""`prufrock eval tts|vc|vocoder`: quality metrics on held-out data.

Each WHAT lives in its own module `engine/cli/eval_<what>.py` with `add_parser(esub)`; one that is not
written yet says so."""

from __future__ import annotations

import importlib

from engine.errors import NotBuiltYet

HELP = "quality metrics on held-out data (tts, vc, vocoder)"
WHATS = {"tts": "stop/alignment/focus per sentence; --asr adds word error rates",
         "vc": "voice conversion: MCD-DTW, alignment, WER and speaker similarity, seen and unseen voices",
         "vocoder": "vocoders side by side: DNSMOS, WER and MCD-DTW on the same held-out mels"}


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help=HELP, description=HELP)
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    for what, text in WHATS.items():
        try:
            module = importlib.import_module(f"engine.cli.eval_{what}")
        except ModuleNotFoundError as exc:
            if exc.name != f"engine.cli.eval_{what}":
                raise
            x = esub.add_parser(what, help=f"{text} (not built yet)")
            x.set_defaults(func=run_not_built, what=what)
            continue
        module.add_parser(esub)


def run_not_built(args) -> int:
    raise NotBuiltYet(f"'prufrock eval {args.what}' is not built yet in this version")
