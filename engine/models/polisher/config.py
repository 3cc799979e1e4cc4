"""PolisherConfig: the U-Net generator of a mel polisher and the partner model it polishes."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.audio.config import AudioConfig
from engine.models.config_base import config_from_dict, config_to_dict


@dataclass
class PolisherConfig:
    kind: str = "polisher"
    """Model kind, as written in config.json."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """The audio features of the partner's mels (must equal the partner's)."""
    partner: str = ""
    """Bundle name of the acoustic model (or converter) whose mels this polisher was trained on."""
    input_scale: float = 3.0
    """Mels normalised with the partner's per-band mean/std are divided by this to lie in about [-1, 1]."""
    channels: tuple[int, ...] = (16, 32, 64)
    """U-Net channels per level, finest first; len(channels) - 1 down-samplings by 2 in both axes."""
    bottleneck_blocks: int = 1
    """Extra 3x3 conv blocks at the coarsest level."""
    freq_coords: bool = True
    """Append a mel-band coordinate channel (-1..1), so the convolutions know which band they see."""
    max_correction: float = 1.0
    """Bound of the correction added to the scaled input (tanh x this); 0 = unbounded."""
    gv_scale: list = field(default_factory=list)
    """Per-band global-variance compensation applied before the U-Net (engine.models.polisher.gv_compensation),
    measured on the partner's free-running mels of training prompts; [] = none."""
    strength: float = 1.0
    """Fraction of the U-Net's correction applied at inference (0 = GV compensation only, 1 = all of it)."""
    envelope_order: int = 0
    """With > 0, the whole change (GV compensation and U-Net) is split per frame by a cosine transform over
    the bands (engine.models.polisher.envelope_split): coefficients 1..envelope_order-1 (the envelope) are
    scaled by envelope_gain, the rest (the level and finer detail) by detail_gain; 0 = the change as it is."""
    envelope_gain: float = 1.0
    """Fraction of the change's spectral envelope applied (with envelope_order > 0)."""
    detail_gain: float = 1.0
    """Factor of the change's finer detail and level (with envelope_order > 0)."""
    format_version: int = 1
    """Bundle format version."""

    @property
    def n_mels(self) -> int:
        return self.audio.n_mels

    @property
    def multiple(self) -> int:
        """Input sizes (bands and frames) are padded to a multiple of this."""
        return 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PolisherConfig":
        return config_from_dict(cls, d)
