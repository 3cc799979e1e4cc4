"""A loaded converter as a pipeline source (engine.inference.pipeline): a recording -> segments split at
pauses -> log-mel in the target voice, streamed chunk by chunk like synthesis.

    src = ConverterSource("default-vc")
    take = Pipeline(src, vocoder).render(ConvertRequest("me.wav"))
    for ev in src.decode_stream(ConvertRequest("me.wav")): ...   # ChunkEvent / SegmentDone

Any format soundfile reads, any sample rate, mono or multichannel (averaged), any length: recordings
longer than `max_segment_s` are cut at their longest pauses (and, without a pause, at the quietest
moment) and the pipeline joins the converted pieces.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from engine.alignment import alignment_complete
from engine.audio.features import log_mel_spectrogram
from engine.audio.io import load_audio, mono_at_rate
from engine.audio.trim import has_sound, trim_silence
from engine.bundle import Bundle, load_bundle
from engine.errors import BadInput
from engine.inference.device import pick_device
from engine.inference.synthesizer import ChunkEvent, SegmentDone, SegmentResult, SynthesisResult
from engine.models.registry import build_model
from engine.models.vc.candidates import consistency_scores, pick, source_phonemes

DEFAULT_CANDIDATES = 2
"""Decodings drawn per segment, the one the encoder hears best kept (engine.models.vc.candidates)."""
CANDIDATE_SEED_STRIDE = 1000
"""Draw k of a segment uses prenet-dropout seed `seed + segment index + k x stride` (draw 0 = one draw)."""


@dataclass
class ConvertRequest:
    """What the pipeline asks of a converter: a recording (a path, or samples and their rate)."""

    path: str | os.PathLike | None = None
    wav: np.ndarray | None = None
    sample_rate: int | None = None
    text: str = ""
    """What is said, when known (shown with the take; not used for conversion)."""
    source: str = field(default="")
    """Shown as the take's source: the recording's path (set from `path` when empty)."""

    def __post_init__(self) -> None:
        if not self.source:
            self.source = str(self.path) if self.path is not None else "recording"


@dataclass
class AudioSegment:
    """One piece of the recording between pauses."""

    index: int
    text: str
    """Its place in the recording, e.g. '0.00-3.41 s' (the transcript when the request has one)."""
    ids: list[int]
    """Encoder step indices (what the attention reads, like a sentence's symbol ids)."""
    tokens: list[str]
    """One label per encoder step: its time in the recording."""
    log_mel: torch.Tensor
    """(n_mels, T) source log-mel (trimmed)."""
    start_s: float
    end_s: float


def split_at_pauses(wav: np.ndarray, sr: int, max_segment_s: float = 8.0, min_pause_s: float = 0.25,
                    top_db: float = 40.0) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the speech, cut only at pauses and at most `max_segment_s` long
    where the recording allows (a longer stretch without any pause is cut at its quietest 20 ms)."""
    import librosa

    intervals = librosa.effects.split(wav, top_db=top_db, frame_length=1024, hop_length=256)
    if len(intervals) == 0:
        return []
    merged = [list(intervals[0])]
    for s, e in intervals[1:]:
        if s - merged[-1][1] < min_pause_s * sr:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    limit = int(max_segment_s * sr)
    pieces: list[list[int]] = []
    for s, e in merged:  # a stretch without pauses, longer than the limit: cut at quiet moments
        while e - s > limit:
            hop = sr // 50
            lo, hi = s + limit // 2, s + limit
            frames = wav[lo:hi][: (hi - lo) // hop * hop].reshape(-1, hop)
            cut = lo + int(np.argmin((frames**2).mean(axis=1))) * hop + hop // 2
            pieces.append([s, cut])
            s = cut
        pieces.append([s, e])
    segments: list[list[int]] = []
    for s, e in pieces:  # join neighbours while the result stays under the limit
        if segments and e - segments[-1][0] <= limit:
            segments[-1][1] = e
        else:
            segments.append([s, e])
    margin = int(0.05 * sr)
    return [(max(0, s - margin), min(len(wav), e + margin)) for s, e in segments]


class ConverterSource:
    """A loaded converter bundle on a device (the pipeline's source protocol)."""

    def __init__(self, model: str | os.PathLike | Bundle = "default-vc", device: str = "auto", seed: int = 0,
                 threads: int | None = None, max_segment_s: float = 8.0,
                 candidates: int = DEFAULT_CANDIDATES) -> None:
        self.bundle = model if isinstance(model, Bundle) else load_bundle(model, kind="vc")
        self.device = pick_device(device)
        if threads:
            torch.set_num_threads(threads)
        self.model = build_model(self.bundle, self.device)
        self.cfg = self.model.cfg
        self.audio = self.cfg.audio
        self.seed = seed
        self.max_segment_s = max_segment_s
        if int(candidates) < 1:
            raise BadInput(f"candidates must be at least 1, not {candidates}")
        self.candidates = int(candidates)

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def reduction(self) -> int:
        return 2 ** self.cfg.pyramid_layers

    # ----- the pipeline's source protocol -------------------------------------------------------
    def load(self, request: ConvertRequest) -> np.ndarray:
        """The request's recording as mono float32 at the model's rate; BadInput when unusable."""
        sr = self.audio.sample_rate
        if request.wav is not None:
            if not request.sample_rate:
                raise BadInput("a recording given as samples needs its sample rate")
            wav = np.asarray(request.wav, dtype=np.float32)
            if wav.ndim == 2 and wav.shape[0] < wav.shape[1]:  # (channels, T), as some callers give it
                wav = wav.T
            wav, _ = mono_at_rate(wav, int(request.sample_rate), sr)
        elif request.path is not None:
            wav, _ = load_audio(request.path, sr)
        else:
            raise BadInput("nothing to convert: give a recording")
        if not has_sound(wav):
            raise BadInput("the recording is silent (its peak is below -60 dBFS): record or choose one with speech")
        return wav

    def prepare(self, request: ConvertRequest) -> list[AudioSegment]:
        wav = self.load(request)
        sr = self.audio.sample_rate
        segments = []
        for s, e in split_at_pauses(wav, sr, self.max_segment_s):
            piece = trim_silence(wav[s:e], self.audio)
            if len(piece) < 0.2 * sr:
                continue
            mel = log_mel_spectrogram(torch.from_numpy(np.ascontiguousarray(piece)), self.audio).float()
            n_enc = -(-mel.shape[-1] // self.reduction)
            tokens = [f"{s / sr + i * self.reduction * self.audio.hop_length / sr:.2f}s" for i in range(n_enc)]
            label = f"{s / sr:.2f}-{e / sr:.2f} s"
            segments.append(AudioSegment(len(segments), label, list(range(n_enc)), tokens, mel, s / sr, e / sr))
        if not segments:
            raise BadInput("the recording holds no speech longer than 0.2 s: record or choose one with speech")
        if request.text and len(segments) == 1:
            segments[0].text = request.text
        return segments

    def style_info(self, request: ConvertRequest) -> tuple[str, list[float] | None]:
        return f"converted to {self.cfg.target or 'the target voice'}", None

    def _batch(self, segs: list[AudioSegment]):
        lengths = torch.tensor([s.log_mel.shape[-1] for s in segs])
        mels = torch.zeros(len(segs), self.cfg.n_mels, int(lengths.max()))
        for i, s in enumerate(segs):
            mels[i, :, : s.log_mel.shape[-1]] = s.log_mel
        mels, lengths = mels.to(self.device), lengths.to(self.device)
        return self.model.normalize_source(mels, lengths), lengths

    def _finish(self, seg: AudioSegment, mels, aligns, last, item: int) -> SegmentResult:
        total_steps = sum(a.shape[1] for a in aligns)
        n_steps = int(last.stopped_at[item]) or total_steps
        mel = torch.cat([m[item : item + 1] for m in mels], dim=-1)[..., : n_steps * self.cfg.r]
        mel = self.model.postprocess(mel)[0]
        align = torch.cat([a[item] for a in aligns], dim=0)[:n_steps, : len(seg.ids)].float().cpu().numpy()
        return SegmentResult(seg.index, seg.text, seg.tokens, mel.float().cpu().numpy(), align,
                             stop_reached=bool(last.stop_fired[item]), alignment_complete=alignment_complete(align))

    def _seeds(self, seg: AudioSegment) -> list[int]:
        return [self.seed + seg.index + CANDIDATE_SEED_STRIDE * k for k in range(self.candidates)]

    def _choose(self, segs: list[AudioSegment], src, lengths, mels, aligns, last) -> list[SegmentResult]:
        """Each segment's draws (items i x candidates + k of the batch) -> the one kept per segment."""
        n = self.candidates
        draws = [[self._finish(seg, mels, aligns, last, i * n + k) for k in range(n)] for i, seg in enumerate(segs)]
        if n == 1:
            return [d[0] for d in draws]
        labels = source_phonemes(self.model, src[::n], lengths[::n])
        chosen = []
        for seg_draws, seg_labels in zip(draws, labels):
            scores = consistency_scores(self.model, [torch.from_numpy(d.mel).to(self.device) for d in seg_draws],
                                        seg_labels)
            chosen.append(seg_draws[pick(scores, [d.alignment_complete for d in seg_draws])])
        return chosen

    def decode_stream(self, request: ConvertRequest, segments: list[AudioSegment] | None = None, cancel=None,
                      chunk_steps: int = 4) -> Iterator[ChunkEvent | SegmentDone]:
        """Segment by segment: ChunkEvents as frames arrive (of the first draw, when there are several),
        then a SegmentDone with the postnet mel of the draw kept."""
        segs = segments if segments is not None else self.prepare(request)
        start = time.perf_counter()
        for seg in segs:
            src, lengths = self._batch([seg] * self.candidates)
            mels, aligns, chunk = [], [], None
            for chunk in self.model.generate(src, lengths, chunk_steps=chunk_steps, cancel=cancel,
                                             seeds=self._seeds(seg)):
                mels.append(chunk.mel)
                aligns.append(chunk.alignment)
                yield ChunkEvent(seg.index, chunk.mel[0].float().cpu().numpy(),
                                 chunk.alignment[0, :, : len(seg.ids)].float().cpu().numpy(),
                                 chunk.stop_prob[0].float().cpu().numpy(), time.perf_counter() - start)
            if cancel is not None and cancel():
                return
            result = self._choose([seg], src, lengths, mels, aligns, chunk)[0]
            yield SegmentDone(result, time.perf_counter() - start)

    def render_mels(self, request: ConvertRequest, cancel=None, max_batch: int = 8,
                    segments: list[AudioSegment] | None = None) -> SynthesisResult:
        """All segments in length-sorted batches of `max_batch` segments (each with its draws); results
        in recording order."""
        segs = segments if segments is not None else self.prepare(request)
        start = time.perf_counter()
        results: list[SegmentResult] = []
        order = sorted(segs, key=lambda s: s.log_mel.shape[-1])
        for i in range(0, len(order), max_batch):
            group = order[i : i + max_batch]
            src, lengths = self._batch([seg for seg in group for _ in range(self.candidates)])
            mels, aligns, chunk = [], [], None
            for chunk in self.model.generate(src, lengths, chunk_steps=64, cancel=cancel,
                                             seeds=[s for seg in group for s in self._seeds(seg)]):
                mels.append(chunk.mel)
                aligns.append(chunk.alignment)
            if cancel is not None and cancel():
                return SynthesisResult(sorted(results, key=lambda r: r.index), time.perf_counter() - start,
                                       cancelled=True)
            results += self._choose(group, src, lengths, mels, aligns, chunk)
        results.sort(key=lambda r: r.index)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return SynthesisResult(results, time.perf_counter() - start)

    def convert_file(self, path: str | os.PathLike, vocoder=None, polisher=None):
        """Convenience: one recording -> a Take (Griffin-Lim unless a vocoder is given)."""
        from engine.inference.pipeline import Pipeline
        from engine.inference.vocoder import load_vocoder

        vocoder = vocoder or load_vocoder("griffinlim", self.audio, self.device)
        return Pipeline(self, vocoder, polisher).render(ConvertRequest(Path(path)))
