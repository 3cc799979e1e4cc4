"""A disk cache of per-utterance features (trimmed waveforms and log-mels) as .npy files.

Layout: ROOT/<AudioConfig.key()>/<speaker>/<id>-<digest>.{mel,wav}.npy, where the digest covers the
speaker, the id and the audio file's size and modification time, so an edited recording is recomputed
and a different audio configuration never reads another's features. Every write goes to a temp file in
the same folder and is renamed over the entry (os.replace), so two processes filling the same cache at
once never leave a half-written entry: the last complete write wins, and both are identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from engine.audio import AudioConfig, load_audio, log_mel_spectrogram, trim_silence
from engine.data.utterance import Utterance
from engine.errors import BadInput
from engine.fsutil import atomic_path, atomic_write_text

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def compute_waveform(path: Path, cfg: AudioConfig) -> np.ndarray:
    """The recording at cfg.sample_rate, mono float32, silence trimmed (cfg.trim_top_db, margin)."""
    wav, _ = load_audio(path, cfg.sample_rate)
    return np.ascontiguousarray(trim_silence(wav, cfg), dtype=np.float32)


def compute_log_mel(wav: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """(n_mels, T_frames) float32 log-mel of a waveform already at cfg.sample_rate."""
    with torch.no_grad():
        return log_mel_spectrogram(torch.from_numpy(wav), cfg).cpu().numpy().astype(np.float32)


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "_"


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """np.save through a temp file beside `path`, renamed over it when complete."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


class FeatureCache:
    """Features of utterances, computed once and kept under `root/<audio_cfg.key()>/`."""

    def __init__(self, root: str | os.PathLike, audio_cfg: AudioConfig):
        self.root = Path(root)
        self.audio_cfg = audio_cfg
        self.dir = self.root / audio_cfg.key()
        self.hits = 0
        self.misses = 0
        self.skipped: list[tuple[Utterance, str]] = []  # (utterance, reason) the last readable() dropped
        self._lock = threading.Lock()
        self._write_config()

    def _write_config(self) -> None:
        cfg_file = self.dir / "audio_config.json"
        if cfg_file.is_file():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg_file, json.dumps(self.audio_cfg.to_dict(), indent=1, sort_keys=True))

    # ------------------------------------------------------------------------------------------ paths

    def entry_path(self, utt: Utterance, kind: str) -> Path:
        """Where feature `kind` ("mel" or "wav") of `utt` is stored (whether or not it exists yet)."""
        try:
            st = os.stat(utt.audio_path)
        except OSError:
            raise BadInput(f"audio file not found: {utt.audio_path} (check the corpus)") from None
        blob = f"{utt.speaker}\0{utt.id}\0{st.st_size}\0{st.st_mtime_ns}".encode()
        digest = hashlib.sha1(blob).hexdigest()[:16]
        return self.dir / _safe(utt.speaker) / f"{_safe(utt.id)}-{digest}.{kind}.npy"

    def _count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def _load(self, path: Path) -> np.ndarray | None:
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError):  # unreadable entry: compute it again
            return None

    # --------------------------------------------------------------------------------------- features

    def waveform(self, utt: Utterance) -> np.ndarray:
        """Trimmed mono float32 samples at audio_cfg.sample_rate (cached)."""
        path = self.entry_path(utt, "wav")
        wav = self._load(path)
        if wav is not None:
            self._count(hit=True)
            return wav
        self._count(hit=False)
        wav = compute_waveform(utt.audio_path, self.audio_cfg)
        atomic_save_npy(path, wav)
        return wav

    def log_mel(self, utt: Utterance) -> torch.Tensor:
        """(n_mels, T_frames) float32 log-mel of the trimmed recording (cached)."""
        path = self.entry_path(utt, "mel")
        mel = self._load(path)
        if mel is not None:
            self._count(hit=True)
            return torch.from_numpy(mel)
        self._count(hit=False)
        wav = self._load(self.entry_path(utt, "wav"))
        if wav is None:
            wav = compute_waveform(utt.audio_path, self.audio_cfg)
        mel = compute_log_mel(wav, self.audio_cfg)
        atomic_save_npy(path, mel)
        return torch.from_numpy(mel)

    def has(self, utt: Utterance, kind: str = "mel") -> bool:
        return self.entry_path(utt, kind).is_file()

    def precompute(
        self,
        utts: Iterable[Utterance],
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
        waveforms: bool = False,
    ) -> int:
        """Fill the cache with the log-mels (and with `waveforms`, the waveforms) of `utts`.

        `jobs` > 1 uses that many threads (decoding, resampling and the STFT release the GIL).
        `progress(done, total)` is called after each utterance. Returns how many features were computed
        (not found in the cache).
        """
        before = self.misses

        def one(utt: Utterance) -> None:
            if waveforms:
                self.waveform(utt)
            self.log_mel(utt)

        self._each(one, list(utts), jobs, progress)
        return self.misses - before

    def readable(self, utts: Iterable[Utterance], jobs: int = 1, waveforms: bool = False,
                 log: Callable[[str], None] | None = None) -> list[Utterance]:
        """Precompute like `precompute`, but drop the utterances whose recording cannot be read or holds no
        sound (missing, empty, truncated, not audio, silent): they are listed in `self.skipped` with the
        reason and named in one `log` line, and training goes on with the rest."""
        utts = list(utts)

        def one(utt: Utterance) -> str | None:
            try:
                if waveforms:
                    self.waveform(utt)
                if self.log_mel(utt).shape[-1] < 2:
                    return "no sound after trimming"
            except (BadInput, OSError, ValueError, RuntimeError, EOFError) as exc:
                return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None

        errors = self._each(one, utts, jobs)
        self.skipped = [(u, e) for u, e in zip(utts, errors) if e is not None]
        if self.skipped and log is not None:
            u, e = self.skipped[0]
            log(f"skipped {len(self.skipped)} of {len(utts)} recordings that cannot be read or hold no sound "
                f"(first: {u.audio_path}: {e})")
        return [u for u, e in zip(utts, errors) if e is None]

    @staticmethod
    def _each(fn, utts: list[Utterance], jobs: int, progress: Callable[[int, int], None] | None = None) -> list:
        """fn over utts, in order (`jobs` > 1: that many threads); progress(done, total) after each."""
        results = []
        if jobs <= 1:
            it = map(fn, utts)
        else:
            pool = ThreadPoolExecutor(max_workers=jobs)
            it = pool.map(fn, utts)
        try:
            for r in it:
                results.append(r)
                if progress:
                    progress(len(results), len(utts))
        finally:
            if jobs > 1:
                pool.shutdown()
        return results
