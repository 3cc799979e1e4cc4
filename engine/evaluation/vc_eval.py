"""`prufrock eval vc`: a converter on the held-out prompts of a parallel corpus, seen and unseen source
voices reported apart.

Per utterance: MCD-DTW(converted, target's own rendering) next to MCD-DTW(source, target), whether the
alignment completed, with ASR the word error rate of the converted speech next to the target's own
renderings, and with a speaker encoder whether the converted speech is closer to the target voice
(its centroid over training recordings) than to the source recording.

Acceptance (issue 10): MCD ratio <= 0.6 (seen) / 0.7 (unseen), >= 98 % complete alignments, WER
<= 1.5x the target's, closer to the target on >= 90 % of utterances.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.audio.io import load_audio
from engine.data import read_corpus
from engine.data.prompts import HELD_OUT_DEFAULT, held_out_ids
from engine.errors import BadInput

GOALS = {"mcd_ratio_seen": 0.6, "mcd_ratio_unseen": 0.7, "alignment_complete_rate": 0.98, "wer_ratio": 1.5,
         "closer_to_target_rate": 0.9}


def held_out_items(corpus: Path, speakers: list[str], target: str, limit: int | None = None,
                   held_out: int = HELD_OUT_DEFAULT) -> list[dict]:
    """[{speaker, id, text, source path, target path}] for the held-out ids (the last `held_out` ARCTIC
    prompts, as the converter was trained) both speakers have."""
    utts = read_corpus(corpus)
    hold = held_out_ids(held_out)
    by_key = {(u.speaker, u.id): u for u in utts}
    ids = sorted(i for (s, i) in by_key if s == target and i in hold)
    if not ids:
        raise BadInput(f"{corpus} holds no held-out prompts (the last {held_out} ARCTIC ids) of the target {target!r}")
    out = []
    for spk in speakers:
        have = [i for i in ids if (spk, i) in by_key]
        for i in have[:limit] if limit else have:
            out.append({"speaker": spk, "id": i, "text": by_key[(target, i)].text,
                        "source": by_key[(spk, i)].audio_path, "target": by_key[(target, i)].audio_path})
    return out


def voice_centroid(encoder, corpus: Path | None, speaker: str, sample_rate: int, count: int = 10,
                   held_out: int = HELD_OUT_DEFAULT):
    """The speaker encoder's centroid of `count` of `speaker`'s training recordings (held-out prompts
    excluded): what "the target voice" means for speaker similarity. Without a corpus (None), the
    speaker's system voice (e.g. festival slt) renders the first `count` training prompts instead."""
    hold = held_out_ids(held_out)
    if corpus is None:
        from engine.data.prompts import ARCTIC_PROMPTS, read_prompts
        from engine.evaluation.tts_eval import render_teacher

        prompts = [p for p in read_prompts(ARCTIC_PROMPTS) if p.id not in hold][:count]
        return encoder.centroid([(render_teacher(speaker, p.text, sample_rate), sample_rate) for p in prompts])
    utts = [u for u in read_corpus(corpus) if u.speaker == speaker and u.id not in hold][:count]
    return encoder.centroid([load_audio(u.audio_path, sample_rate) for u in utts])


def evaluate_vc(converter, vocoder, corpus: Path, limit: int | None = 10, asr: bool = False,
                speaker_sim: bool = False, seen: list[str] | None = None, unseen: list[str] | None = None,
                progress=None) -> dict:
    from engine.evaluation.mcd import cepstrum_method, mcd_dtw
    from engine.inference.pipeline import Pipeline
    from engine.models.vc.adapter import ConvertRequest

    cfg = converter.cfg
    target = cfg.target
    seen = list(seen if seen is not None else cfg.sources)
    unseen = list(unseen if unseen is not None else cfg.unseen)
    sr = converter.audio.sample_rate
    recognizer = encoder = target_centroid = None
    if asr:
        from engine.evaluation.asr import Recognizer

        recognizer = Recognizer()
    if speaker_sim:
        from engine.evaluation.speaker_sim import SpeakerEncoder

        encoder = SpeakerEncoder()
        target_centroid = voice_centroid(encoder, corpus, target, sr, held_out=cfg.held_out)
    pipe = Pipeline(converter, vocoder)
    report = {"model": converter.name, "target": target, "corpus": str(corpus), "cepstrum": cepstrum_method(),
              "vocoder": vocoder.name, "candidates": getattr(converter, "candidates", 1), "goals": GOALS}
    target_asr: dict[str, str] = {}
    start = time.perf_counter()
    done = 0
    groups = {"seen": seen, "unseen": unseen}
    items_by_group = {g: held_out_items(corpus, spk, target, limit, cfg.held_out) if spk else []
                      for g, spk in groups.items()}
    total = sum(len(v) for v in items_by_group.values())
    for group, items in items_by_group.items():
        rows = []
        for it in items:
            src_wav, _ = load_audio(it["source"], sr)
            tgt_wav, _ = load_audio(it["target"], sr)
            take = pipe.render(ConvertRequest(wav=src_wav, sample_rate=sr, source=str(it["source"])))
            row = {"speaker": it["speaker"], "id": it["id"], "segments": len(take.segments),
                   "alignment_complete": all(s.alignment_complete for s in take.segments),
                   "stop_reached": all(s.stop_reached for s in take.segments),
                   "mcd_converted": round(mcd_dtw(take.wav, tgt_wav, sr), 3),
                   "mcd_source": round(mcd_dtw(src_wav, tgt_wav, sr), 3),
                   "duration_s": round(take.duration_s, 3), "rtf": round(take.rtf, 4)}
            if recognizer is not None:
                row["asr"] = recognizer.transcribe(take.wav, take.sample_rate)
                row["source_asr"] = recognizer.transcribe(src_wav, sr)
                if it["id"] not in target_asr:
                    target_asr[it["id"]] = recognizer.transcribe(tgt_wav, sr)
                row["target_asr"] = target_asr[it["id"]]
            if encoder is not None:
                conv = encoder.embed(take.wav, take.sample_rate)
                row["sim_target"] = round(encoder.similarity(conv, target_centroid), 4)
                row["sim_source"] = round(encoder.similarity(conv, encoder.embed(src_wav, sr)), 4)
                row["closer_to_target"] = row["sim_target"] > row["sim_source"]
            row["text"] = it["text"]
            rows.append(row)
            done += 1
            if progress:
                progress(done, total)
        report[group] = summarize(rows, GOALS["mcd_ratio_" + group], recognizer is not None, encoder is not None)
        report[group]["speakers"] = groups[group]
        report[group]["utterances"] = rows
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def summarize(rows: list[dict], mcd_goal: float, asr: bool, sim: bool) -> dict:
    if not rows:
        return {"count": 0}
    from engine.evaluation.wer import wer

    out = {"count": len(rows)}
    out["mcd_converted"] = round(float(np.mean([r["mcd_converted"] for r in rows])), 3)
    out["mcd_source"] = round(float(np.mean([r["mcd_source"] for r in rows])), 3)
    out["mcd_ratio"] = round(out["mcd_converted"] / max(out["mcd_source"], 1e-9), 3)
    out["alignment_complete_rate"] = round(float(np.mean([r["alignment_complete"] for r in rows])), 4)
    out["stop_rate"] = round(float(np.mean([r["stop_reached"] for r in rows])), 4)
    out["mean_rtf"] = round(float(np.mean([r["rtf"] for r in rows])), 4)
    passes = {"mcd_ratio": out["mcd_ratio"] <= mcd_goal,
              "alignment_complete_rate": out["alignment_complete_rate"] >= GOALS["alignment_complete_rate"]}
    if asr:
        refs = [r["text"] for r in rows]
        out["wer"] = round(wer(refs, [r["asr"] for r in rows]), 4)
        out["source_wer"] = round(wer(refs, [r["source_asr"] for r in rows]), 4)
        out["target_wer"] = round(wer(refs, [r["target_asr"] for r in rows]), 4)
        out["wer_ratio"] = round(out["wer"] / max(out["target_wer"], 1e-9), 3)
        passes["wer_ratio"] = out["wer_ratio"] <= GOALS["wer_ratio"]
    if sim:
        out["closer_to_target_rate"] = round(float(np.mean([r["closer_to_target"] for r in rows])), 4)
        out["mean_sim_target"] = round(float(np.mean([r["sim_target"] for r in rows])), 4)
        out["mean_sim_source"] = round(float(np.mean([r["sim_source"] for r in rows])), 4)
        passes["closer_to_target_rate"] = out["closer_to_target_rate"] >= GOALS["closer_to_target_rate"]
    out["passes"] = passes
    return out


def evaluate_recording(converter, vocoder, path: Path, text: str | None = None, asr: bool = False,
                       speaker_sim: bool = False, corpus: Path | None = None) -> dict:
    """One real recording (e.g. pysptk's CMU ARCTIC awb clip): alignment, ASR of both, similarity."""
    from engine.inference.pipeline import Pipeline
    from engine.models.vc.adapter import ConvertRequest

    sr = converter.audio.sample_rate
    src, _ = load_audio(path, sr)
    take = Pipeline(converter, vocoder).render(ConvertRequest(wav=src, sample_rate=sr, source=str(path)))
    out = {"path": str(path), "segments": len(take.segments),
           "alignment_complete": all(s.alignment_complete for s in take.segments),
           "stop_reached": all(s.stop_reached for s in take.segments), "rtf": round(take.rtf, 4)}
    if asr:
        from engine.evaluation.asr import Recognizer
        from engine.evaluation.wer import wer

        rec = Recognizer()
        out["asr"], out["source_asr"] = rec.transcribe(take.wav, take.sample_rate), rec.transcribe(src, sr)
        if text:
            out["wer"] = round(wer([text], [out["asr"]]), 4)
            out["source_wer"] = round(wer([text], [out["source_asr"]]), 4)
    if speaker_sim:
        from engine.evaluation.speaker_sim import SpeakerEncoder

        enc = SpeakerEncoder()
        centroid = voice_centroid(enc, corpus, converter.cfg.target, sr, held_out=converter.cfg.held_out)
        conv = enc.embed(take.wav, take.sample_rate)
        out["sim_target"] = round(enc.similarity(conv, centroid), 4)
        out["sim_source"] = round(enc.similarity(conv, enc.embed(src, sr)), 4)
        out["closer_to_target"] = out["sim_target"] > out["sim_source"]
    return out
