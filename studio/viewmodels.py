"""Small objects fed by the workers' signals; the views draw from them.

`TakeViewModel` holds what the three live views show for the current job or the selected take:

- the spectrogram: (n_mels, frames), sentences joined with the same silent gap as the audio, so the
  spectrogram and the waveform share one time axis;
- the alignment: (decoder steps, input symbols), sentences placed block-diagonally, with the input
  symbols as axis labels;
- the waveform: the audio made so far (sentences joined with gaps).

Updates are cheap numpy work; the views are told at most `fps` times a second (`changed`), or at once
with `flush()`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.inference.pipeline import SENTENCE_GAP_S


class TakeViewModel(QObject):
    changed = Signal(set)
    """Which parts changed: {"mel", "alignment", "wave"}."""

    def __init__(self, parent=None, fps: float = 25.0) -> None:
        super().__init__(parent)
        self.audio = None
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._interval = int(1000 / fps)
        self._timer.timeout.connect(self._tick)
        self.clear()

    # ----- state ---------------------------------------------------------------------------------
    def clear(self) -> None:
        self.tokens: list[list[str]] = []  # per sentence
        self.mels: list[np.ndarray | list[np.ndarray]] = []  # per sentence: final array or live chunks
        self.befores: list[np.ndarray] | None = None  # per sentence, the mel before polishing (a polished take)
        self.aligns: list[np.ndarray | list[np.ndarray]] = []
        self.wavs: dict = {}  # sentence index -> list of audio chunks so far; "take" -> a take's audio
        self.sample_rate = self.audio.sample_rate if self.audio is not None else 0
        self.live = False
        self._mark("mel", "alignment", "wave")

    def set_audio(self, audio) -> None:
        """The voice's audio configuration (its hop sets the views' time axes): what is shown is drawn
        again with it (a take listed at startup can be shown before the voice has loaded)."""
        self.audio = audio
        self.sample_rate = audio.sample_rate
        if self.mels or self.wavs:
            self._mark("mel", "alignment", "wave")

    @property
    def gap_frames(self) -> int:
        return int(round(SENTENCE_GAP_S * self.audio.sample_rate / self.audio.hop_length)) if self.audio else 0

    # ----- live ----------------------------------------------------------------------------------
    def begin(self, segments) -> None:
        """A job started: its sentences' display tokens are known, nothing decoded yet."""
        self.clear()
        self.live = True
        self.tokens = [list(s.tokens) for s in segments]
        self.mels = [[] for _ in segments]
        self.aligns = [[] for _ in segments]

    def append_chunk(self, ev) -> None:
        if ev.segment < len(self.mels) and isinstance(self.mels[ev.segment], list):
            self.mels[ev.segment].append(ev.mel)
            self.aligns[ev.segment].append(ev.alignment)
            self._mark("mel", "alignment")

    def finish_segment(self, result) -> None:
        """A sentence is done: its live frames are replaced by the final (postnet) mel."""
        if result.index < len(self.mels):
            self.mels[result.index] = result.mel
            self.aligns[result.index] = result.alignment
            self.tokens[result.index] = list(result.tokens)
            self._mark("mel", "alignment")

    def set_segment_audio(self, index: int, wav: np.ndarray) -> None:
        self.wavs[index] = [wav]
        self._mark("wave")

    def append_audio(self, index: int, wav: np.ndarray) -> None:
        """A chunk of sentence `index`'s audio, as the vocoder streams it."""
        if len(wav):
            self.wavs.setdefault(index, []).append(wav)
            self._mark("wave")

    def audio_samples(self) -> int:
        """Samples of audio made so far in the live job (or of the shown take)."""
        if "take" in self.wavs:
            return len(self.wavs["take"])
        return sum(len(c) for chunks in self.wavs.values() for c in chunks)

    def end_live(self) -> None:
        self.live = False
        self._mark()

    def show_take(self, take) -> None:
        """Replace everything with a finished take (its final mels, alignments and audio)."""
        self.clear()
        self.sample_rate = take.sample_rate
        self.tokens = [list(s.tokens) for s in take.segments]
        self.mels = [s.mel for s in take.segments]
        self.befores = getattr(take, "mels_before_polish", None)
        self.aligns = [s.alignment for s in take.segments]
        self.wavs = {"take": take.wav}
        self._mark("mel", "alignment", "wave")

    # ----- what the views read -------------------------------------------------------------------
    @property
    def has_before(self) -> bool:
        """The shown take was polished and the mel before polishing is known."""
        return bool(self.befores) and not self.live

    def mel(self, before_polish: bool = False) -> np.ndarray:
        """(n_mels, frames) of everything so far, sentences separated by silent gaps; with before_polish
        (a polished take), the mel as the model made it."""
        n_mels = self.audio.n_mels if self.audio else 80
        parts = []
        floor = float(np.log(self.audio.log_floor)) if self.audio else -11.5
        mels = self.befores if (before_polish and self.has_before) else self.mels
        for i, m in enumerate(mels):
            m = np.concatenate(m, axis=-1) if isinstance(m, list) and m else m
            if isinstance(m, list):  # nothing decoded yet
                break
            if i:
                parts.append(np.full((n_mels, self.gap_frames), floor, dtype=np.float32))
            parts.append(m)
        return np.concatenate(parts, axis=-1) if parts else np.zeros((n_mels, 0), dtype=np.float32)

    def alignment(self) -> tuple[np.ndarray, list[str]]:
        """(steps, symbols) with sentences block-diagonal, and the symbols' labels."""
        blocks = []
        for a in self.aligns:
            a = np.concatenate(a, axis=0) if isinstance(a, list) and a else a
            if isinstance(a, list):
                break
            blocks.append(a)
        tokens = [t for seg in self.tokens for t in seg]
        steps = sum(b.shape[0] for b in blocks)
        out = np.zeros((steps, len(tokens)), dtype=np.float32)
        r = c = 0
        for b, toks in zip(blocks, self.tokens):
            w = min(b.shape[1], len(toks))
            out[r : r + b.shape[0], c : c + w] = b[:, :w]
            r += b.shape[0]
            c += len(toks)
        return out, tokens

    def time_map(self) -> list[tuple[float, float, int, int]]:
        """(t0, t1, step0, step1) per sentence drawn so far: where its frames lie on the time axis
        (sentences joined with gaps, as in mel()) and which decoder steps made them (as in alignment())."""
        if not self.audio:
            return []
        frame_s = self.audio.hop_length / self.audio.sample_rate
        out, frames, steps = [], 0, 0
        for i, (m, a) in enumerate(zip(self.mels, self.aligns)):
            n_frames = sum(x.shape[-1] for x in m) if isinstance(m, list) else m.shape[-1]
            n_steps = sum(x.shape[0] for x in a) if isinstance(a, list) else a.shape[0]
            if not n_frames or not n_steps:
                break
            if i:
                frames += self.gap_frames
            out.append((frames * frame_s, (frames + n_frames) * frame_s, steps, steps + n_steps))
            frames += n_frames
            steps += n_steps
        return out

    def wave(self) -> np.ndarray:
        if "take" in self.wavs:
            return self.wavs["take"]
        if not self.wavs or not self.sample_rate:
            return np.zeros(0, dtype=np.float32)
        gap = np.zeros(int(SENTENCE_GAP_S * self.sample_rate), dtype=np.float32)
        parts = []
        for i in range(max(self.wavs) + 1):
            if i:
                parts.append(gap)
            if i in self.wavs:
                parts.extend(self.wavs[i])
            elif i < len(self.mels) and not isinstance(self.mels[i], list):
                # decoded but not yet vocoded: keep the time axis honest with silence
                parts.append(np.zeros(self.mels[i].shape[-1] * self.audio.hop_length, dtype=np.float32))
        return np.concatenate(parts)

    # ----- change notification -------------------------------------------------------------------
    def _mark(self, *parts: str) -> None:
        self._dirty.update(parts)
        if not self._timer.isActive():
            self._timer.start(self._interval)

    def _tick(self) -> None:
        """Timer path: tell the views about one part per event-loop turn, so no single turn paints
        all three views (a shorter longest pause of the GUI thread)."""
        for part in ("mel", "alignment", "wave"):
            if part in self._dirty:
                self._dirty.discard(part)
                if self._dirty:
                    self._timer.start(0)
                self.changed.emit({part})
                return

    def soon(self) -> None:
        """Draw what is pending at the next event-loop turn (not after the frame interval)."""
        if self._dirty:
            self._timer.start(0)

    @property
    def settled(self) -> bool:
        """Nothing waits to be drawn."""
        return not self._dirty

    def flush(self) -> None:
        """Tell the views about everything pending, now."""
        self._timer.stop()
        dirty, self._dirty = self._dirty, set()
        if dirty:
            self.changed.emit(dirty)


class StyleViewModel(QObject):
    """The style the next take uses: the sliders' weights, or a reference clip that overrides them."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.n_tokens = 0
        self.default_weights: list[float] = []
        self.weights: list[float] = []
        self.touched = False
        self.reference = None  # ReferenceInfo once loaded
        self.reference_pending: str | None = None

    def set_voice(self, n_tokens: int, default_weights: list[float] | None) -> None:
        self.n_tokens = n_tokens
        self.default_weights = list(default_weights) if default_weights else [1.0 / max(n_tokens, 1)] * n_tokens
        self.reset()

    def reset(self) -> None:
        self.weights = list(self.default_weights)
        self.touched = False
        self.reference = None
        self.reference_pending = None
        self.changed.emit()

    def set_weight(self, i: int, value: float) -> None:
        if 0 <= i < len(self.weights):
            self.weights[i] = float(value)
            self.touched = True
            self.changed.emit()

    def describe(self) -> str:
        if self.reference is not None:
            return f"reference clip {self.reference.name}"
        if self.reference_pending:
            return "reference clip (loading)"
        if self.touched:
            return "sliders " + ", ".join(f"{w:.2f}" for w in self.weights)
        return "voice default"

    def request(self) -> dict:
        """The style part of a SpeakJob."""
        if self.reference is not None:
            return {"reference": self.reference.path}
        if self.reference_pending:
            return {"reference": self.reference_pending}
        if self.touched and self.n_tokens:
            return {"weights": list(self.weights)}
        return {}
