"""`prufrock eval vc`: a converter on held-out prompts, seen and unseen source voices apart."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import CANDIDATES, SEED, add_device, int_in, print_json, print_report


def add_parser(esub) -> None:
    v = esub.add_parser("vc", help="voice conversion: MCD-DTW, alignment, WER and speaker similarity, seen and "
                        "unseen voices",
                        description="Convert the held-out prompts (the last 100 ARCTIC ids) of each source voice "
                        "of a parallel corpus and report, for the voices the converter was trained on and for "
                        "those it never heard: MCD-DTW(converted, target) vs MCD-DTW(source, target), complete "
                        "alignments, with --asr the WER next to the target's own renderings, with --speaker-sim "
                        "how often the result is closer to the target voice than to its source (Resemblyzer). "
                        "--recording converts one real recording instead.")
    v.add_argument("--model", default="default-vc", help="converter model NAME or DIR")
    v.add_argument("--data", type=Path, default=None,
                   help="parallel corpus (prufrock corpus build layout) holding the target and source voices "
                   "(needed but with --recording, where the target's system voice renders the reference for "
                   "--speaker-sim when it is left out)")
    v.add_argument("--seen", default=None, help="comma-separated seen voices (default: the model's sources)")
    v.add_argument("--unseen", default=None, help="comma-separated unseen voices (default: the model's unseen list)")
    v.add_argument("--limit", type=int_in(1, 10**6, "an utterance count"), default=None,
                   help="only the first N held-out prompts per voice")
    v.add_argument("--asr", action="store_true", help="word error rates by pocketsphinx (optional extra)")
    v.add_argument("--speaker-sim", action="store_true", help="speaker similarity by resemblyzer (optional extra)")
    v.add_argument("--recording", type=Path, default=None,
                   help="convert this one recording instead (e.g. pysptk's CMU ARCTIC awb clip)")
    v.add_argument("--text", default=None, help="what --recording says (for its WER)")
    v.add_argument("--vocoder", default="griffinlim", help="vocoder of the converted speech")
    v.add_argument("--polish", nargs="?", const="auto", default=None, metavar="POLISHER",
                   help="compare with and without the GAN polisher (the converter's own, or NAME/DIR): GV gap, "
                   "MCD-DTW, DNSMOS and (with --asr) WER, against the target voice's own recordings "
                   "(default --limit 10 per voice)")
    v.add_argument("--seed", type=SEED, default=0)
    v.add_argument("--candidates", type=CANDIDATES, default=None, metavar="N",
                   help="decodings drawn per segment, the best kept, as `convert` does (default 2)")
    add_device(v)
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=run_vc)


def _names(spec):
    return [s for s in spec.split(",") if s] if spec is not None else None


def _check_corpus(path: Path | None) -> None:
    from engine.errors import BadInput

    if path is None:
        raise BadInput("--data CORPUS is needed: a parallel corpus with the target and source voices "
                       "(build one with 'prufrock corpus build'), or --recording FILE for one recording")
    if not path.exists():
        raise BadInput(f"corpus not found: {path} (build one with 'prufrock corpus build')")


def _progress(args):
    def progress(done, total):
        if not args.json or sys.stderr.isatty():
            print(f"\reval vc: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return progress


def run_polish(args, converter, vocoder) -> int:
    from engine.models.polisher.evaluate import evaluate_vc_polisher

    _check_corpus(args.data)
    speakers = None
    if args.seen is not None or args.unseen is not None:
        speakers = (_names(args.seen) or []) + (_names(args.unseen) or [])
    report = evaluate_vc_polisher(converter, None if args.polish == "auto" else args.polish, args.data,
                                  limit=args.limit or 10, vocoder=vocoder, asr=args.asr, speakers=speakers,
                                  progress=_progress(args))
    print_report(report, args.json)
    return 0


def run_vc(args) -> int:
    import torch

    from engine.evaluation.vc_eval import evaluate_recording, evaluate_vc
    from engine.inference.vocoder import load_vocoder
    from engine.models.vc.adapter import DEFAULT_CANDIDATES, ConverterSource

    torch.manual_seed(args.seed)
    converter = ConverterSource(args.model, device=args.device, seed=args.seed,
                                candidates=args.candidates or DEFAULT_CANDIDATES)
    vocoder = load_vocoder(args.vocoder, converter.audio, converter.device)
    if args.polish and args.recording is None:
        return run_polish(args, converter, vocoder)
    if args.recording is not None:
        if args.data is not None:
            _check_corpus(args.data)
        report = evaluate_recording(converter, vocoder, args.recording, args.text, asr=args.asr,
                                    speaker_sim=args.speaker_sim, corpus=args.data)
    else:
        _check_corpus(args.data)
        report = evaluate_vc(converter, vocoder, args.data, limit=args.limit, asr=args.asr,
                             speaker_sim=args.speaker_sim, seen=_names(args.seen), unseen=_names(args.unseen),
                             progress=_progress(args))
    if args.json:
        print_json(report)
    elif args.recording is not None:
        for k, v in report.items():
            print(f"{k:>20}: {v}")
    else:
        for group in ("seen", "unseen"):
            summary = {k: v for k, v in report[group].items() if k != "utterances"}
            print(f"{group}: {summary}")
    return 0
