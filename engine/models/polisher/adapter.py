"""MelPolisher: a polisher bundle wrapped for the inference pipeline (engine.inference.polisher.Polisher).

    polisher = load_polisher("default")        # finds the bundle whose config names partner "default"
    sharper = polisher.polish(log_mel)         # (n_mels, T) -> (n_mels, T), any T

The whole utterance goes through the U-Net at once (fully convolutional); the mel is normalised with
the partner's statistics stored in the bundle and denormalised after.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.audio.config import AudioConfig
from engine.bundle import Bundle
from engine.errors import BadInput


class MelPolisher:
    def __init__(self, bundle: Bundle, device="cpu", partner: str | None = None) -> None:
        from engine.models.registry import build_model

        self.bundle = bundle
        self.name = bundle.name
        self.partner = str(bundle.config.get("partner", ""))
        if partner is not None and partner != self.partner:
            raise BadInput(f"polisher {self.name} was trained for {self.partner!r}, not for {partner!r}: "
                           "pick the polisher made for this model")
        self.device = torch.device(device)
        self.model = build_model(bundle, self.device)
        self.audio: AudioConfig = self.model.cfg.audio

    def polish(self, log_mel: np.ndarray) -> np.ndarray:
        """(n_mels, T) denormalised log-mel -> polished (n_mels, T) float32."""
        m = np.asarray(log_mel, dtype=np.float32)
        if m.ndim != 2 or m.shape[0] != self.audio.n_mels:
            raise BadInput(f"polisher {self.name} expects a ({self.audio.n_mels}, T) log-mel, got shape {m.shape}")
        if m.shape[1] == 0:
            return m.copy()
        x = torch.from_numpy(m)[None].to(self.device)
        return self.model.polish(x)[0].float().cpu().numpy()
