"""`polisher_rtf` for `prufrock bench`: seconds of polishing per second of audio, median of repeats."""

from __future__ import annotations

import statistics
import time

import numpy as np


def polisher_bench(name: str = "default-polisher", log_mel: np.ndarray | None = None, device: str = "cpu",
                   repeats: int = 3) -> dict:
    """Time MelPolisher.polish on `log_mel` (n_mels, T) (default: the partner's mel of the bench text)."""
    from engine.bundle import load_bundle
    from engine.models.polisher.adapter import MelPolisher

    pol = MelPolisher(load_bundle(name, kind="polisher"), device=device)
    if log_mel is None:
        from engine.evaluation.bench import BENCH_TEXT
        from engine.inference.synthesizer import Synthesizer

        synth = Synthesizer(pol.partner, device=device)
        log_mel = np.concatenate([s.mel for s in synth.synthesize(BENCH_TEXT).segments], axis=-1)
    pol.polish(log_mel)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        pol.polish(log_mel)
        times.append(time.perf_counter() - t)
    audio_s = log_mel.shape[-1] * pol.audio.hop_length / pol.audio.sample_rate
    return {"polisher": pol.name, "polisher_rtf": round(statistics.median(times) / audio_s, 5)}
