"""`prufrock eval tts`: stop, alignment and focus per sentence; --asr adds word error rates."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import SEED, add_device, int_in, print_report


def add_parser(esub) -> None:
    t = esub.add_parser("tts", help="stop/alignment/focus per sentence; --asr adds word error rates",
                        description="Synthesize each sentence and report whether the decoder stopped, whether "
                        "the alignment completed (docs/json.md), the focus rate, and with --asr the WER by "
                        "pocketsphinx next to the teacher voice's own renderings.")
    t.add_argument("--model", default="default", help="voice model NAME or DIR")
    t.add_argument("--text", type=Path, default=None,
                   help="sentences, ID<TAB>TEXT or one per line (default: the 100 held-out ARCTIC prompts)")
    t.add_argument("--limit", type=int_in(1, 10**6, "a sentence count"), default=None, help="only the first N sentences")
    t.add_argument("--asr", action="store_true", help="word error rate by pocketsphinx (optional extra)")
    t.add_argument("--teacher", default=None,
                   help="system voice whose renderings give the reference WER (default: the model card's "
                   "teacher, 'slt' for the default voice); 'none' to skip")
    t.add_argument("--vocoder", default="griffinlim", help="vocoder for --asr (and --polish)")
    t.add_argument("--polish", nargs="?", const="auto", default=None, metavar="POLISHER",
                   help="compare with and without the GAN polisher (the voice's own, or NAME/DIR): GV gap, "
                   "MCD-DTW, DNSMOS and WER side by side")
    t.add_argument("--seed", type=SEED, default=0)
    add_device(t)
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=run_tts)


def run_tts(args) -> int:
    import torch

    from engine.data.prompts import held_out_prompts, read_prompts
    from engine.evaluation.tts_eval import evaluate_tts
    from engine.inference.synthesizer import Synthesizer
    from engine.inference.vocoder import load_vocoder

    torch.manual_seed(args.seed)
    prompts = read_prompts(args.text, strict=False) if args.text else held_out_prompts()
    sentences = [(p.id, p.text) for p in prompts]
    if args.limit:
        sentences = sentences[: args.limit]
    if args.polish:
        return run_polish(args, sentences)
    synth = Synthesizer(args.model, device=args.device, seed=args.seed)
    teacher = args.teacher
    if teacher is None:
        teacher = synth.bundle.config.get("teacher") or None
    if teacher == "none":
        teacher = None
    vocoder = load_vocoder(args.vocoder, synth.audio, synth.device) if args.asr else None

    def progress(done, total):
        if not args.json or sys.stderr.isatty():
            print(f"\reval: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = evaluate_tts(synth, sentences, asr=args.asr, teacher=teacher if args.asr else None,
                          vocoder=vocoder, progress=progress)
    print_report(report, args.json, width=24)
    return 0


def run_polish(args, sentences) -> int:
    from engine.models.polisher.evaluate import evaluate_polisher

    teacher = None if args.teacher == "none" else args.teacher
    report = evaluate_polisher(None if args.polish == "auto" else args.polish, partner=args.model,
                               sentences=sentences, limit=args.limit or 10, vocoder=args.vocoder, asr=args.asr,
                               teacher=teacher, device=args.device, seed=args.seed)
    print_report(report, args.json)
    return 0
