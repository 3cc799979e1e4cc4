"""Reading and writing audio files.

Any format soundfile reads is accepted; audio is downmixed to mono and resampled (soxr) to the target
rate. Writing is atomic: a temp file beside the target, renamed over it when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.errors import BadInput
from engine.fsutil import atomic_path


def load_audio(path: str | os.PathLike, sample_rate: int | None = None,
               max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Read a file as mono float32 in [-1, 1] (channels are averaged).

    Returns (samples (T,), sample_rate). With `sample_rate` given, the audio is resampled to it; with
    `max_seconds`, only the file's beginning is read (an hour-long style clip costs no more than a short one).
    Raises BadInput for a missing, empty, truncated or undecodable file, or one holding NaN/inf samples.
    """
    path = Path(path)
    if not path.exists():
        raise BadInput(f"audio file not found: {path} (check the path)")
    if path.is_dir():
        raise BadInput(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise BadInput(f"audio file is empty: {path} (re-record or re-export it)")
    _check_riff_complete(path)
    try:
        frames = -1
        if max_seconds is not None:
            frames = int(max_seconds * sf.info(str(path)).samplerate)
        data, sr = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for bad files
        raise BadInput(
            f"cannot decode audio file {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} "
            "(use WAV, FLAC or OGG, or convert it with sox/ffmpeg)"
        ) from None
    if data.shape[0] == 0:
        raise BadInput(f"audio file has no samples: {path} (it may be truncated; re-export it)")
    return mono_at_rate(data, sr, sample_rate, what=f"audio file {path}")


UNSCALED_PEAK = 1000.0
"""A decoded peak above this (+60 dBFS) means float samples stored unscaled; they are divided by the peak."""


def mono_at_rate(samples: np.ndarray, sr: int, sample_rate: int | None = None,
                 what: str = "the recording") -> tuple[np.ndarray, int]:
    """Samples (T,) or (T, channels) -> (mono float32 (T,), rate): channels averaged, checked for NaN/inf
    (BadInput naming `what`), scaled to full scale when stored unscaled (peak > UNSCALED_PEAK), resampled
    to `sample_rate` when given. What `load_audio` does after decoding, for samples that come from
    elsewhere (a recorder, an API caller)."""
    data = np.asarray(samples, dtype=np.float32)
    wav = data.mean(axis=1).astype(np.float32) if data.ndim == 2 else data.reshape(-1)
    if not np.all(np.isfinite(wav)):
        raise BadInput(f"{what} holds invalid samples (NaN/inf)")
    peak = float(np.abs(wav).max()) if wav.size else 0.0
    if peak > UNSCALED_PEAK:  # float samples written without scaling (e.g. int16 values): bring to full scale
        wav = (wav / peak).astype(np.float32)
    if sample_rate is not None and sr != sample_rate:
        wav = resample(wav, int(sr), sample_rate)
        sr = sample_rate
    return wav, int(sr)


def _check_riff_complete(path: Path) -> None:
    """libsndfile quietly reads a WAV cut off inside its sample data; catch that from the header's
    declared data size."""
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        size = path.stat().st_size
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return
            tag, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if tag == b"data":
                if length != 0xFFFFFFFF and f.tell() + length > size + 1:
                    raise BadInput(f"audio file is truncated: {path} declares {length} bytes of samples "
                                   f"but holds {size - f.tell()} (re-export or re-download it)")
                return
            f.seek(length + (length & 1), 1)


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono audio with soxr (through librosa)."""
    if orig_sr == target_sr:
        return wav
    import librosa

    return librosa.resample(wav, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq").astype(np.float32)


def save_audio(path: str | os.PathLike, wav, sample_rate: int, subtype: str | None = None) -> Path:
    """Write mono audio atomically; the format follows the suffix (.wav, .flac, .ogg).

    `wav` is a 1-D numpy array or torch tensor in [-1, 1] (values are clipped).
    """
    path = Path(path)
    if hasattr(wav, "detach"):
        wav = wav.detach().cpu().numpy()
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    wav = np.clip(np.nan_to_num(wav), -1.0, 1.0)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(f"unsupported output format {path.suffix!r}: use .wav, .flac or .ogg")
    if subtype is None:
        subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS"}[fmt]
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise BadInput(f"output folder does not exist: {parent}")
    try:
        with atomic_path(path) as tmp:
            sf.write(str(tmp), wav, int(sample_rate), format=fmt, subtype=subtype)
    except OSError as exc:  # read-only folder, full disk, ...: the old file (if any) is untouched
        raise BadInput(f"cannot write {path}: {exc.strerror or exc} (choose another folder or free some space)") \
            from None
    return path
