"""Speed of the three WaveNet generation methods for a vocoder bundle (`prufrock bench`).

Real-time factors (seconds of compute per second of 16 kHz audio; < 1 = faster than real time):
- naive: a full forward pass over the receptive field for every sample; measured on a short excerpt
  (`naive_samples`, default 200 samples) and extrapolated per second of audio (its cost per sample is
  constant once the history fills the receptive field, which the excerpt's conditioning does not need).
- cached: per-layer queues (Paine et al.), one row, measured on `cached_seconds` of audio
  (default 0.5 s) and extrapolated.
- folded: the adapter's folded generation (cached, B overlapping segments as one batch, cross-faded)
  of a whole `folded_seconds` (default 3 s) utterance, upsampler and cross-fades included.
Naive and cached are each timed `repeats` times (default 3) and the fastest run kept, as timeit does:
on a shared machine the slower runs measure the other processes, not the code.
The mel is a real utterance's when `mel` is given, else a synthetic one (speed does not depend on it).
"""

from __future__ import annotations

import time

import numpy as np
import torch


def _timed(fn, cpu: dict, key: str, repeats: int = 1) -> float:
    """Wall seconds of the fastest of `repeats` calls of fn(); that call's process CPU seconds go to
    cpu[key] (on a shared machine the CPU time shows what the code costs, the wall time what a listener
    waits)."""
    best = None
    for _ in range(max(1, repeats)):
        start, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, used = time.perf_counter() - start, time.process_time() - c0
        if best is None or wall < best:
            best, cpu[key] = wall, used
    return best


def wavenet_bench(bundle_or_name="default-wavenet", device="cpu", naive_samples: int = 200,
                  cached_seconds: float = 0.5, folded_seconds: float = 3.0, mel: np.ndarray | None = None,
                  repeats: int = 3) -> dict:
    """-> {"wavenet_naive_rtf", "wavenet_cached_rtf", "wavenet_folded_rtf" (wall), the same as
    "..._cpu_rtf" (process CPU time), "wavenet_cached_speedup" (naive / cached, wall),
    "wavenet_stream_first_chunk_s", "wavenet_threads", "wavenet_device"}."""
    from engine.bundle import Bundle, load_bundle
    from engine.models.wavenet.generation import naive_generate, torch_threads
    from engine.models.wavenet.vocoder import WaveNetVocoder

    bundle = bundle_or_name if isinstance(bundle_or_name, Bundle) else load_bundle(bundle_or_name, kind="wavenet")
    voc = WaveNetVocoder(bundle, device=device)
    model, audio = voc.model, voc.audio
    sr, hop = audio.sample_rate, audio.hop_length
    frames = int(folded_seconds * sr / hop)
    if mel is None:
        rng = np.random.default_rng(0)
        mel = (model.mel_mean.cpu().numpy()[:, None] + model.mel_std.cpu().numpy()[:, None]
               * rng.normal(0, 1, (audio.n_mels, frames))).astype(np.float32)
    mel = np.asarray(mel, dtype=np.float32)
    dev = voc.device
    cpu: dict[str, float] = {}
    threads = voc.stepper.threads if dev.type == "cpu" else None
    with torch.inference_mode(), torch_threads(threads):
        cond = model.upsample(model.normalize(torch.as_tensor(mel, device=dev)[None]))
        n_cached = min(cond.shape[-1], int(cached_seconds * sr))
        u = torch.rand(1, cond.shape[-1])
        stepper = voc.stepper
        stepper.run(cond[:, :, :64], u[:, :64])  # warm-up
        t_cached = _timed(lambda: stepper.run(cond[:, :, :n_cached], u[:, :n_cached]), cpu, "cached",
                          repeats)
        n_naive = min(naive_samples, cond.shape[-1])
        naive_generate(model, cond[:, :, :8], u[:, :8])  # warm-up
        t_naive = _timed(lambda: naive_generate(model, cond[:, :, :n_naive], u[:, :n_naive]), cpu, "naive",
                         repeats)
        voc.vocode(mel[:, :8])  # warm-up
        seconds = mel.shape[-1] * hop / sr
        t_folded = _timed(lambda: voc.vocode(mel), cpu, "folded")
        start = time.perf_counter()
        stream = voc.stream(mel)
        next(stream)
        first = time.perf_counter() - start
        stream.close()
    return {
        "wavenet_naive_rtf": round(t_naive / (n_naive / sr), 3),
        "wavenet_cached_rtf": round(t_cached / (n_cached / sr), 3),
        "wavenet_folded_rtf": round(t_folded / seconds, 3),
        "wavenet_stream_first_chunk_s": round(first, 3),
        "wavenet_naive_cpu_rtf": round(cpu["naive"] / (n_naive / sr), 3),
        "wavenet_cached_cpu_rtf": round(cpu["cached"] / (n_cached / sr), 3),
        "wavenet_folded_cpu_rtf": round(cpu["folded"] / seconds, 3),
        "wavenet_cached_speedup": round(t_naive / (n_naive / sr) / max(t_cached / (n_cached / sr), 1e-9), 1),
        "wavenet_threads": threads or torch.get_num_threads(),
        "wavenet_device": str(dev),
    }
