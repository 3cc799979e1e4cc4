"""Training pairs of a polisher: (the partner's teacher-forced mel, the ground-truth mel), frame-aligned.

The partner runs once over its own corpus with teacher forcing (its forward pass on the ground-truth
frames): an acoustic model (tacotron) reads each utterance's text, a converter (vc) reads a source
voice's recording of the same prompt (`sources`, chosen by the recipe); its mels are cached as .npy files (never pickles) under a folder named by a digest of the
partner's config and weights, so a retrained partner never reuses stale mels.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.bundle import Bundle
from engine.data.cache import atomic_save_npy
from engine.data.utterance import Utterance
from engine.errors import BadInput


def partner_digest(bundle: Bundle) -> str:
    """A short hash of the partner's config and its weights file (size, mtime)."""
    st = os.stat(bundle.path / "model.safetensors")
    blob = json.dumps(bundle.config, sort_keys=True) + f"\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "_"


def read_cached(paths: list[Path], shapes: list[tuple] | None = None) -> tuple[list[np.ndarray | None], list[int]]:
    """The .npy mels already cached at `paths` (None where missing, unreadable or, with `shapes`, of another
    shape) and the indices still to compute: the cache read of PartnerMels and FreeRunningMels."""
    out: list[np.ndarray | None] = [None] * len(paths)
    todo = []
    for i, p in enumerate(paths):
        try:
            m = np.load(p, allow_pickle=False)
            if shapes is None or m.shape == tuple(shapes[i]):
                out[i] = m
                continue
        except (OSError, ValueError, EOFError):
            pass
        todo.append(i)
    return out, todo


class PartnerMels:
    """Teacher-forced mels of one partner model, cached as ROOT/<digest>/<speaker>/<id>.npy."""

    def __init__(self, bundle: Bundle, model: torch.nn.Module, root: Path, log: Callable[[str], None] = print,
                 sources=None):
        """`sources`, for a converter partner: `sources.utterance(utt)` is the recording of a source voice
        saying what the target utterance `utt` says (None: there is none, the utterance is not usable) and
        `sources.mel(utt)` its (n_mels, T_src) log-mel (engine.models.polisher.recipe.SourceRecordings)."""
        if bundle.kind not in ("tacotron", "vc"):
            raise BadInput(f"polisher training needs an acoustic model or a converter as partner (teacher "
                           f"forcing); {bundle.name} is a {bundle.kind} model")
        if bundle.kind == "vc" and sources is None:
            raise BadInput("a converter partner needs the source recordings of its target's prompts")
        self.bundle, self.model, self.log = bundle, model, log
        self.dir = Path(root) / partner_digest(bundle)
        self.sources = sources
        if bundle.kind == "tacotron":
            from engine.text import SymbolSet

            self.symbols = SymbolSet.from_dict(model.cfg.symbols)
            self.speakers = list(model.cfg.speakers)
        else:
            self.symbols, self.speakers = None, [model.cfg.target]

    def usable(self, utt: Utterance) -> bool:
        """Whether the partner can teacher-force this utterance (its text encodes / a source exists)."""
        if self.symbols is None:
            return self.sources.utterance(utt) is not None
        try:
            self.symbols.encode(utt.text)
            return True
        except BadInput:
            return False

    def path(self, utt: Utterance) -> Path:
        return self.dir / _safe(utt.speaker) / f"{_safe(utt.id)}.npy"

    def get(self, utts: list[Utterance], gt_mels: list[torch.Tensor], batch_size: int = 16) -> list[np.ndarray]:
        """Denormalised log-mels (n_mels, T_i), one per utterance, frame-aligned with gt_mels."""
        out, todo = read_cached([self.path(u) for u in utts], [tuple(m.shape) for m in gt_mels])
        if todo:
            self.log(f"partner {self.bundle.name}: teacher-forcing {len(todo)} utterances "
                     f"({len(utts) - len(todo)} cached in {self.dir})")
            todo.sort(key=lambda i: gt_mels[i].shape[-1])
            for b in range(0, len(todo), batch_size):
                idx = todo[b: b + batch_size]
                mels = self._teacher_forced([utts[i] for i in idx], [gt_mels[i] for i in idx])
                for i, m in zip(idx, mels):
                    atomic_save_npy(self.path(utts[i]), m)
                    out[i] = m
        return out  # type: ignore[return-value]

    @torch.no_grad()
    def _teacher_forced(self, utts: list[Utterance], gt: list[torch.Tensor]) -> list[np.ndarray]:
        model = self.model
        r = model.cfg.r
        B = len(utts)
        T = max(m.shape[-1] for m in gt)
        T = (T + r - 1) // r * r
        mels = torch.zeros(B, gt[0].shape[0], T)
        for i, m in enumerate(gt):
            norm = model.normalize(m.float())
            mels[i, :, : m.shape[-1]] = norm
            mels[i, :, m.shape[-1]:] = norm[:, -1:]
        mel_lens = torch.tensor([m.shape[-1] for m in gt])
        if self.symbols is None:  # a converter: the source recordings of the same prompts
            srcs = [self.sources.mel(u) for u in utts]
            src_lens = torch.tensor([s.shape[-1] for s in srcs])
            src = torch.zeros(B, gt[0].shape[0], int(src_lens.max()))
            for i, x in enumerate(srcs):
                src[i, :, : x.shape[-1]] = x
            out = model(model.normalize_source(src, src_lens), src_lens, mels, mel_lens)
        else:
            ids = [torch.tensor(self.symbols.encode(u.text), dtype=torch.long) for u in utts]
            symbols = torch.zeros(B, max(len(x) for x in ids), dtype=torch.long)
            for i, x in enumerate(ids):
                symbols[i, : len(x)] = x
            sym_lens = torch.tensor([len(x) for x in ids])
            speakers = None
            if len(self.speakers) > 1:
                speakers = torch.tensor([self.speakers.index(u.speaker) for u in utts])
            out = model(symbols, sym_lens, mels, mel_lens, speakers)
        pred = model.denormalize(out["mel_post"])
        return [pred[i, :, : m.shape[-1]].float().numpy().astype(np.float32) for i, m in enumerate(gt)]


def speech_frames(log_mel: np.ndarray, silence_db: float) -> np.ndarray:
    """(n_mels, T) log-mel -> (T,) bool: frames within `silence_db` of the loudest frame."""
    loud = np.log(np.exp(log_mel.astype(np.float64)).sum(axis=0) + 1e-12)  # ln of the frame's mel magnitude sum
    db = loud * (20.0 / np.log(10.0))
    return db > db.max() - silence_db


def crop_starts(speech: np.ndarray, crop: int, min_fraction: float) -> np.ndarray:
    """Start frames s of crops [s, s + crop) inside the utterance with >= min_fraction speech frames."""
    T = len(speech)
    if T < crop:
        return np.zeros(0, dtype=np.int64)
    c = np.concatenate([[0], np.cumsum(speech.astype(np.int64))])
    starts = np.arange(T - crop + 1)
    frac = (c[starts + crop] - c[starts]) / crop
    return starts[frac >= min_fraction]
