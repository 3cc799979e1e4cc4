"""Free-running training pairs of a polisher: (the partner's mel decoded as at inference, the ground
truth time-warped onto its frames by DTW).

Teacher-forced mels are frame-aligned with the ground truth but less smooth than what the partner makes
at inference, so a U-Net trained on them sees another input at inference. Here the input is what the
partner produces free-running (default style, seeded), and the target is the ground-truth mel warped onto
those frames: dynamic time warping between the two (Euclidean distance of per-band standardised log-mels),
each decoded frame's target the mean of the ground-truth frames the path matches to it.

The decoded mels are cached as .npy (never pickles) under ROOT/<digest of the partner>/free/, like the
teacher-forced ones (engine.models.polisher.pairs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from engine.bundle import Bundle
from engine.data.cache import atomic_save_npy
from engine.models.polisher.pairs import _safe, partner_digest, read_cached


def dtw_warp(target: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """(n_mels, M) ground truth, (n_mels, N) decoded log-mels -> (n_mels, N): the ground truth on the
    decoded frames (the mean of the ground-truth frames the DTW path matches to each decoded frame)."""
    import librosa

    both = np.concatenate([target, decoded], axis=1)
    mean, std = both.mean(axis=1, keepdims=True), both.std(axis=1, keepdims=True) + 1e-5
    _, path = librosa.sequence.dtw(X=(decoded - mean) / std, Y=(target - mean) / std, metric="euclidean")
    n = decoded.shape[1]
    sums = np.zeros((target.shape[0], n), dtype=np.float64)
    counts = np.zeros(n, dtype=np.float64)
    np.add.at(sums.T, path[:, 0], target[:, path[:, 1]].T)
    np.add.at(counts, path[:, 0], 1.0)
    return (sums / np.maximum(counts, 1.0)).astype(np.float32)


class FreeRunningMels:
    """The partner's free-running mels of corpus utterances, cached as ROOT/<digest>/free/<speaker>/<id>.npy."""

    def __init__(self, bundle: Bundle, root: Path, seed: int = 0, source_path=None,
                 log: Callable[[str], None] = print) -> None:
        """source_path(utt): for a converter partner, the recording of a source voice saying utt's prompt."""
        self.bundle, self.seed, self.source_path, self.log = bundle, seed, source_path, log
        self.dir = Path(root) / partner_digest(bundle) / f"free-seed{seed}"

    def path(self, utt) -> Path:
        return self.dir / _safe(utt.speaker) / f"{_safe(utt.id)}.npy"

    def get(self, utts: list, log_every: int = 50) -> list[np.ndarray]:
        """Denormalised (n_mels, T_i) log-mels, one per utterance (decoded once, then read back)."""
        from engine.models.polisher.gv_compensation import iter_free_running_mels

        out, todo = read_cached([self.path(u) for u in utts])
        if not todo:
            return out  # type: ignore[return-value]
        self.log(f"partner {self.bundle.name}: decoding {len(todo)} utterances free-running "
                 f"({len(utts) - len(todo)} cached in {self.dir})")
        decoded = iter_free_running_mels(self.bundle, [utts[i] for i in todo], self.source_path, seed=self.seed)
        for n, (i, m) in enumerate(zip(todo, decoded), 1):
            atomic_save_npy(self.path(utts[i]), m.astype(np.float32))
            out[i] = m
            if n % log_every == 0 or n == len(todo):
                self.log(f"  free-running {n}/{len(todo)}")
        return out  # type: ignore[return-value]
