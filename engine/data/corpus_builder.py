"""Render a text list with the system's voices into an LJSpeech-style multi-speaker corpus.

Output layout (read back by `engine.data.layouts`):

    DIR/corpus.json              settings (voices, sample rate, prosody variation, seed)
    DIR/metadata.csv             SPEAKER/ID|TEXT|NORMALIZED_TEXT|SPEAKER|STYLE
    DIR/wavs/SPEAKER/ID.wav      mono PCM-16 at the corpus sample rate

Every voice reads every prompt, so the corpus is parallel across speakers (same ids). STYLE records
the per-utterance prosody variation as `pitch=+1.50;rate=1.08` (semitones; tempo factor) and, with
`augment`, the recording conditions of `engine.data.augment` (`snr=21.3;rt60=0.250;lowpass=3400;gain=-9.5`).
Speakers listed in `clean` (a conversion target) get neither. Building is resumable: finished files
are skipped, and each file is written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.audio.io import load_audio, save_audio
from engine.data.prompts import Prompt, read_prompts
from engine.data.voices import SystemVoice, default_voices, parse_voice
from engine.errors import BadInput
from engine.data.augment import hashed_uniforms
from engine.fsutil import atomic_write_json, atomic_write_text
from engine.paths import ARCTIC_PROMPTS


CHUNK_SIZE = 20
"""Prompts per festival process (its start-up costs more than rendering a sentence)."""


@dataclass
class CorpusSettings:
    sample_rate: int = 16000
    """Sample rate of the written files (renderings are resampled to it)."""
    voices: list[str] = field(default_factory=list)
    """Voice specs, in order (see engine.data.voices)."""
    prosody: bool = False
    """Vary pitch and rate per utterance (recorded in the STYLE column)."""
    pitch_range: float = 3.0
    """Maximum pitch shift in semitones (uniform in [-range, +range])."""
    rate_range: tuple[float, float] = (0.8, 1.25)
    """Tempo factor range (uniform; >1 is faster)."""
    seed: int = 0
    """Seed of the per-utterance prosody draws."""
    augment: bool = False
    """Vary recording conditions per utterance (noise, reverb, band limit, level; engine.data.augment)."""
    clean: list[str] = field(default_factory=list)
    """Speakers rendered clean: no prosody and no augmentation (e.g. a conversion target)."""


def style_for(settings: CorpusSettings, speaker: str, uid: str) -> dict:
    """Everything varied on one utterance: prosody plus recording conditions."""
    if speaker in settings.clean:
        return {}
    style = prosody_for(settings, speaker, uid)
    if settings.augment:
        from engine.data.augment import augment_for

        style.update(augment_for(settings.seed, speaker, uid))
    return style


def prosody_for(settings: CorpusSettings, speaker: str, uid: str) -> dict:
    """Deterministic per-utterance pitch (semitones) and rate (tempo factor)."""
    if not settings.prosody:
        return {}
    u1, u2 = hashed_uniforms(f"{settings.seed}:{speaker}:{uid}", 2)
    pitch = round((2 * u1 - 1) * settings.pitch_range, 2)
    lo, hi = settings.rate_range
    rate = round(lo + (hi - lo) * u2, 3)
    return {"pitch": pitch, "rate": rate}


def style_string(style: dict) -> str:
    def fmt(k, v):
        if k == "pitch":
            return f"{k}={v:+.2f}"
        if k in ("snr", "gain"):
            return f"{k}={v:.1f}"
        if k in ("lowpass", "highpass"):
            return f"{k}={v:.0f}"
        return f"{k}={v:.3f}"

    return ";".join(fmt(k, v) for k, v in style.items())


def _apply_prosody(src: Path, dst: Path, style: dict) -> None:
    if shutil.which("sox") is None:
        raise BadInput("sox is needed for prosody variation: run 'sudo apt-get install sox'")
    cmd = ["sox", str(src), str(dst), "pitch", f"{style['pitch'] * 100:.0f}", "tempo", "-s", f"{style['rate']:.3f}"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sox failed: {proc.stderr.decode(errors='replace').strip()}")


def render_chunk(voice: SystemVoice, items: list[tuple[Prompt, Path]], settings: CorpusSettings) -> list[str]:
    """Render several prompts of one voice (festival loads its voice once); -> failure messages."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="prufrock-render-") as tmp:
        raws = [Path(tmp) / f"raw{i}.wav" for i in range(len(items))]
        try:
            voice.render_many([(p.text, raw) for (p, _), raw in zip(items, raws)])
        except Exception as exc:  # noqa: BLE001 - the files that did render are kept
            failures.append(f"{voice.speaker}: {exc}")
        for (prompt, out_wav), raw in zip(items, raws):
            try:
                if not raw.exists():
                    raise RuntimeError("not rendered")
                _finish(voice, prompt, raw, out_wav, settings)
            except Exception as exc:  # noqa: BLE001 - one prompt failing should not end the build
                failures.append(f"{voice.speaker}/{prompt.id}: {exc}")
    return failures


def _finish(voice: SystemVoice, prompt: Prompt, raw: Path, out_wav: Path, settings: CorpusSettings) -> dict:
    """Raw rendering -> prosody (sox), resampling, recording conditions, atomic write."""
    style = style_for(settings, voice.speaker, prompt.id)
    if "pitch" in style:
        varied = raw.with_name(raw.stem + "-varied.wav")
        _apply_prosody(raw, varied, style)
        raw = varied
    wav, _ = load_audio(raw, settings.sample_rate)
    if settings.augment and style:
        from engine.data.augment import apply_augment, seed_of

        wav = apply_augment(wav, settings.sample_rate, style, seed_of(settings.seed, voice.speaker, prompt.id))
    peak = float(np.abs(wav).max()) or 1.0
    if peak > 0.99:
        wav = wav * (0.99 / peak)
    save_audio(out_wav, wav, settings.sample_rate)
    return style


class ProgressPrinter:
    """A one-line progress bar on stderr (a plain line every 5 % when stderr is not a terminal)."""

    def __init__(self, total: int, label: str = "") -> None:
        self.total, self.label, self.start = total, label, time.time()
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def __call__(self, done: int, note: str = "") -> None:
        elapsed = time.time() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        pct = int(100 * done / max(1, self.total))
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        line = f"{self.label} [{bar}] {done}/{self.total} {rate:.1f}/s ETA {eta:.0f}s {note}"
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
            if done >= self.total:
                sys.stderr.write("\n")
        elif pct // 5 != self.last_pct // 5 or done >= self.total:
            sys.stderr.write(line + "\n")
        self.last_pct = pct
        sys.stderr.flush()


def build_corpus(
    out_dir: Path,
    text_path: Path | None = None,
    voices: list[str] | None = None,
    limit: int | None = None,
    jobs: int = 2,
    prosody: bool = False,
    sample_rate: int = 16000,
    seed: int = 0,
    augment: bool = False,
    clean: list[str] | None = None,
    progress: Callable[[int, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict:
    """Build (or resume) a corpus. Returns a summary dict (utterances, rendered, skipped, seconds)."""
    out_dir = Path(out_dir)
    prompts = read_prompts(text_path or ARCTIC_PROMPTS)
    if limit is not None:
        if limit < 1:
            raise BadInput("--limit must be at least 1")
        prompts = prompts[:limit]
    system_voices = [parse_voice(v) for v in voices] if voices else default_voices()
    for v in system_voices:
        v.check()
    settings = CorpusSettings(sample_rate=sample_rate, voices=[v.spec for v in system_voices],
                              prosody=prosody, seed=seed, augment=augment, clean=list(clean or []))

    out_dir.mkdir(parents=True, exist_ok=True)
    settings_path = out_dir / "corpus.json"
    if settings_path.exists():
        old = json.loads(settings_path.read_text())
        defaults = asdict(CorpusSettings())
        for key in ("sample_rate", "prosody", "seed", "augment", "clean"):
            if old.get(key, defaults[key]) != asdict(settings)[key]:
                raise BadInput(f"{out_dir} was built with {key}={old.get(key)!r}; use another --out "
                               f"or the same setting to resume")
        settings.voices = list(dict.fromkeys(list(old.get("voices", [])) + settings.voices))
    atomic_write_json(settings_path, asdict(settings))

    jobs_list = []
    for v in system_voices:
        (out_dir / "wavs" / v.speaker).mkdir(parents=True, exist_ok=True)
        for p in prompts:
            jobs_list.append((v, p, out_dir / "wavs" / v.speaker / f"{p.id}.wav"))
    todo = [j for j in jobs_list if not j[2].exists()]
    progress = progress or ProgressPrinter(len(jobs_list), "corpus")
    done = len(jobs_list) - len(todo)
    progress(done, "resuming" if done else "")
    start = time.time()
    failures: list[str] = []
    chunks: list[tuple[SystemVoice, list]] = []
    for v, p, path in todo:  # festival voices go in chunks (one start-up per chunk), others one by one
        size = CHUNK_SIZE if v.engine == "festival" else 1
        if chunks and chunks[-1][0] is v and len(chunks[-1][1]) < size:
            chunks[-1][1].append((p, path))
        else:
            chunks.append((v, [(p, path)]))
    failed_ids = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(render_chunk, v, items, settings): (v, items) for v, items in chunks}
        for fut in as_completed(futures):
            v, items = futures[fut]
            errors = fut.result()
            failures.extend(errors)
            failed_ids += sum(1 for (p, path) in items if not path.exists())
            before = done
            done += len(items)
            progress(done, v.speaker)
            if done // 300 != before // 300:  # readable while a long build runs
                _write_metadata(out_dir, system_voices, prompts, settings)
            if cancel is not None and cancel():
                for f in futures:
                    f.cancel()
                break

    _write_metadata(out_dir, system_voices, prompts, settings)
    if failures:
        sys.stderr.write(f"{len(failures)} renderings failed, first: {failures[0]}\n")
    return {
        "out": str(out_dir), "speakers": [v.speaker for v in system_voices], "prompts": len(prompts),
        "rendered": sum(1 for _, _, path in todo if path.exists()), "skipped": len(jobs_list) - len(todo),
        "failed": failed_ids, "seconds": round(time.time() - start, 1),
    }


def _write_metadata(out_dir: Path, voices: list[SystemVoice], prompts: list[Prompt], settings: CorpusSettings) -> None:
    from engine.text import normalize_text

    lines = []
    keys = {f"{v.speaker}/{p.id}" for v in voices for p in prompts}
    meta = out_dir / "metadata.csv"
    if meta.exists():  # keep what earlier builds (other voices or prompts) wrote into this folder
        for line in meta.read_text(encoding="utf-8").splitlines():
            key = line.split("|", 1)[0]
            if line.strip() and key not in keys and (out_dir / "wavs" / f"{key}.wav").exists():
                lines.append(line)
    for v in voices:
        for p in prompts:
            if not (out_dir / "wavs" / v.speaker / f"{p.id}.wav").exists():
                continue
            text = p.text.replace("|", " ")
            style = style_string(style_for(settings, v.speaker, p.id))
            lines.append(f"{v.speaker}/{p.id}|{text}|{normalize_text(text)}|{v.speaker}|{style}")
    atomic_write_text(out_dir / "metadata.csv", "\n".join(lines) + "\n")

