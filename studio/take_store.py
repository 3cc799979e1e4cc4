"""Takes kept in the user data folder, so work survives a restart.

    USER_DATA/takes/take-20250101-120000-123/take.json     text, voice, style, vocoder, timings, flags
                                             arrays.npz    wav, and per sentence its mel and alignment

Each take is written atomically (engine.fsutil.atomic_dir) as soon as it is made, on the store's own
thread (`save_later`), so the GUI thread never waits for the disk; deletions, read-backs (`read_later`)
and exports (`export_later`) go through the same queue, in order: a take is read or exported after the
write queued before it, and never after its deletion. `flush()` waits for the queue (the window's
shutdown does). The studio lists the takes again when it opens (their take.json only). No pickle: the
arrays are plain numeric .npz entries.

Only the latest takes keep their arrays in memory: an older one is a `StoredTake` (what the takes
list shows: text, voice, style, duration, RTF...) whose `load()` reads the full Take back, so the
studio's memory stays flat however many takes a session makes."""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from engine.fsutil import atomic_dir
from engine.inference.pipeline import Take
from engine.inference.synthesizer import SegmentResult
from engine.paths import user_data_dir

log = logging.getLogger("prufrock.studio")
FIELDS = ("text", "sample_rate", "model", "vocoder", "device", "style", "synthesis_s", "vocoder_s", "polished",
          "token_weights", "created", "partial", "source", "polish_s")


class StoredTake:
    """A take whose arrays stay on disk: its metadata, and `load()` for the full Take."""

    heavy = False

    def __init__(self, meta: dict, folder: str) -> None:
        for k in FIELDS:
            setattr(self, k, meta.get(k))
        self.text = self.text or ""
        self.source = self.source or "text"
        self.partial = bool(self.partial)
        self.polish_s = float(self.polish_s or 0.0)
        self.duration_s = float(meta["duration_s"])
        self.folder = folder

    rtf = Take.rtf  # the same formula over the same fields (duration_s is stored here)

    def load(self) -> Take:
        return TakeStore(Path(self.folder).parent).load(self.folder)


def stored(take: Take) -> StoredTake | Take:
    """The light form of a take kept on disk (the take itself when it is not on disk or already light)."""
    folder = getattr(take, "folder", None)
    if not folder or isinstance(take, StoredTake):
        return take
    meta = {k: getattr(take, k) for k in FIELDS}
    meta["duration_s"] = take.duration_s
    return StoredTake(meta, folder)


def full(take) -> Take:
    """A Take with its arrays (reading a StoredTake back from disk)."""
    return take.load() if isinstance(take, StoredTake) else take


def _export(take, path: Path) -> Path:
    from engine.audio.io import save_audio

    take = full(take)
    return save_audio(path, take.wav, take.sample_rate)


def takes_dir() -> Path:
    return user_data_dir() / "takes"


def _log_failure(future: Future) -> None:
    """A queued write or deletion that raised (save() itself logs what the disk refuses)."""
    exc = future.exception()
    if exc is not None:
        log.error("the take writer failed: %s", exc, exc_info=exc)


class TakeStore:
    def __init__(self, root: Path | None = None, limit: int = 200) -> None:
        self.root = Path(root) if root is not None else takes_dir()
        self.limit = limit
        """At most this many takes are kept; the oldest go first."""
        self._writer: ThreadPoolExecutor | None = None
        self._last: Future | None = None

    def _queue(self, job, *args, log_failure: bool = True) -> Future:
        """Run job(*args) on the writer thread, after everything queued before it."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="take-writer")
        self._last = self._writer.submit(job, *args)
        if log_failure:
            self._last.add_done_callback(_log_failure)
        return self._last

    def read_later(self, folder) -> Future:
        """Read a take back (`load`) on the writer thread. -> the Future of the Take (its exception: what
        the disk or the files refused; the caller reports it)."""
        return self._queue(self.load, folder, log_failure=False)

    def export_later(self, take, path) -> Future:
        """Write a take's audio to `path` (engine.audio.io.save_audio: atomic, the format by the suffix)
        on the writer thread, reading a StoredTake back first. -> the Future of the path (its exception:
        BadInput for a path that cannot be written, OSError/ValueError/KeyError for a take that cannot be
        read back)."""
        return self._queue(_export, take, Path(path), log_failure=False)

    def save_later(self, take: Take) -> Future:
        """Write a take on the writer thread; `take.folder` is set once it is on disk. -> the Future of
        `save`'s result."""
        return self._queue(self.save, take)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every queued write and deletion is done."""
        if self._last is not None:
            self._last.exception(timeout=timeout_s)  # waits; a job that failed was logged (_log_failure)

    def close(self) -> None:
        """Finish the queue and stop the writer thread."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def save(self, take: Take) -> Path | None:
        """Write a take; -> its folder (None when the disk refuses: the take stays in memory)."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(take.created))
        folder = self.root / f"take-{stamp}-{int(take.created * 1000) % 1000:03d}"
        n = 2
        while folder.exists():
            folder, n = folder.with_name(f"{folder.name.split('~')[0]}~{n}"), n + 1
        meta = {k: getattr(take, k) for k in FIELDS}
        meta["duration_s"] = take.duration_s
        meta["segments"] = [{"index": s.index, "text": s.text, "tokens": list(s.tokens),
                             "stop_reached": bool(s.stop_reached), "alignment_complete": bool(s.alignment_complete)}
                            for s in take.segments]
        arrays = {"wav": np.asarray(take.wav, dtype=np.float32)}
        for i, s in enumerate(take.segments):
            arrays[f"mel_{i}"] = np.asarray(s.mel, dtype=np.float32)
            arrays[f"alignment_{i}"] = np.asarray(s.alignment, dtype=np.float32)
        for i, m in enumerate(take.mels_before_polish or []):
            arrays[f"before_{i}"] = np.asarray(m, dtype=np.float32)
        try:
            with atomic_dir(folder) as tmp:
                (tmp / "take.json").write_text(json.dumps(meta, indent=1) + "\n")
                np.savez(tmp / "arrays.npz", **arrays)
        except OSError as exc:
            log.warning("cannot keep the take in %s: %s", self.root, exc)
            return None
        take.folder = str(folder)
        self._prune()
        return folder

    def folders(self) -> list[Path]:
        try:
            return sorted(p for p in self.root.iterdir() if p.name.startswith("take-") and (p / "take.json").exists())
        except OSError:
            return []

    def load(self, folder: Path) -> Take:
        meta = json.loads((Path(folder) / "take.json").read_text())
        with np.load(Path(folder) / "arrays.npz", allow_pickle=False) as z:
            segments = [SegmentResult(s["index"], s["text"], list(s["tokens"]), z[f"mel_{i}"], z[f"alignment_{i}"],
                                      s["stop_reached"], s["alignment_complete"])
                        for i, s in enumerate(meta["segments"])]
            wav = z["wav"]
            befores = [z[f"before_{i}"] for i in range(len(segments))] if "before_0" in z.files else None
        take = Take(wav=wav, segments=segments, mels_before_polish=befores,
                    **{k: meta[k] for k in FIELDS if k in meta})
        take.folder = str(folder)
        return take

    def load_all(self, keep_heavy: int | None = None) -> list[Take | StoredTake]:
        """Every readable take, oldest first (an unreadable one is skipped and logged); with
        `keep_heavy`, all but that many latest come back as StoredTakes (arrays left on disk)."""
        out = []
        folders = self.folders()
        for i, folder in enumerate(folders):
            try:
                light = keep_heavy is not None and i < len(folders) - keep_heavy
                meta = json.loads((Path(folder) / "take.json").read_text()) if light else None
                if meta is not None and "duration_s" in meta:
                    out.append(StoredTake(meta, str(folder)))
                else:
                    out.append(self.load(folder))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping the kept take %s: %s", folder, exc)
        return out

    def delete(self, take: Take) -> None:
        """Remove a take's folder, after any write queued before (its folder is known only then)."""
        if self._writer is None:
            self._delete_now(take)
        else:
            self._queue(self._delete_now, take)

    @staticmethod
    def _delete_now(take: Take) -> None:
        folder = getattr(take, "folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def _prune(self) -> None:
        for old in self.folders()[: -self.limit]:
            shutil.rmtree(old, ignore_errors=True)
