"""`prufrock say TEXT -o OUT.wav`: text to speech."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.common import add_common, check_output_path, finite_floats, print_json
from engine.errors import BadInput

HELP = "text to speech"


def add_parser(sub) -> None:
    p = sub.add_parser("say", help=HELP, description="Speak TEXT (many sentences allowed) into a WAV/FLAC file.")
    p.add_argument("text", nargs="?", default=None, help="the text to say")
    p.add_argument("--file", type=Path, default=None, help="read the text from this file instead")
    p.add_argument("-o", "--output", type=Path, default=Path("out.wav"), help="output .wav or .flac")
    add_common(p, model_help="voice model NAME or DIR (default: the bundled default voice)")
    p.add_argument("--style-ref", type=Path, default=None, help="reference clip whose style to follow (GST)")
    p.add_argument("--style-weights", default=None, help="explicit style-token weights W0,W1,...")
    p.add_argument("--speaker", default=None, help="speaker name or index of a multi-speaker voice")
    p.add_argument("--alignment-png", type=Path, default=None, help="save the attention alignment image")
    p.set_defaults(func=run)


def read_text(args) -> str:
    if args.file is not None:
        if args.text:
            raise BadInput("give TEXT or --file, not both")
        if not args.file.exists():
            raise BadInput(f"text file not found: {args.file}")
        try:
            return args.file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{args.file} is not UTF-8 text") from None
    if args.text is None:
        raise BadInput("no text: give TEXT or --file PATH")
    return args.text


def parse_weights(spec: str) -> list[float]:
    try:
        return finite_floats(spec)
    except BadInput as exc:
        raise BadInput(f"--style-weights: {exc}") from None


def run(args) -> int:
    text = read_text(args)
    if not text.strip():
        raise BadInput("text is empty: give something to say")
    if args.style_ref is not None and args.style_weights is not None:
        raise BadInput("give --style-ref or --style-weights, not both")
    check_output_path(args.output)

    import torch

    from engine.audio.io import save_audio
    from engine.alignment import join_alignments, save_alignment_png
    from engine.inference.cpu_fallback import render_with_cpu_fallback
    from engine.inference.pipeline import Pipeline
    from engine.inference.synthesizer import SpeakRequest, Style, Synthesizer
    from engine.inference.polisher import load_polisher
    from engine.inference.vocoder import load_vocoder

    def build(device):
        torch.manual_seed(args.seed)
        synth = Synthesizer(args.model, device=device or args.device, seed=args.seed)
        vocoder = load_vocoder(args.vocoder, synth.audio, device=synth.device)
        polisher = load_polisher(synth.name, device=synth.device) if args.polish else None
        style = None
        if args.style_ref is not None:
            style = synth.reference_from_file(args.style_ref)
        elif args.style_weights is not None:
            style = Style(weights=parse_weights(args.style_weights), source="weights")
        synth.segments(text)  # bad text fails before the warm-up
        return Pipeline(synth, vocoder, polisher), SpeakRequest(text, style=style, speaker=args.speaker), None

    take = render_with_cpu_fallback(build, notice=lambda msg: print(f"prufrock: {msg}", file=sys.stderr))
    save_audio(args.output, take.wav, take.sample_rate)
    if args.alignment_png is not None:
        full = join_alignments([s.alignment for s in take.segments])  # sentences side by side
        save_alignment_png(args.alignment_png, full)
    if args.json:
        print_json(take.summary(str(args.output)))
    else:
        ok = all(s.stop_reached and s.alignment_complete for s in take.segments)
        print(f"{args.output}: {take.duration_s:.2f} s, RTF {take.rtf:.3f} on {take.device}"
              + ("" if ok else " (warning: a sentence did not stop or align completely)"), file=sys.stderr)
    return 0
