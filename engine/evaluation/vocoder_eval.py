"""`prufrock eval vocoder`: vocoders side by side on the same held-out mels.

For each sentence the teacher voice (festival slt for the default voice) renders the text; two sets of
mels are vocoded by every vocoder: the teacher's own analysed mels (copy synthesis) and the default
voice's synthesized mels. Each output is scored with DNSMOS P.835 (OVRL/SIG/BAK; optional extra), the
word error rate of pocketsphinx (optional extra) and MCD-DTW against the teacher's rendering.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from engine.audio.features import log_mel_spectrogram
from engine.audio.io import save_audio
from engine.audio.trim import trim_silence
from engine.evaluation.dnsmos import available as dnsmos_available
from engine.evaluation.dnsmos import dnsmos
from engine.evaluation.mcd import mcd_dtw
from engine.evaluation.wer import wer


def _mean(xs):
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return round(float(np.mean(xs)), 4) if xs else None


def _score(rows: list[dict], refs: list[str], asr: bool) -> dict:
    out = {"sentences": len(rows)}
    for key in ("ovrl", "sig", "bak"):
        out[f"dnsmos_{key}"] = _mean([r["dnsmos"][key] if r.get("dnsmos") else None for r in rows])
    if asr:
        out["wer"] = round(wer(refs, [r["asr"] for r in rows]), 4)
    out["mcd_dtw_db"] = _mean([r.get("mcd") for r in rows])
    out["vocode_rtf"] = _mean([r.get("rtf") for r in rows])
    return out


def evaluate_vocoders(vocoders: dict, sentences: list[tuple[str, str]], voice="default", teacher: str = "slt",
                      asr: bool = True, device="cpu", save_dir: Path | None = None, progress=None) -> dict:
    """vocoders {name: Vocoder}; sentences [(id, text)] -> {"overall": {system: scores}, "comparison",
    "sentences"}. Systems: teacher, copy_<vocoder>, voice_<vocoder>."""
    from engine.evaluation.tts_eval import render_teacher
    from engine.inference.synthesizer import Synthesizer

    synth = Synthesizer(voice, device=device) if voice else None
    audio = next(iter(vocoders.values())).audio
    sr = audio.sample_rate
    recognizer = None
    if asr:
        from engine.evaluation.asr import Recognizer

        recognizer = Recognizer()
    systems: dict[str, list[dict]] = {"teacher": []}
    refs, per_sentence = [], []
    start = time.perf_counter()
    for n, (uid, text) in enumerate(sentences):
        refs.append(text)
        teacher_wav = trim_silence(render_teacher(teacher, text, sr), audio)
        mels = {"copy": log_mel_spectrogram(torch.from_numpy(teacher_wav), audio).numpy()}
        if synth is not None:
            mels["voice"] = synth.synthesize(text).mel
        outputs = {"teacher": (teacher_wav, None)}
        for source, mel in mels.items():
            for vname, voc in vocoders.items():
                t0 = time.perf_counter()
                wav = voc.vocode(mel)
                rtf = (time.perf_counter() - t0) / max(len(wav) / sr, 1e-9)
                outputs[f"{source}_{vname}"] = (wav, rtf)
        row = {"id": uid, "text": text}
        for system, (wav, rtf) in outputs.items():
            r = {"dnsmos": dnsmos(wav, sr), "rtf": rtf}
            if recognizer is not None:
                r["asr"] = recognizer.transcribe(wav, sr)
            if system != "teacher":
                r["mcd"] = mcd_dtw(wav, teacher_wav, sr)
            systems.setdefault(system, []).append(r)
            row[system] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            if save_dir is not None:
                save_audio(Path(save_dir) / f"{uid}_{system}.wav", wav, sr)
        per_sentence.append(row)
        if progress:
            progress(n + 1, len(sentences))
    overall = {name: _score(rows, refs, recognizer is not None) for name, rows in systems.items()}
    comparison = {}
    names = list(vocoders)
    if len(names) >= 2:
        a, b = names[0], names[1]  # the vocoder under test, the baseline
        for source in ("copy", "voice"):
            x, y = overall.get(f"{source}_{a}"), overall.get(f"{source}_{b}")
            if not x or not y:
                continue
            c = {}
            if x["dnsmos_ovrl"] is not None and y["dnsmos_ovrl"] is not None:
                c["ovrl_gain"] = round(x["dnsmos_ovrl"] - y["dnsmos_ovrl"], 4)
            if "wer" in x:
                c["wer_ratio"] = round(x["wer"] / y["wer"], 4) if y["wer"] > 0 else (1.0 if x["wer"] == 0 else None)
            c["mcd_gain_db"] = (round(y["mcd_dtw_db"] - x["mcd_dtw_db"], 4)
                                if x["mcd_dtw_db"] is not None and y["mcd_dtw_db"] is not None else None)
            c["passes"] = bool(c.get("ovrl_gain") is not None and c["ovrl_gain"] >= 0.3
                               and (c.get("wer_ratio") is None or c["wer_ratio"] <= 1.1))
            comparison[f"{source}: {a} vs {b}"] = c
    return {"vocoders": names, "voice": voice, "teacher": teacher, "dnsmos_available": dnsmos_available(),
            "asr": recognizer is not None, "seconds": round(time.perf_counter() - start, 1),
            "overall": overall, "comparison": comparison, "sentences": per_sentence}
