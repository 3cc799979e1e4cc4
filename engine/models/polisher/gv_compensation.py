"""Global-variance compensation: the classic remedy for over-smoothed parameter trajectories (Toda &
Tokuda, 2007), as a per-band scale of each utterance's deviations from its own band means.

    scale[b] = sqrt(GV_natural[b] / GV_generated[b])      (measured over many utterances)
    compensated[b, t] = mean_t(x[b]) + scale[b] * (x[b, t] - mean_t(x[b]))

The scale is measured on the partner's free-running output of training prompts (not the held-out ones)
against natural speech of the same prompts, so it corrects what inference produces, not what teacher
forcing produces. The polisher applies it before its U-Net (engine.models.polisher.unet).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.evaluation.global_variance import log_gv_difference

MAX_SCALE = 2.0
"""Per-band factors are clipped to [1 / MAX_SCALE, MAX_SCALE] (a band with almost no variance in the
generated mels must not be blown up)."""


def measure_gv_scale(generated: list[np.ndarray], natural: list[np.ndarray]) -> np.ndarray:
    """Several generated and natural (n_mels, T_i) log-mels (the same prompts) -> (n_mels,) factors."""
    d = log_gv_difference(generated, natural)  # log GV_gen - log GV_nat per band
    return np.clip(np.exp(-d / 2.0), 1.0 / MAX_SCALE, MAX_SCALE).astype(np.float32)


def apply_gv_scale(log_mel: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, T) log-mel, (n_mels,) factors -> compensated (B, n_mels, T); each band's mean over the
    utterance is kept, its deviations scaled."""
    mean = log_mel.mean(dim=-1, keepdim=True)
    return mean + scale[None, :, None] * (log_mel - mean)


def iter_free_running_mels(bundle, utts: list, source_path=None, seed: int = 0):
    """The partner (loaded once) decoding each utterance as at inference (default style, seeded): an
    acoustic model reads its text, a converter the recording `source_path(utt)` of a source voice saying
    it. Yields a denormalised (n_mels, T_i) log-mel after the postnet per utterance, in order."""
    if bundle.kind == "vc":
        from engine.models.vc.adapter import ConverterSource, ConvertRequest

        conv = ConverterSource(bundle, device="cpu", seed=seed)
        results = (conv.render_mels(ConvertRequest(source_path(u))) for u in utts)
    else:
        from engine.inference.synthesizer import Synthesizer

        synth = Synthesizer(bundle, device="cpu", seed=seed)
        results = (synth.synthesize(u.text) for u in utts)
    for result in results:
        yield np.concatenate([seg.mel for seg in result.segments], axis=-1)


def free_running_mels(bundle, utts: list, source_path=None, seed: int = 0) -> list[np.ndarray]:
    """iter_free_running_mels as a list."""
    return list(iter_free_running_mels(bundle, utts, source_path, seed))


def measure_partner(partner: str, corpus: str | Path, speaker: str, prompts: int = 100) -> np.ndarray:
    """GV factors of an acoustic model (bundle NAME/DIR) from its free-running output of the first
    `prompts` training prompts (the held-out ones excluded) against `speaker`'s recordings of them in
    `corpus`. For a polisher bundle made before the recipe measured this itself."""
    from engine.audio.config import AudioConfig
    from engine.bundle import load_bundle
    from engine.data import read_corpus
    from engine.data.cache import compute_log_mel, compute_waveform
    from engine.data.prompts import held_out_ids

    bundle = load_bundle(partner)
    hold = held_out_ids()
    utts = [u for u in read_corpus(Path(corpus)) if u.speaker == speaker and u.id not in hold][:prompts]
    audio = AudioConfig.from_dict(bundle.config["audio"])
    natural = [compute_log_mel(compute_waveform(u.audio_path, audio), audio) for u in utts]  # trimmed, as training
    generated = free_running_mels(bundle, utts)
    return measure_gv_scale(generated, natural)
