"""`prufrock corpus build`: render a speech corpus from the system's voices."""

from __future__ import annotations

from pathlib import Path

from engine.cli.common import SEED, int_in, print_json

HELP = "build a speech corpus from the system's voices (festival, flite, espeak-ng)"


def add_parser(sub) -> None:
    p = sub.add_parser("corpus", help=HELP, description=HELP)
    csub = p.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    b = csub.add_parser(
        "build",
        help="render a text list with system voices into an LJSpeech-style multi-speaker corpus",
        description="Render a text list (default: the 1132 CMU ARCTIC prompts) with the system's voices "
        "into DIR/metadata.csv + DIR/wavs/SPEAKER/ID.wav, parallel across voices. Resumable.",
    )
    b.add_argument("--out", required=True, type=Path, help="output folder (resumes if it exists)")
    b.add_argument("--text", type=Path, default=None, help="TSV of ID<TAB>TEXT (default: ARCTIC prompts)")
    b.add_argument("--voices", default=None,
                   help="comma-separated voice specs: slt, kal, ked (festival), flite:NAME (awb, rms, slt, kal16), "
                   "espeak or espeak:VARIANT (e.g. espeak:en-gb, espeak:en-us+f3); 'all' = every English system "
                   "voice (default: every installed one of slt, kal, espeak)")
    b.add_argument("--limit", type=int_in(1, 10**7, "a prompt count"), default=None, help="only the first N prompts")
    b.add_argument("--jobs", type=int_in(1, 256, "a job count"), default=2, help="parallel renderings")
    b.add_argument("--prosody", action="store_true",
                   help="vary pitch (+-3 semitones) and rate (0.8-1.25x) per utterance; recorded in the metadata")
    b.add_argument("--augment", action="store_true",
                   help="vary recording conditions per utterance (noise at 15-30 dB SNR, light reverb, band "
                   "limiting, level); recorded in the metadata")
    b.add_argument("--clean", default="",
                   help="comma-separated speakers rendered clean: no prosody or augmentation (e.g. slt, a "
                   "conversion target)")
    b.add_argument("--sample-rate", type=int_in(8000, 192000, "a sample rate in Hz"), default=16000, help="sample rate of the written files")
    b.add_argument("--seed", type=SEED, default=0, help="seed of the prosody variation")
    b.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    b.set_defaults(func=run)


def run(args) -> int:
    from engine.data.corpus_builder import build_corpus

    from engine.data.voices import ALL_VOICES

    voices = [v for v in args.voices.split(",") if v.strip()] if args.voices else None
    if voices == ["all"]:
        voices = list(ALL_VOICES)
    clean = [s.strip() for s in args.clean.split(",") if s.strip()]
    summary = build_corpus(
        args.out, text_path=args.text, voices=voices, limit=args.limit, jobs=args.jobs,
        prosody=args.prosody, sample_rate=args.sample_rate, seed=args.seed, augment=args.augment, clean=clean,
    )
    if args.json:
        print_json(summary)
    else:
        print(f"corpus: {summary['out']}: {summary['prompts']} prompts x {len(summary['speakers'])} voices "
              f"({', '.join(summary['speakers'])}); rendered {summary['rendered']}, skipped "
              f"{summary['skipped']}, failed {summary['failed']} in {summary['seconds']} s")
    return 0 if summary["failed"] == 0 else 1
