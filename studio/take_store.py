"""Takes kept in the user data folder, so work survives a restart.

    USER_DATA/takes/take-20250101-120000-123/take.json     text, voice, style, vocoder, timings, flags
                                             arrays.npz    wav, and per sentence its mel and alignment

Each take is written atomically (engine.fsutil.atomic_dir) as soon as it is made; the studio lists
them again when it opens. No pickle: the arrays are plain numeric .npz entries."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from engine.fsutil import atomic_dir
from engine.inference.pipeline import Take
from engine.inference.synthesizer import SegmentResult
from engine.paths import user_data_dir

log = logging.getLogger("prufrock.studio")
FIELDS = ("text", "sample_rate", "model", "vocoder", "device", "style", "synthesis_s", "vocoder_s", "polished",
          "token_weights", "created", "partial", "source", "polish_s")


def takes_dir() -> Path:
    return user_data_dir() / "takes"


class TakeStore:
    def __init__(self, root: Path | None = None, limit: int = 200) -> None:
        self.root = Path(root) if root is not None else takes_dir()
        self.limit = limit
        """At most this many takes are kept; the oldest go first."""

    def save(self, take: Take) -> Path | None:
        """Write a take; -> its folder (None when the disk refuses: the take stays in memory)."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(take.created))
        folder = self.root / f"take-{stamp}-{int(take.created * 1000) % 1000:03d}"
        n = 2
        while folder.exists():
            folder, n = folder.with_name(f"{folder.name.split('~')[0]}~{n}"), n + 1
        meta = {k: getattr(take, k) for k in FIELDS}
        meta["segments"] = [{"index": s.index, "text": s.text, "tokens": list(s.tokens),
                             "stop_reached": bool(s.stop_reached), "alignment_complete": bool(s.alignment_complete)}
                            for s in take.segments]
        arrays = {"wav": np.asarray(take.wav, dtype=np.float32)}
        for i, s in enumerate(take.segments):
            arrays[f"mel_{i}"] = np.asarray(s.mel, dtype=np.float32)
            arrays[f"alignment_{i}"] = np.asarray(s.alignment, dtype=np.float32)
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
        take = Take(wav=wav, segments=segments, **{k: meta[k] for k in FIELDS if k in meta})
        take.folder = str(folder)
        return take

    def load_all(self) -> list[Take]:
        """Every readable take, oldest first (an unreadable one is skipped and logged)."""
        out = []
        for folder in self.folders():
            try:
                out.append(self.load(folder))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping the kept take %s: %s", folder, exc)
        return out

    def delete(self, take: Take) -> None:
        folder = getattr(take, "folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def _prune(self) -> None:
        for old in self.folders()[: -self.limit]:
            shutil.rmtree(old, ignore_errors=True)
