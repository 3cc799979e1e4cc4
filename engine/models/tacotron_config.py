"""TacotronConfig: Tacotron (CBHG encoder, GRU decoder stack) and Tacotron 2 (conv encoder, LSTM
decoder, conv postnet) are variants of one config; Global Style Tokens and speakers are options."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.audio.config import AudioConfig
from engine.models.config_base import config_from_dict, config_to_dict


@dataclass
class TacotronConfig:
    kind: str = "tacotron"
    """Model kind, as written in config.json."""
    variant: str = "tacotron"
    """'tacotron' or 'tacotron2' (informative: the fields below decide the architecture)."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """The audio features the model reads and writes."""
    symbols: dict = field(default_factory=dict)
    """The symbol set (engine.text.SymbolSet.to_dict())."""
    embedding_dim: int = 256
    """Symbol embedding size."""
    encoder: str = "cbhg"
    """'cbhg' (Tacotron: prenet + CBHG) or 'conv' (Tacotron 2: 3 convs + BiLSTM)."""
    encoder_prenet: tuple[int, ...] = (256, 128)
    """Encoder prenet sizes (cbhg encoder only)."""
    encoder_prenet_dropout: float = 0.5
    """Dropout of the encoder prenet (training only)."""
    encoder_K: int = 16
    """Widths 1..K of the CBHG conv bank."""
    encoder_dim: int = 256
    """Encoder output size (2 x GRU size for CBHG)."""
    prenet: tuple[int, ...] = (256, 128)
    """Decoder prenet layer sizes."""
    prenet_dropout: float = 0.5
    """Prenet dropout, applied at training and inference."""
    attention: str = "location"
    """'location' (location-sensitive, Chorowski) or 'gmm' (Graves GMM)."""
    attention_rnn_dim: int = 256
    """Attention RNN (GRU cell) size."""
    attention_dim: int = 128
    """Attention hidden size."""
    location_filters: int = 32
    """Location-sensitive attention: conv filters over the previous/cumulative alignment."""
    location_kernel: int = 31
    """Location-sensitive attention: kernel width of that conv."""
    gmm_mixtures: int = 5
    """GMM attention: number of mixtures."""
    decoder: str = "gru"
    """'gru' (Tacotron: GRU stack with residuals) or 'lstm' (Tacotron 2: LSTM stack)."""
    decoder_dim: int = 256
    """Decoder RNN size."""
    decoder_layers: int = 2
    """Decoder RNN layers."""
    r: int = 3
    """Reduction factor: mel frames emitted per decoder step."""
    postnet: str = "cbhg"
    """'cbhg', 'conv' or 'none': refines the decoder mel."""
    postnet_dim: int = 256
    """Postnet channels (conv) or 2 x GRU size (cbhg)."""
    gst_tokens: int = 10
    """Global style tokens (0 disables GST)."""
    gst_dim: int = 128
    """Style embedding size."""
    gst_heads: int = 4
    """Style attention heads."""
    ref_filters: tuple[int, ...] = (32, 32, 64, 64, 128, 128)
    """Reference encoder conv2d channels."""
    ref_gru_dim: int = 128
    """Reference encoder GRU size."""
    speakers: list = field(default_factory=list)
    """Speaker names (a speaker embedding is used when there is more than one)."""
    speaker_dim: int = 64
    """Speaker embedding size."""
    stop_threshold: float = 0.5
    """The decoder stops when the stop probability exceeds this."""
    max_decoder_steps: int = 1000
    """Hard limit of decoder steps per sentence (x r frames)."""
    max_steps_per_symbol: float = 12.0
    """Inference guard: at most this many decoder steps per input symbol."""
    stop_requires_end: bool = True
    """Inference: the stop token is obeyed only once the attention has reached the last
    `end_tolerance` input symbols (a premature stop would cut the last words)."""
    end_tolerance: int = 0
    """Inference: how close to the last input symbol the attention peak must be for a stop."""
    end_hold_steps: int = 12
    """Inference: stop anyway this many steps after the attention reached the end (0 = never)."""
    attention_window: tuple[int, int] = (1, 3)
    """Inference-time monotonic window (back, ahead) around the previous attention peak; [] off."""
    teacher: str = ""
    """The system voice the training corpus was rendered with, if any (e.g. 'slt'); eval compares
    against it."""
    format_version: int = 1
    """config.json format version."""

    @property
    def n_symbols(self) -> int:
        return len(self.symbols.get("symbols", []))

    @property
    def n_mels(self) -> int:
        return self.audio.n_mels

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TacotronConfig":
        return config_from_dict(cls, d)

    @classmethod
    def tacotron2(cls, **overrides) -> "TacotronConfig":
        """The Tacotron 2 variant: conv encoder + BiLSTM, two-layer LSTM decoder, conv postnet."""
        base = dict(variant="tacotron2", encoder="conv", decoder="lstm", postnet="conv", r=2)
        base.update(overrides)
        return cls(**base)
