"""`prufrock eval vocoder`: DNSMOS, WER and MCD-DTW of vocoders side by side on the same held-out mels
(copy synthesis of the teacher, and the default voice's synthesis)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import add_device, print_json
from engine.errors import BadInput


def add_parser(esub) -> None:
    v = esub.add_parser("vocoder", help="vocoders side by side: DNSMOS, WER and MCD-DTW on the same held-out mels",
                        description="Vocode the same held-out mels with each vocoder - the teacher voice's "
                        "own renderings analysed to mels (copy synthesis) and the voice's synthesized mels - "
                        "and score each output: DNSMOS OVRL/SIG/BAK (optional extra: pip install speechmos "
                        "onnxruntime; null without it), pocketsphinx WER and MCD-DTW against the teacher.")
    v.add_argument("--vocoders", default="wavenet,griffinlim",
                   help="comma-separated vocoders, the one under test first, the baseline second")
    v.add_argument("--voice", "--model", dest="voice", default="default",
                   help="the voice whose synthesized mels are vocoded ('none' for copy synthesis only)")
    v.add_argument("--teacher", default=None, help="system voice rendering the references (default: the "
                   "voice card's teacher, slt)")
    v.add_argument("--text", type=Path, default=None,
                   help="sentences, ID<TAB>TEXT or one per line (default: the 100 held-out ARCTIC prompts)")
    v.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    v.add_argument("--no-asr", action="store_true", help="skip the word error rate")
    v.add_argument("--save", type=Path, default=None, help="folder to write every output wav into")
    add_device(v)
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=run_vocoder)


def run_vocoder(args) -> int:
    from engine import kinds
    from engine.bundle import load_bundle
    from engine.data.prompts import held_out_prompts, read_prompts
    from engine.evaluation.vocoder_eval import evaluate_vocoders
    from engine.inference.device import pick_device
    from engine.inference.vocoder import load_vocoder

    if args.limit is not None and args.limit < 1:
        raise BadInput(f"--limit must be 1 or more, got {args.limit}")
    names = [n.strip() for n in args.vocoders.split(",") if n.strip()]
    if not names:
        raise BadInput("--vocoders names no vocoder: e.g. --vocoders wavenet,griffinlim")
    voice = None if args.voice == "none" else args.voice
    bundle = load_bundle(voice or "default", kind="tacotron")
    audio = kinds.get(bundle.kind).load_config(bundle.config).audio
    teacher = args.teacher or bundle.config.get("teacher") or "slt"
    device = pick_device(args.device)
    vocoders = {}
    for n in names:
        voc = load_vocoder(n, audio, device=device)
        vocoders[n if n in ("griffinlim", "wavenet") else voc.name] = voc
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
    prompts = read_prompts(args.text, strict=False) if args.text else held_out_prompts()
    sentences = [(p.id, p.text) for p in prompts][: args.limit or None]

    def progress(done, total):
        if not args.json or sys.stderr.isatty():
            print(f"\reval vocoder: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = evaluate_vocoders(vocoders, sentences, voice=voice, teacher=teacher, asr=not args.no_asr,
                               device=args.device, save_dir=args.save, progress=progress)
    if args.json:
        print_json(report)
    else:
        for system, scores in report["overall"].items():
            print(f"{system:>22}: " + ", ".join(f"{k} {v}" for k, v in scores.items() if k != "sentences"))
        for what, c in report["comparison"].items():
            print(f"{what}: {c}")
    return 0
