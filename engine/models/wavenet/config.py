"""WaveNetConfig: the vocoder's hyperparameters, saved beside its weights (config.json)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.audio.config import AudioConfig
from engine.models.config_base import config_from_dict, config_to_dict


@dataclass
class WaveNetConfig:
    kind: str = "wavenet"
    """Model kind, as written in config.json."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """The mel configuration the vocoder is conditioned on (a voice with another one is refused)."""
    quantization_channels: int = 256
    """Classes of the mu-law softmax output (256 = 8-bit mu-law)."""
    residual_channels: int = 32
    """Channels of the residual stream."""
    gate_channels: int = 32
    """Channels of the gated unit (the dilated conv outputs 2 x this: tanh half and sigmoid half)."""
    skip_channels: int = 64
    """Channels of the skip connections summed over the layers."""
    head_channels: int = 64
    """Hidden channels of the output head (ReLU, 1x1, ReLU, 1x1 -> classes)."""
    layers: int = 16
    """Residual layers in all."""
    cycles: int = 2
    """Dilation cycles: dilations 1, 2, ..., 2^(layers/cycles - 1), repeated."""
    cond_channels: int = 32
    """Channels of the learned, sample-rate conditioning from the mel upsampler."""
    cond_frame_kernel: int = 5
    """Kernel (frames) of the upsampler's frame-rate convolution (non-causal context)."""
    upsample_scales: tuple[int, ...] = (10, 20)
    """Upsampling stages (repeat + smoothing conv); their product must equal audio.hop_length."""
    speakers: list = field(default_factory=list)
    """Speaker names for global conditioning (an embedding per speaker); [] or one name = none."""
    speaker_dim: int = 16
    """Size of the speaker embedding (global conditioning)."""
    temperature: float = 1.0
    """Softmax temperature the vocoder samples with (1 = the model's distribution; lower = less noise)."""
    data_note: str = ""
    """What the vocoder was trained on (informative)."""

    def __post_init__(self) -> None:
        if self.layers % self.cycles:
            raise ValueError("layers must be a multiple of cycles")
        prod = 1
        for s in self.upsample_scales:
            prod *= int(s)
        if prod != self.audio.hop_length:
            raise ValueError(f"upsample_scales multiply to {prod}, not hop_length {self.audio.hop_length}")

    @property
    def dilations(self) -> list[int]:
        per = self.layers // self.cycles
        return [2 ** (i % per) for i in range(self.layers)]

    @property
    def receptive_field(self) -> int:
        """Past samples a prediction sees (kernel 2 dilated convs + the current input)."""
        return sum(self.dilations) + 1

    @property
    def multi_speaker(self) -> bool:
        return len(self.speakers) > 1

    def to_dict(self) -> dict:
        d = config_to_dict(self)
        d["speakers"] = list(self.speakers)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "WaveNetConfig":
        return config_from_dict(cls, d, ignore=("format_version", "teacher", "card"))
