"""`prufrock eval tts`: stop reached, alignment complete and focus rate per sentence, and with
ASR the word error rate of the voice next to the teacher voice's own renderings."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from engine.audio.io import load_audio
from engine.errors import BadInput
from engine.alignment import focus_rate
from engine.inference.synthesizer import Synthesizer


def evaluate_tts(synth: Synthesizer, sentences: list[tuple[str, str]], asr: bool = False,
                 teacher: str | None = None, vocoder=None, progress=None) -> dict:
    from engine.inference.pipeline import Pipeline
    from engine.inference.synthesizer import SpeakRequest

    rows = []
    hyps, teacher_hyps = [], []
    recognizer = None
    if asr:
        from engine.evaluation.asr import Recognizer

        recognizer = Recognizer()
    start = time.perf_counter()
    for uid, text in sentences:
        if recognizer is not None:
            take = Pipeline(synth, vocoder).render(SpeakRequest(text))
            segs, wav = take.segments, take.wav
        else:
            segs = synth.synthesize(text).segments
        row = {
            "id": uid, "text": text, "segments": len(segs),
            "stop_reached": all(s.stop_reached for s in segs),
            "alignment_complete": all(s.alignment_complete for s in segs),
            "focus_rate": round(float(np.mean([focus_rate(s.alignment) for s in segs])), 4),
            "frames": int(sum(s.frames for s in segs)),
        }
        if recognizer is not None:
            row["asr"] = recognizer.transcribe(wav, synth.audio.sample_rate)
            hyps.append(row["asr"])
            if teacher:
                twav = render_teacher(teacher, text, synth.audio.sample_rate)
                row["teacher_asr"] = recognizer.transcribe(twav, synth.audio.sample_rate)
                teacher_hyps.append(row["teacher_asr"])
        rows.append(row)
        if progress:
            progress(len(rows), len(sentences))
    n = len(rows)
    ok = sum(r["stop_reached"] and r["alignment_complete"] for r in rows)
    overall = {
        "sentences": n,
        "stop_reached_rate": round(sum(r["stop_reached"] for r in rows) / n, 4),
        "alignment_complete_rate": round(sum(r["alignment_complete"] for r in rows) / n, 4),
        "stop_and_aligned_rate": round(ok / n, 4),
        "mean_focus_rate": round(float(np.mean([r["focus_rate"] for r in rows])), 4),
        "seconds": round(time.perf_counter() - start, 1),
    }
    if recognizer is not None:
        from engine.evaluation.wer import wer

        refs = [r["text"] for r in rows]
        overall["wer"] = round(wer(refs, hyps), 4)
        if teacher:
            overall["teacher_wer"] = round(wer(refs, teacher_hyps), 4)
            overall["teacher"] = teacher
            overall["wer_ratio"] = round(overall["wer"] / max(overall["teacher_wer"], 1e-9), 3)
    return {"model": synth.name, "overall": overall, "sentences": rows}


def render_teacher(spec: str, text: str, sample_rate: int) -> np.ndarray:
    from engine.data.voices import parse_voice

    voice = parse_voice(spec)
    voice.check()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.wav"
        voice.render(text, path)
        wav, _ = load_audio(path, sample_rate)
    return wav
