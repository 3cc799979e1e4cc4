"""VCConfig: the converter's hyperparameters, saved as the bundle's config.json."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.audio.config import AudioConfig
from engine.models.config_base import config_from_dict, config_to_dict
from engine.models.tacotron_config import TacotronConfig

DECODER_FIELDS = ("prenet", "prenet_dropout", "attention", "attention_rnn_dim", "attention_dim", "location_filters",
                  "location_kernel", "gmm_mixtures", "decoder", "decoder_dim", "decoder_layers", "r", "postnet",
                  "postnet_dim", "stop_threshold", "max_decoder_steps", "stop_requires_end", "end_tolerance",
                  "end_hold_steps", "attention_window")
"""Fields shared with TacotronConfig: they must equal the default voice's to start from its decoder."""


@dataclass
class VCConfig:
    kind: str = "vc"
    """Model kind, as written in config.json."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """The audio features read (source) and written (target)."""
    frontend_channels: int = 256
    """Channels of the conv front end over the source log-mel."""
    frontend_convs: int = 2
    """Conv layers (kernel 5, batch norm, ReLU) of the front end."""
    encoder_hidden: int = 128
    """Hidden size per direction of each pyramidal BLSTM layer."""
    pyramid_layers: int = 2
    """Pyramidal BLSTM layers; each halves the time steps (2 layers = 4x fewer, 50 ms per step)."""
    encoder_dropout: float = 0.1
    """Dropout between pyramid layers and before the CTC head (training only)."""
    encoder_dim: int = 256
    """Size of the encoder's memory for the attention (tanh projection of the BLSTM output)."""
    style_dim: int = 128
    """Size of a learned constant appended to every memory step (the default voice's default style
    embedding, so its decoder sees the memory layout it was trained on); 0 = none."""
    utterance_norm: bool = True
    """Subtract each source utterance's mean log-mel per band (level and microphone changes)."""
    ctc_classes: list = field(default_factory=list)
    """CTC classes: blank, stress-free ARPAbet phonemes, letters (engine.layers.ctc_head)."""
    symbols: dict = field(default_factory=dict)
    """The symbol set the CTC targets were made with (engine.text.SymbolSet.to_dict())."""
    ctc_weight: float = 0.5
    """Weight of the CTC phoneme loss on the encoder (0 = no text supervision)."""
    prenet: tuple[int, ...] = (256, 128)
    """Decoder prenet layer sizes."""
    prenet_dropout: float = 0.5
    """Prenet dropout, applied at training and inference."""
    attention: str = "location"
    """'location' (location-sensitive) or 'gmm'."""
    attention_rnn_dim: int = 256
    """Attention RNN size."""
    attention_dim: int = 128
    """Attention hidden size."""
    location_filters: int = 32
    """Location-sensitive attention: conv filters."""
    location_kernel: int = 31
    """Location-sensitive attention: conv kernel width."""
    gmm_mixtures: int = 5
    """GMM attention: mixtures."""
    decoder: str = "gru"
    """'gru' (residual GRU stack) or 'lstm'."""
    decoder_dim: int = 256
    """Decoder RNN size."""
    decoder_layers: int = 2
    """Decoder RNN layers."""
    r: int = 3
    """Mel frames per decoder step."""
    postnet: str = "cbhg"
    """'cbhg', 'conv' or 'none'."""
    postnet_dim: int = 256
    """Postnet channels (conv) or 2 x GRU size (cbhg)."""
    stop_threshold: float = 0.5
    """The decoder stops when the stop probability exceeds this (and the gate allows it)."""
    max_decoder_steps: int = 1500
    """Hard limit of decoder steps per segment."""
    max_steps_per_input: float = 4.0
    """Inference guard: at most this many decoder steps per encoder step."""
    stop_requires_end: bool = True
    """The stop token is obeyed only once the attention reached the last encoder steps."""
    end_tolerance: int = 0
    """How close to the last encoder step the attention peak must be for a stop (0 = on it, which
    is what alignment_complete asks)."""
    end_hold_steps: int = 12
    """Stop anyway this many steps after the attention reached the end (0 = never)."""
    attention_window: tuple[int, int] = (1, 3)
    """Inference-time monotonic window (back, ahead) around the previous attention peak; [] off."""
    init_decoder_from: str = "default"
    """Start the decoder, postnet and style from this Tacotron bundle ('' = from scratch); its
    decoder sizes must equal the fields above, and its mel statistics become the target's."""
    target: str = "slt"
    """The corpus speaker the converter speaks as."""
    sources: list = field(default_factory=list)
    """The source speakers it was trained on."""
    unseen: list = field(default_factory=list)
    """Corpus speakers kept out of training (evaluated as unseen voices)."""
    held_out: int = 100
    """Prompts held out of training (the last N ARCTIC ids): what `prufrock eval vc` evaluates on."""
    format_version: int = 1
    """config.json format version."""

    @property
    def n_mels(self) -> int:
        return self.audio.n_mels

    @property
    def memory_dim(self) -> int:
        return self.encoder_dim + self.style_dim

    def decoder_config(self) -> TacotronConfig:
        """The TacotronConfig the shared decoder and postnet are built from."""
        return TacotronConfig(audio=self.audio, gst_tokens=0, speakers=[],
                              **{name: getattr(self, name) for name in DECODER_FIELDS})

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VCConfig":
        return config_from_dict(cls, d)
