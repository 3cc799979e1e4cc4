"""`prufrock bench`: speed figures, each measured in this run after warm-up, median of repeats."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

BENCH_TEXT = ("The old man looked at the sea for a long time before he spoke. "
              "It was a quiet evening, and the boats were coming home one by one.")
FIRST_CHUNK_TEXT = "Please read this short sentence of exactly ten words aloud."
GUI_TEXT = ("Thirty words make a sentence long enough to keep the decoder busy for a while, so we can "
            "watch whether the window keeps answering while the model is running behind it today.")


def _median(xs):
    return float(statistics.median(xs))


def bench(model: str = "default", device: str = "auto", repeats: int = 3, gui: bool = True) -> dict:
    from engine.inference.synthesizer import Synthesizer
    from engine.inference.vocoder import GriffinLimVocoder

    synth = Synthesizer(model, device=device)
    vocoder = GriffinLimVocoder(synth.audio, n_iter=32, device=synth.device)
    sr, hop = synth.audio.sample_rate, synth.audio.hop_length
    synth.synthesize(BENCH_TEXT)  # warm-up
    mel_rtf, gl_rtf, first = [], [], []
    for _ in range(repeats):
        result = synth.synthesize(BENCH_TEXT)
        audio_s = sum(s.frames for s in result.segments) * hop / sr
        mel_rtf.append(result.synthesis_s / audio_s)
        t = time.perf_counter()
        vocoder.vocode_batch([s.mel for s in result.segments])
        vocoder_s = time.perf_counter() - t
        gl_rtf.append(vocoder_s / audio_s)
    # Time to the first audio chunk: the first decoder chunk, vocoded.
    for _ in range(repeats):
        start = time.perf_counter()
        for event in synth.stream(FIRST_CHUNK_TEXT, chunk_steps=8):
            vocoder.vocode(event.mel)
            first.append(time.perf_counter() - start)
            break
    out = {
        "device": synth.device.type, "threads": torch.get_num_threads(), "model": synth.name,
        "tts_mel_rtf": round(_median(mel_rtf), 4), "griffinlim_rtf": round(_median(gl_rtf), 4),
        "first_chunk_s": round(_median(first), 4),
        "gui_max_stall_ms": None,
    }
    out.update(kind_figures(device=synth.device.type))
    if gui:
        out.update(plugin_figures(model))
    return out


def kind_figures(device: str = "cpu") -> dict:
    """Each kind's own figures (the kind table's extra "bench"), measured on its default bundle; a
    figure whose part does not exist yet (no code or no bundle) is None."""
    from engine import kinds
    from engine.bundle import installed
    from engine.kinds import resolve_ref

    out = {}
    names = {name for name, _ in installed()}
    for kind in kinds.all_kinds():
        keys = kind.extra.get("bench_figures", ())
        out.update({k: None for k in keys})
        ref, default = kind.extra.get("bench"), kind.extra.get("default_bundle")
        if not ref or default not in names or not kind.usable:
            continue
        out.update(resolve_ref(ref)(default, device=device))
    return out


def plugin_figures(model: str) -> dict:
    """Figures contributed through the entry-point group `prufrock.bench` (the studio's GUI figures):
    each entry is a callable(model=..., texts=...) -> dict."""
    from engine.cli import plugin_modules

    out = {}
    texts = {"gui": GUI_TEXT, "first_chunk": FIRST_CHUNK_TEXT}
    for name, figures in plugin_modules("prufrock.bench").items():
        try:
            out.update(figures(model=model, texts=texts))
        except Exception as exc:  # noqa: BLE001 - a figure that cannot be measured here is reported as such
            out[f"{name}_error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return out
