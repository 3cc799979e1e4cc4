"""`prufrock convert SRC -o OUT.wav`: voice conversion of a recording into the converter's target voice."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import CANDIDATES, add_common, check_output_path, print_json

HELP = "voice conversion of a recording into the default voice"


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help=HELP, description="Convert a recording (any format soundfile reads, any "
                       "sample rate, mono or multichannel, any length: long recordings are split at pauses and "
                       "joined) into the converter's target voice, with the same words.")
    p.add_argument("source", type=Path, help="the recording to convert")
    p.add_argument("-o", "--output", type=Path, default=Path("converted.wav"), help="output .wav or .flac")
    add_common(p, model_help="conversion model NAME or DIR (default: the bundled default-vc)")
    p.add_argument("--candidates", type=CANDIDATES, default=None, metavar="N",
                   help="decodings drawn per segment, the one whose words the converter's encoder hears best "
                   "kept (default 2; 1 = a single draw, fastest)")
    p.add_argument("--alignment-png", type=Path, default=None, help="save the attention alignment image")
    p.set_defaults(func=run, model=None)


def run(args) -> int:
    check_output_path(args.output)

    import torch

    from engine.audio.io import load_audio, save_audio
    from engine.inference.cpu_fallback import render_with_cpu_fallback
    from engine.inference.pipeline import Pipeline
    from engine.inference.polisher import load_polisher
    from engine.inference.vocoder import load_vocoder
    from engine.models.vc.adapter import DEFAULT_CANDIDATES, ConverterSource, ConvertRequest

    wav, rate = load_audio(args.source)  # decoded once; a bad recording is reported before any model loads

    def build(device):
        torch.manual_seed(args.seed)
        source = ConverterSource(args.model or "default-vc", device=device or args.device, seed=args.seed,
                                 candidates=args.candidates or DEFAULT_CANDIDATES)
        request = ConvertRequest(wav=wav, sample_rate=rate, source=str(args.source))
        segments = source.prepare(request)  # silent or speechless input fails before decoding
        vocoder = load_vocoder(args.vocoder, source.audio, device=source.device)
        polisher = load_polisher(source.name, device=source.device) if args.polish else None
        return Pipeline(source, vocoder, polisher), request, segments

    take = render_with_cpu_fallback(build, notice=lambda msg: print(f"prufrock: {msg}", file=sys.stderr))
    save_audio(args.output, take.wav, take.sample_rate)
    if args.alignment_png is not None:
        from engine.alignment import join_alignments, save_alignment_png

        full = join_alignments([s.alignment for s in take.segments])
        save_alignment_png(args.alignment_png, full)
    if args.json:
        summary = take.summary(str(args.output))
        summary["source"] = str(args.source)
        print_json(summary)
    else:
        ok = all(s.alignment_complete for s in take.segments)
        print(f"{args.output}: {take.duration_s:.2f} s from {len(take.segments)} segment(s), RTF {take.rtf:.3f} on "
              f"{take.device}" + ("" if ok else " (warning: a segment did not align completely)"), file=sys.stderr)
    return 0

