"""Text -> mel with a Tacotron voice, streamed chunk by chunk.

    synth = Synthesizer("default")
    for event in synth.stream("Hello there. How are you?"):     # live: sentence by sentence
        ...  # ChunkEvent (mel frames + attention rows + stop probabilities) / SegmentDone
    result = synth.synthesize("Hello there. How are you?")      # batch: all sentences at once

Sentences are decoded with per-sentence seeds, so streaming and batch give the same numbers.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from engine.audio.io import load_audio
from engine.audio.trim import has_sound, trim_silence
from engine.audio.features import log_mel_spectrogram
from engine.bundle import Bundle, load_bundle
from engine.errors import BadInput
from engine.alignment import alignment_complete
from engine.inference.device import pick_device
from engine.models.registry import build_model
from engine.text import SymbolSet, split_sentences


MAX_TEXT_CHARS = 20_000
"""The longest text one synthesis request takes."""
REFERENCE_MAX_S = 30.0
"""A style reference clip is read up to this length (the style of a longer one is that of its start)."""


@dataclass
class Segment:
    """One sentence of the input: its text, symbol ids and display tokens (same length)."""

    index: int
    text: str
    ids: list[int]
    tokens: list[str]


@dataclass
class Style:
    """How the next synthesis is styled: a reference clip's log-mel, explicit token weights, or
    (both None) the voice's default style."""

    reference_mel: torch.Tensor | None = None
    """(n_mels, T) denormalised log-mel of a reference clip."""
    weights: list[float] | None = None
    """One weight per style token."""
    source: str = "default"
    """What the style came from (a clip's name, 'sliders', 'default')."""

    def describe(self) -> str:
        if self.weights is not None:
            return "weights " + ",".join(f"{w:.2f}" for w in self.weights)
        return self.source


@dataclass
class SpeakRequest:
    """What the pipeline asks of a voice: text, and how to style and voice it."""

    text: str
    style: Style | None = None
    speaker: str | int | None = None
    source: str = "text"


@dataclass
class ChunkEvent:
    """Decoder output since the last chunk for one sentence.

    mel: (n_mels, k * r) log-mel before the postnet; alignment: (k, T_text); stop_prob: (k,)."""

    segment: int
    mel: np.ndarray
    alignment: np.ndarray
    stop_prob: np.ndarray
    elapsed_s: float


@dataclass
class SegmentResult:
    index: int
    text: str
    tokens: list[str]
    mel: np.ndarray
    """(n_mels, T_frames) final log-mel (after the postnet)."""
    alignment: np.ndarray
    """(T_steps, T_text) attention."""
    stop_reached: bool
    alignment_complete: bool

    @property
    def frames(self) -> int:
        return int(self.mel.shape[-1])

    def summary(self) -> dict:
        return {"text": self.text, "input_symbols": len(self.tokens), "frames": self.frames,
                "stop_reached": self.stop_reached, "alignment_complete": self.alignment_complete}


@dataclass
class SynthesisResult:
    segments: list[SegmentResult]
    synthesis_s: float
    cancelled: bool = False
    token_weights: list[float] | None = None

    @property
    def mel(self) -> np.ndarray:
        return np.concatenate([s.mel for s in self.segments], axis=-1) if self.segments else np.zeros((0, 0))


@dataclass
class SegmentDone:
    result: SegmentResult
    elapsed_s: float


class Synthesizer:
    """A loaded Tacotron voice on a device."""

    def __init__(self, model: str | os.PathLike | Bundle = "default", device: str = "auto", seed: int = 0,
                 threads: int | None = None) -> None:
        self.bundle = model if isinstance(model, Bundle) else load_bundle(model, kind="tacotron")
        self.device = pick_device(device)
        if threads:
            torch.set_num_threads(threads)
        self.model = build_model(self.bundle, self.device)
        self.cfg = self.model.cfg
        self.audio = self.cfg.audio
        self.symbols = SymbolSet.from_dict(self.cfg.symbols)
        self.seed = seed

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def n_style_tokens(self) -> int:
        return self.cfg.gst_tokens

    @property
    def speakers(self) -> list[str]:
        return list(self.cfg.speakers)

    def default_token_weights(self) -> list[float]:
        if not self.model.has_gst:
            return []
        return [float(w) for w in self.model.gst_default_weights.cpu()]

    # ----- text ----------------------------------------------------------------------------------
    def segments(self, text: str) -> list[Segment]:
        """Split into sentences and encode; BadInput for empty or unspeakable text."""
        if not text or not text.strip():
            raise BadInput("text is empty: type something to say")
        if len(text) > MAX_TEXT_CHARS:
            raise BadInput(f"text is {len(text):,} characters long; one request takes at most {MAX_TEXT_CHARS:,} "
                           "(about 20 minutes of speech): split it into parts")
        out = []
        for sentence in split_sentences(text):
            ids = self.symbols.encode(sentence)
            if len(ids) <= 1:
                continue
            out.append(Segment(len(out), sentence, ids, self.symbols.tokens(sentence)))
        if not out:
            raise BadInput("nothing to say: the text has no speakable words")
        return out

    # ----- style ---------------------------------------------------------------------------------
    def reference_from_file(self, path: str | os.PathLike) -> Style:
        """Load a clip as a style reference (any format soundfile reads)."""
        wav, _ = load_audio(path, self.audio.sample_rate, max_seconds=REFERENCE_MAX_S)
        if not has_sound(wav):
            raise BadInput(f"reference clip {Path(path).name} holds no sound (it is silent): use a clip of speech")
        wav = trim_silence(wav, self.audio)
        if len(wav) < self.audio.sample_rate * 0.3:
            raise BadInput(f"reference clip {Path(path).name} is shorter than 0.3 s of sound: use a longer clip")
        return Style(reference_mel=log_mel_spectrogram(wav, self.audio), source=Path(path).name)

    @torch.inference_mode()
    def style_vector(self, style: Style | None, batch: int) -> tuple[torch.Tensor | None, list[float] | None]:
        """-> (style embedding (batch, gst_dim) or None, token weights shown to the user)."""
        if not self.model.has_gst:
            return None, None
        if style is None or (style.reference_mel is None and style.weights is None):
            w = self.model.gst_default_weights
            return self.model.default_style(batch), [float(x) for x in w]
        if style.reference_mel is not None:
            mel = self.model.normalize(style.reference_mel.to(self.device)[None].float())
            emb, weights = self.model.style_from_reference(mel)
            return emb.expand(batch, -1), [float(x) for x in weights[0].mean(dim=0)]
        w = torch.tensor(style.weights, dtype=torch.float32, device=self.device)
        if w.numel() != self.cfg.gst_tokens:
            raise BadInput(f"--style-weights needs {self.cfg.gst_tokens} values for this voice, got {w.numel()}")
        return self.model.style_from_weights(w[None]).expand(batch, -1), [float(x) for x in w]

    def speaker_ids(self, speaker: str | int | None, batch: int) -> torch.Tensor | None:
        if len(self.cfg.speakers) <= 1:
            if speaker not in (None, "", 0, "0") and str(speaker) not in self.cfg.speakers:
                raise BadInput(f"this voice has one speaker ({', '.join(self.cfg.speakers) or 'default'})")
            return None
        if speaker is None or speaker == "":
            idx = 0
        elif str(speaker) in self.cfg.speakers:
            idx = self.cfg.speakers.index(str(speaker))
        elif str(speaker).isdigit() and int(speaker) < len(self.cfg.speakers):
            idx = int(speaker)
        else:
            raise BadInput(f"unknown speaker {speaker!r}: this voice has {', '.join(self.cfg.speakers)}")
        return torch.full((batch,), idx, dtype=torch.long, device=self.device)

    # ----- the pipeline's source protocol (engine.inference.pipeline) ---------------------------
    def prepare(self, request: SpeakRequest) -> list[Segment]:
        segs = self.segments(request.text)
        self.speaker_ids(request.speaker, 1)  # a bad speaker fails before decoding starts
        return segs

    def style_info(self, request: SpeakRequest) -> tuple[str, list[float] | None]:
        """(what the style came from, the token weights used) for the take."""
        style = request.style
        _, weights = self.style_vector(style, 1)
        if style is None or (style.reference_mel is None and style.weights is None):
            return "default style", weights
        if style.reference_mel is not None:
            return f"clip {style.source}", weights
        label = "sliders" if style.source == "sliders" else "weights"
        return label + " " + ",".join(f"{w:.2f}" for w in style.weights), weights

    def decode_stream(self, request: SpeakRequest, segments=None, cancel=None, chunk_steps: int = 4):
        return self.stream(request.text, style=request.style, speaker=request.speaker, chunk_steps=chunk_steps,
                           cancel=cancel, segments=segments)

    def render_mels(self, request: SpeakRequest, cancel=None, segments=None) -> "SynthesisResult":
        return self.synthesize(request.text, style=request.style, speaker=request.speaker, cancel=cancel,
                               segments=segments)

    # ----- decoding ------------------------------------------------------------------------------
    def _batch(self, segs: list[Segment]):
        lengths = torch.tensor([len(s.ids) for s in segs], device=self.device)
        symbols = torch.zeros(len(segs), int(lengths.max()), dtype=torch.long, device=self.device)
        for i, s in enumerate(segs):
            symbols[i, : len(s.ids)] = torch.tensor(s.ids, device=self.device)
        return symbols, lengths

    def _finish(self, seg: Segment, mels: list[torch.Tensor], aligns: list[torch.Tensor],
                last: "DecoderChunk", item: int) -> SegmentResult:
        """Cut one item of a (batched) decode at the step it stopped and run the postnet."""
        total_steps = sum(a.shape[1] for a in aligns)
        n_steps = int(last.stopped_at[item]) or total_steps
        r = self.cfg.r
        mel = torch.cat([m[item : item + 1] for m in mels], dim=-1)[..., : n_steps * r]
        mel = self.model.postprocess(mel)[0]
        align = torch.cat([a[item] for a in aligns], dim=0)[:n_steps, : len(seg.ids)].float().cpu().numpy()
        return SegmentResult(seg.index, seg.text, seg.tokens, mel.float().cpu().numpy(), align,
                             stop_reached=bool(last.stop_fired[item]), alignment_complete=alignment_complete(align))

    def stream(self, text: str, style: Style | None = None, speaker=None, chunk_steps: int = 4,
               cancel=None, segments: list[Segment] | None = None) -> Iterator[ChunkEvent | SegmentDone]:
        """Decode sentence by sentence, yielding ChunkEvents as frames arrive and a SegmentDone
        after each sentence (with its postnet mel)."""
        segs = segments or self.segments(text)
        start = time.perf_counter()
        emb, _ = self.style_vector(style, 1)
        spk = self.speaker_ids(speaker, 1)
        for seg in segs:
            symbols, lengths = self._batch([seg])
            mels, aligns, chunk = [], [], None
            for chunk in self.model.generate(symbols, lengths, style=emb, speaker_ids=spk, chunk_steps=chunk_steps,
                                             cancel=cancel, seeds=[self.seed + seg.index]):
                mels.append(chunk.mel)
                aligns.append(chunk.alignment)
                yield ChunkEvent(seg.index, chunk.mel[0].float().cpu().numpy(),
                                 chunk.alignment[0].float().cpu().numpy(), chunk.stop_prob[0].float().cpu().numpy(),
                                 time.perf_counter() - start)
            if cancel is not None and cancel():
                return
            yield SegmentDone(self._finish(seg, mels, aligns, chunk, 0), time.perf_counter() - start)

    def synthesize(self, text: str, style: Style | None = None, speaker=None, cancel=None,
                   max_batch: int = 16, segments: list[Segment] | None = None) -> SynthesisResult:
        """Decode all sentences (or the given `segments` of the text) as batches; returns the final mels,
        alignments and flags."""
        segs = segments if segments is not None else self.segments(text)
        start = time.perf_counter()
        results: list[SegmentResult] = []
        weights = None
        # Sort by length so a batch holds similar lengths; results go back in text order.
        order = sorted(segs, key=lambda s: len(s.ids))
        for i in range(0, len(order), max_batch):
            group = order[i : i + max_batch]
            symbols, lengths = self._batch(group)
            emb, weights = self.style_vector(style, len(group))
            spk = self.speaker_ids(speaker, len(group))
            mels, aligns, chunk = [], [], None
            for chunk in self.model.generate(symbols, lengths, style=emb, speaker_ids=spk, chunk_steps=64,
                                             cancel=cancel, seeds=[self.seed + s.index for s in group]):
                mels.append(chunk.mel)
                aligns.append(chunk.alignment)
            if cancel is not None and cancel():
                return SynthesisResult(sorted(results, key=lambda r: r.index), time.perf_counter() - start,
                                       cancelled=True, token_weights=weights)
            results += [self._finish(seg, mels, aligns, chunk, j) for j, seg in enumerate(group)]
        results.sort(key=lambda r: r.index)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return SynthesisResult(results, time.perf_counter() - start, token_weights=weights)
