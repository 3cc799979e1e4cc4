"""Vocal-tract-length perturbation of log-mels: a warp by alpha moves a tone's band to where the tone at
alpha times its frequency lies; alpha 1 changes nothing; shapes are kept."""

import numpy as np
import torch

from engine.audio.config import AudioConfig
from engine.audio.features import log_mel_spectrogram
from engine.audio.vtlp import vtlp_log_mel, warp_frequencies


def _tone_mel(cfg: AudioConfig, hz: float) -> torch.Tensor:
    t = np.arange(int(0.5 * cfg.sample_rate)) / cfg.sample_rate
    return log_mel_spectrogram(torch.from_numpy((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)), cfg)


def test_warp_is_monotone_and_keeps_the_band_edges():
    f = np.linspace(0, 7600, 200)
    for alpha in (0.85, 1.0, 1.15):
        w = warp_frequencies(f, alpha, 7600.0)
        assert np.all(np.diff(w) > 0)
        assert abs(w[0]) < 1e-6 and abs(w[-1] - 7600.0) < 1e-3


def test_a_warped_tone_lands_on_the_band_of_the_scaled_tone():
    cfg = AudioConfig()
    mel = _tone_mel(cfg, 1000.0)
    assert torch.equal(vtlp_log_mel(mel, cfg, 1.0), mel)
    for alpha in (0.85, 1.2):
        warped = vtlp_log_mel(mel, cfg, alpha)
        assert warped.shape == mel.shape
        expected = _tone_mel(cfg, 1000.0 * alpha)
        peak = int(warped.mean(-1).argmax())
        assert abs(peak - int(expected.mean(-1).argmax())) <= 1
        assert abs(peak - int(mel.mean(-1).argmax())) >= 2  # it did move
    batch = torch.stack([mel, mel])
    assert torch.allclose(vtlp_log_mel(batch, cfg, 1.1)[1], vtlp_log_mel(mel, cfg, 1.1))
