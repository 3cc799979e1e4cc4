"""Speaker similarity by a pretrained speaker encoder (Resemblyzer's GE2E model, whose weights ship in
its wheel; optional extra: `pip install resemblyzer`).

    enc = SpeakerEncoder()
    e = enc.embed(wav, sr)                       # (256,) unit vector
    enc.similarity(a, b)                         # cosine similarity of two embeddings
"""

from __future__ import annotations

import numpy as np

from engine.errors import BadInput


class SpeakerEncoder:
    def __init__(self, device: str = "cpu") -> None:
        try:
            from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise BadInput(f"speaker similarity needs the resemblyzer package: pip install resemblyzer ({exc})") from None
        self.encoder = VoiceEncoder(device=device, verbose=False)

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        """(256,) L2-normalised speaker embedding of one recording."""
        from resemblyzer import preprocess_wav

        w = preprocess_wav(np.asarray(wav, dtype=np.float32), source_sr=sample_rate)
        if len(w) < 1600:  # its voice activity detection left almost nothing: use the raw samples
            from engine.audio.io import resample

            w = resample(np.asarray(wav, dtype=np.float32), sample_rate, 16000)
        return self.encoder.embed_utterance(w)

    def centroid(self, wavs: list[tuple[np.ndarray, int]]) -> np.ndarray:
        """The normalised mean embedding of several recordings of one speaker."""
        e = np.mean([self.embed(w, sr) for w, sr in wavs], axis=0)
        return e / (np.linalg.norm(e) + 1e-9)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
