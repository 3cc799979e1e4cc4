"""A tiny PNG writer (zlib + struct) with a perceptual colour map, so the engine can save
alignment and spectrogram images without matplotlib or Qt."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

# Viridis, sampled at 9 points and interpolated.
_VIRIDIS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], dtype=np.float64)


def colormap(values: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 viridis colours."""
    v = np.clip(np.nan_to_num(values), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(_VIRIDIS) - 1)
    frac = (v - lo)[..., None]
    return (_VIRIDIS[lo] * (1 - frac) + _VIRIDIS[hi] * frac).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 image."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path = Path(path)
    tmp = path.with_name("." + path.name + ".part")
    tmp.write_bytes(png)
    tmp.replace(path)


def save_matrix_png(path: Path, matrix: np.ndarray, origin_lower: bool = True, scale: int = 1) -> None:
    """Save a 2-D matrix as a colour image, min-max scaled (rows drawn bottom-up by default)."""
    m = np.asarray(matrix, dtype=np.float64)
    lo, hi = np.nanmin(m), np.nanmax(m)
    m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    if origin_lower:
        m = m[::-1]
    img = colormap(m)
    if scale > 1:
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    write_png(path, img)


def save_alignment_png(path: Path, alignment: np.ndarray) -> None:
    """alignment (T_steps, T_text) -> image with input symbols on the vertical axis, steps across."""
    a = np.asarray(alignment)
    scale = max(1, min(4, 400 // max(1, max(a.shape))))
    save_matrix_png(path, a.T, origin_lower=True, scale=scale)


def join_alignments(alignments: list[np.ndarray]) -> np.ndarray:
    """Several segments' (T_steps_i, T_in_i) alignments -> one block-diagonal (sum T_steps, sum T_in)
    image: the segments side by side along the decoder steps, their inputs stacked."""
    full = np.zeros((sum(a.shape[0] for a in alignments), sum(a.shape[1] for a in alignments)), dtype=np.float32)
    r0 = c0 = 0
    for a in alignments:
        full[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]] = a
        r0, c0 = r0 + a.shape[0], c0 + a.shape[1]
    return full
