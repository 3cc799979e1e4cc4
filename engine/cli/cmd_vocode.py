"""`prufrock vocode IN.wav -o OUT.wav --vocoder NAME`: copy synthesis (analysis -> mel -> vocoder), to
hear what a vocoder does to a recording."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.cli.common import add_device, check_output_path, print_json
from engine.errors import BadInput

HELP = "copy synthesis: a recording -> mel -> a vocoder"


def add_parser(sub) -> None:
    p = sub.add_parser("vocode", help=HELP, description=HELP + " (hear what a vocoder does to real speech).")
    p.add_argument("input", type=Path, help="a recording (any format soundfile reads)")
    p.add_argument("-o", "--output", type=Path, default=Path("vocoded.wav"), help="output .wav or .flac")
    p.add_argument("--vocoder", default="griffinlim", help="griffinlim, wavenet or a vocoder model NAME/DIR")
    p.add_argument("--model", "--voice", dest="model", default="default",
                   help="the voice whose audio configuration the mel follows (default: the default voice)")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    check_output_path(args.output)
    from engine.audio.features import log_mel_spectrogram
    from engine.audio.io import load_audio, save_audio
    from engine.bundle import load_bundle
    from engine.inference.device import pick_device
    from engine.inference.vocoder import load_vocoder
    import torch

    from engine import kinds

    bundle = load_bundle(args.model)
    audio = kinds.get(bundle.kind).load_config(bundle.config).audio
    device = pick_device(args.device)
    wav, _ = load_audio(args.input, audio.sample_rate)
    if len(wav) < audio.hop_length * 4:
        raise BadInput(f"{args.input.name} is too short to vocode (under {audio.hop_length * 4} samples)")
    vocoder = load_vocoder(args.vocoder, audio, device=device)
    mel = log_mel_spectrogram(torch.from_numpy(wav), audio).numpy()
    start = time.perf_counter()
    out = vocoder.vocode(mel)
    vocoder_s = time.perf_counter() - start
    save_audio(args.output, out, audio.sample_rate)
    duration = len(out) / audio.sample_rate
    summary = {"output": str(args.output), "sample_rate": audio.sample_rate, "duration_s": round(duration, 3),
               "device": device.type, "vocoder": vocoder.name, "vocoder_s": round(vocoder_s, 4),
               "rtf": round(vocoder_s / max(duration, 1e-9), 4)}
    if args.json:
        print_json(summary)
    else:
        print(f"{args.output}: {duration:.2f} s, vocoder RTF {summary['rtf']:.3f} on {device.type}", file=sys.stderr)
    return 0
