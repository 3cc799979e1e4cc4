"""Does the style follow the reference? Median F0 and duration of syntheses styled by clips."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from engine.errors import BadInput


def median_f0(wav: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 500.0) -> float:
    """Median fundamental frequency (Hz) over voiced frames (librosa pYIN)."""
    import librosa

    f0, voiced, _ = librosa.pyin(wav, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=1024, hop_length=256)
    f0 = f0[voiced & np.isfinite(f0)]
    return float(np.median(f0)) if f0.size else float("nan")


def speech_duration(wav: np.ndarray, sample_rate: int, top_db: float = 35.0) -> float:
    """Seconds between the first and last non-silent sample."""
    import librosa

    _, (start, end) = librosa.effects.trim(wav, top_db=top_db)
    return (end - start) / sample_rate


def render_reference(text: str, out: Path, pitch_semitones: float, rate: float, voice: str = "slt") -> Path:
    """A clip of a system voice with pitch and rate changed by sox (like the training corpus)."""
    from engine.data.voices import parse_voice

    if shutil.which("sox") is None:
        raise BadInput("sox is needed: apt-get install sox")
    v = parse_voice(voice)
    v.check()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        v.render(text, raw)
        subprocess.run(["sox", str(raw), str(out), "pitch", f"{pitch_semitones * 100:.0f}", "tempo", "-s",
                        f"{rate:.3f}"], check=True, capture_output=True)
    return out


def style_contrast(synth, vocoder, text: str, clips: dict[str, Path]) -> dict:
    """Synthesize `text` styled by each clip -> {name: {"f0_hz": ..., "duration_s": ...}}."""
    from engine.inference.pipeline import Pipeline
    from engine.inference.synthesizer import SpeakRequest

    out = {}
    for name, clip in clips.items():
        take = Pipeline(synth, vocoder).render(SpeakRequest(text, style=synth.reference_from_file(clip)))
        out[name] = {"f0_hz": round(median_f0(take.wav, take.sample_rate), 1),
                     "duration_s": round(speech_duration(take.wav, take.sample_rate), 3),
                     "token_weights": [round(w, 3) for w in (take.token_weights or [])]}
    return out
