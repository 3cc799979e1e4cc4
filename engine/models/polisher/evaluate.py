"""Polisher evaluation: the partner's mels with and without polishing on held-out sentences.

For each sentence the partner decodes once (free-running, seeded); the same mel is vocoded as it is and
polished, so the comparison is paired. Figures, each with and without polishing:

- gv_gap: mean over mel bands of |log GV - log GV of natural speech| (engine.evaluation.global_variance),
  natural = the teacher voice's own renderings of the same sentences (trimmed);
- mcd_dtw: mel-cepstral distortion (dB) of the vocoded audio to that reference after DTW alignment
  (engine.evaluation.mcd); mcd_mel: the same distance on the mels themselves (no vocoder; the
  cepstrum is the cosine transform of the 80-band log-mel);
- wer: pocketsphinx word error rate on the vocoded audio (asr=True);
- dnsmos_ovrl / dnsmos_sig: DNSMOS P.835 (the `speechmos` package, when installed; dnsmos=True).
"""

from __future__ import annotations

import time

import numpy as np

from engine.audio.config import AudioConfig
from engine.evaluation.global_variance import gv_gap, log_gv_difference


def _mel_cepstrum(log_mel: np.ndarray, order: int = 24) -> np.ndarray:
    """(n_mels, T) natural-log mel magnitudes -> (T, order) mel-cepstral coefficients c1..c_order.

    Scaled like a minimum-phase mel-cepstrum (log|H(w)| = sum_m c_m cos(m w)): c_m = (2/K) sum_k
    log x_k cos(pi m (k + 1/2) / K) over the K mel bands, i.e. sqrt(2/K) x the orthonormal DCT-II."""
    from scipy.fft import dct

    K = log_mel.shape[0]
    return (np.sqrt(2.0 / K) * dct(log_mel.astype(np.float64), type=2, axis=0, norm="ortho"))[1: order + 1].T


def mel_cepstral_distance_dtw(log_mel: np.ndarray, reference: np.ndarray, order: int = 24) -> float:
    """MCD (dB) between two log-mels after DTW: 10 / ln 10 x sqrt(2 x sum_d (c_d - c'_d)^2), mean over the path.

    A simple stand-in for an SPTK mel-cepstrum MCD: the cepstrum is the cosine transform of the
    80-band log-mel (see _mel_cepstrum), c0 (energy) is left out."""
    import librosa

    a, b = _mel_cepstrum(log_mel, order), _mel_cepstrum(reference, order)
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    _, path = librosa.sequence.dtw(C=cost)
    d = cost[path[:, 0], path[:, 1]]
    return float(10.0 / np.log(10.0) * np.sqrt(2.0) * d.mean())


def mcd_dtw(wav: np.ndarray, reference_wav: np.ndarray, sample_rate: int) -> tuple[float, str] | None:
    """(MCD-DTW in dB between two waveforms, which cepstra) by engine.evaluation.mcd; None when absent."""
    try:
        from engine.evaluation.mcd import cepstrum_method, mcd_dtw as shared
    except ImportError:
        return None
    return float(shared(wav, reference_wav, sample_rate)), f"engine.evaluation.mcd ({cepstrum_method()})"


def dnsmos(wav: np.ndarray, sample_rate: int) -> dict | None:
    """{'ovrl', 'sig', 'bak'} DNSMOS P.835 of a clip, or None when speechmos is not installed
    (engine.evaluation.dnsmos when present, else speechmos directly)."""
    try:
        from engine.evaluation.dnsmos import dnsmos as shared
    except ImportError:
        shared = None
    if shared is not None:
        return shared(wav, sample_rate)
    try:
        from speechmos import dnsmos as _dnsmos
    except ImportError:
        return None
    from engine.audio.io import resample

    w = resample(np.asarray(wav, dtype=np.float32), sample_rate, 16000)
    w = np.clip(w, -1.0, 1.0)
    r = _dnsmos.run(w, 16000)
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"])}


def _reference_mel(wav: np.ndarray, audio: AudioConfig) -> np.ndarray:
    from engine.audio.trim import trim_silence
    from engine.data.cache import compute_log_mel

    return compute_log_mel(np.ascontiguousarray(trim_silence(wav, audio), dtype=np.float32), audio)


class PolishComparison:
    """The paired with/without-polishing figures of a set of takes (one pipeline render each): the
    take's own mel and audio are "without"; the same mel polished and vocoded is "with"."""

    def __init__(self, polisher, vocoder, audio: AudioConfig, asr: bool = True, use_dnsmos: bool = True) -> None:
        self.pol, self.voc, self.audio, self.use_dnsmos = polisher, vocoder, audio, use_dnsmos
        self.recognizer = None
        if asr:
            from engine.evaluation.asr import Recognizer

            self.recognizer = Recognizer()
        self.rows: list[dict] = []
        self.mels: dict[str, list[np.ndarray]] = {"without": [], "with": [], "natural": []}
        self.hyps: dict[str, list[str]] = {"without": [], "with": []}
        self.mcd_impl = ""
        self.polish_s = self.audio_s = 0.0
        self.start = time.perf_counter()

    def add(self, take, row: dict, ref_wav: np.ndarray | None) -> None:
        """One rendered take (its text in row["text"]); ref_wav = natural speech of the same words, or None."""
        from engine.inference.pipeline import join_segments

        sr = self.audio.sample_rate
        before = [s.mel for s in take.segments]
        t = time.perf_counter()
        after = [self.pol.polish(m) for m in before]
        self.polish_s += time.perf_counter() - t
        self.audio_s += take.duration_s
        mel = {"without": np.concatenate(before, axis=-1), "with": np.concatenate(after, axis=-1)}
        wavs = {"without": take.wav, "with": join_segments(self.voc.vocode_batch(after), sr)}
        ref_mel = None
        if ref_wav is not None:
            ref_mel = _reference_mel(ref_wav, self.audio)
            self.mels["natural"].append(ref_mel)
            if self.use_dnsmos:
                ref_mos = dnsmos(ref_wav, sr)
                if ref_mos is not None:
                    row["teacher_dnsmos_ovrl"] = round(ref_mos["ovrl"], 3)
                    row["teacher_dnsmos_sig"] = round(ref_mos["sig"], 3)
        for key in ("without", "with"):
            self.mels[key].append(mel[key])
            if ref_mel is not None:
                row[f"mcd_mel_{key}"] = round(mel_cepstral_distance_dtw(mel[key], ref_mel), 3)
                found = mcd_dtw(wavs[key], ref_wav, sr)
                if found is not None:
                    row[f"mcd_dtw_{key}"], self.mcd_impl = round(found[0], 3), found[1]
            if self.use_dnsmos:
                mos = dnsmos(wavs[key], sr)
                if mos is not None:
                    row[f"dnsmos_ovrl_{key}"] = round(mos["ovrl"], 3)
                    row[f"dnsmos_sig_{key}"] = round(mos["sig"], 3)
            if self.recognizer is not None:
                hyp = self.recognizer.transcribe(wavs[key], sr)
                row[f"asr_{key}"] = hyp
                self.hyps[key].append(hyp)
        self.rows.append(row)

    def report(self, **facts) -> dict:
        """{"overall": figures with and without, goals, per-band GV differences, "sentences": rows}."""
        rows, mels = self.rows, self.mels
        overall: dict = {"sentences": len(rows), **facts, "polisher": self.pol.name, "vocoder": self.voc.name,
                         "polisher_rtf": round(self.polish_s / max(self.audio_s, 1e-9), 5)}
        for key in ("without", "with"):
            out: dict = {}
            if mels["natural"]:
                out["gv_gap"] = round(gv_gap(mels[key], mels["natural"]), 4)
                out["gv_log_diff_mean"] = round(float(log_gv_difference(mels[key], mels["natural"]).mean()), 4)
            for metric in ("mcd_dtw", "mcd_mel", "dnsmos_ovrl", "dnsmos_sig"):
                vals = [r[f"{metric}_{key}"] for r in rows if f"{metric}_{key}" in r]
                if vals:
                    out[metric] = round(float(np.mean(vals)), 4)
            if self.recognizer is not None:
                from engine.evaluation.wer import wer

                out["wer"] = round(wer([r["text"] for r in rows], self.hyps[key]), 4)
            overall[key] = out
        teacher_mos = [r["teacher_dnsmos_ovrl"] for r in rows if "teacher_dnsmos_ovrl" in r]
        if teacher_mos:
            overall["teacher_dnsmos_ovrl"] = round(float(np.mean(teacher_mos)), 4)
            overall["teacher_dnsmos_sig"] = round(float(np.mean([r["teacher_dnsmos_sig"] for r in rows])), 4)
        if self.mcd_impl:
            overall["mcd_implementation"] = self.mcd_impl
        w, p = overall["without"], overall["with"]
        goals = {}
        if "gv_gap" in w:
            goals["gv_gap_halved"] = p["gv_gap"] <= 0.5 * w["gv_gap"]
        if "dnsmos_ovrl" in w:
            goals["dnsmos_ovrl_plus_0.1"] = p["dnsmos_ovrl"] >= w["dnsmos_ovrl"] + 0.1
        if "mcd_dtw" in w:
            goals["mcd_at_most_0.2_worse"] = p["mcd_dtw"] <= w["mcd_dtw"] + 0.2
        if "wer" in w:
            goals["wer_at_most_1.1x"] = p["wer"] <= 1.1 * w["wer"] + 1e-9
        overall["goals"] = goals
        overall["seconds"] = round(time.perf_counter() - self.start, 1)
        if mels["natural"]:
            overall["gv_log_diff_per_band"] = {
                key: [round(float(x), 3) for x in log_gv_difference(mels[key], mels["natural"])]
                for key in ("without", "with")}
        return {"overall": overall, "sentences": rows}


def evaluate_polisher(polisher: str | None = None, partner: str = "default", sentences: list[tuple[str, str]] | None = None,
                      limit: int = 10, vocoder: str = "griffinlim", asr: bool = True, use_dnsmos: bool = True,
                      teacher: str | None = None, device: str = "cpu", seed: int = 0, progress=None) -> dict:
    """Compare the partner's mels with and without polishing on held-out sentences (default: the first
    `limit` of the 100 held-out ARCTIC prompts). `polisher`: NAME/DIR (default: the one made for `partner`).
    Natural speech = the teacher voice rendering the same sentences."""
    import torch

    from engine.data.prompts import held_out_prompts
    from engine.evaluation.tts_eval import render_teacher
    from engine.inference.pipeline import Pipeline
    from engine.inference.polisher import load_polisher
    from engine.inference.synthesizer import SpeakRequest, Synthesizer
    from engine.inference.vocoder import load_vocoder

    torch.manual_seed(seed)
    if sentences is None:
        sentences = [(p.id, p.text) for p in held_out_prompts()]
    if limit:
        sentences = sentences[:limit]
    synth = Synthesizer(partner, device=device, seed=seed)
    pol = load_polisher(synth.name, spec=polisher, device=synth.device)
    voc = load_vocoder(vocoder, synth.audio, synth.device)
    teacher = teacher or synth.bundle.config.get("teacher") or None
    compare = PolishComparison(pol, voc, synth.audio, asr=asr, use_dnsmos=use_dnsmos)
    for uid, text in sentences:
        take = Pipeline(synth, voc).render(SpeakRequest(text))
        ref_wav = render_teacher(teacher, text, synth.audio.sample_rate) if teacher else None
        compare.add(take, {"id": uid, "text": text}, ref_wav)
        if progress:
            progress(len(compare.rows), len(sentences))
    return compare.report(partner=synth.name, teacher=teacher)


def evaluate_vc_polisher(converter, polisher: str | None, corpus, limit: int = 10, vocoder: str = "griffinlim",
                         asr: bool = True, use_dnsmos: bool = True, speakers: list[str] | None = None,
                         progress=None) -> dict:
    """The same comparison for a converter: the held-out prompts of each source voice of a parallel
    corpus (default: the converter's seen and unseen voices, `limit` prompts each) converted, with and
    without polishing; natural speech = the target voice's own recording of the same prompt."""
    from engine.audio.io import load_audio
    from engine.evaluation.vc_eval import held_out_items
    from engine.inference.pipeline import Pipeline
    from engine.inference.polisher import load_polisher
    from engine.inference.vocoder import load_vocoder
    from engine.models.vc.adapter import ConvertRequest

    cfg = converter.cfg
    pol = load_polisher(converter.name, spec=polisher, device=converter.device)
    voc = vocoder if hasattr(vocoder, "vocode_batch") else load_vocoder(vocoder, converter.audio, converter.device)
    speakers = list(speakers if speakers is not None else [*cfg.sources, *cfg.unseen])
    items = held_out_items(corpus, speakers, cfg.target, limit, cfg.held_out)
    compare = PolishComparison(pol, voc, converter.audio, asr=asr, use_dnsmos=use_dnsmos)
    sr = converter.audio.sample_rate
    for it in items:
        take = Pipeline(converter, voc).render(ConvertRequest(it["source"], text=""))
        ref_wav, _ = load_audio(it["target"], sr)
        compare.add(take, {"id": it["id"], "speaker": it["speaker"], "text": it["text"],
                           "seen": it["speaker"] in cfg.sources}, ref_wav)
        if progress:
            progress(len(compare.rows), len(items))
    return compare.report(partner=converter.name, teacher=cfg.target)
