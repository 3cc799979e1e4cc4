"""DNSMOS P.835 (Microsoft's no-reference speech quality predictor): OVRL, SIG, BAK and P.808 MOS.

The ONNX models ship inside the `speechmos` wheel and run with `onnxruntime` (an optional extra:
`pip install speechmos onnxruntime`). Both are imported lazily; without them `available()` is False
and `dnsmos()` returns None, so reports carry null instead of failing.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
"""DNSMOS scores 16 kHz audio; other rates are resampled first."""


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        from speechmos import dnsmos as _  # noqa: F401
    except ImportError:
        return False
    return True


def dnsmos(wav: np.ndarray, sr: int) -> dict | None:
    """(T,) waveform -> {"ovrl", "sig", "bak", "p808"} mean opinion scores (1..5), or None when the
    optional extra is missing or the clip is too short (under 0.5 s)."""
    if not available():
        return None
    from speechmos import dnsmos as model

    wav = np.asarray(wav, dtype=np.float32)
    if sr != SAMPLE_RATE:
        from engine.audio.io import resample

        wav = resample(wav, sr, SAMPLE_RATE)
    if len(wav) < SAMPLE_RATE // 2:
        return None
    peak = float(np.abs(wav).max())
    if peak > 1.0:
        wav = wav / peak
    r = model.run(wav, SAMPLE_RATE)
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"]),
            "p808": float(r["p808_mos"])}
