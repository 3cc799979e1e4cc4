"""Speed of the converter for `prufrock bench`: conversion to mel plus Griffin-Lim, real-time factor.

The kind table's "bench" entry for vc names `vc_bench`; it returns {"vc_rtf": ...}: seconds spent
converting (encoder + decoder + postnet) and vocoding (Griffin-Lim, 32 iterations) per second of
converted audio, median of repeats after a warm-up, on a two-sentence espeak-ng recording, with the
converter's default number of draws per segment (`vc_candidates`, engine/models/vc/candidates.py).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

BENCH_SOURCE_TEXT = ("The old man looked at the sea for a long time before he spoke. "
                     "It was a quiet evening, and the boats were coming home one by one.")


def bench_recording(out: Path) -> Path | None:
    """The bench's source recording (espeak-ng), or None without espeak-ng."""
    if shutil.which("espeak-ng") is None:
        return None
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(out), BENCH_SOURCE_TEXT], check=True,
                   capture_output=True, timeout=60)
    return out


def vc_bench(model: str = "default-vc", device: str = "cpu", repeats: int = 3) -> dict:
    import torch

    from engine.inference.pipeline import Pipeline
    from engine.inference.vocoder import GriffinLimVocoder
    from engine.models.vc.adapter import ConverterSource, ConvertRequest

    source = ConverterSource(model, device=device)
    vocoder = GriffinLimVocoder(source.audio, n_iter=32, device=source.device)
    with tempfile.TemporaryDirectory() as tmp:
        clip = bench_recording(Path(tmp) / "source.wav")
        if clip is None:
            return {"vc_rtf": None}
        pipe = Pipeline(source, vocoder)
        pipe.render(ConvertRequest(clip))  # warm-up
        rtfs, complete = [], []
        for _ in range(repeats):
            take = pipe.render(ConvertRequest(clip))
            rtfs.append(take.rtf)
            complete.append(all(s.alignment_complete for s in take.segments))
    return {"vc_rtf": round(float(statistics.median(rtfs)), 4), "vc_threads": torch.get_num_threads(),
            "vc_candidates": source.candidates,
            "vc_alignment_complete": all(complete)}
