"""The converter: speech encoder (engine.models.vc.encoder) + the Tacotron decoder and postnet.

Shapes: source mels (B, n_mels, T_src) normalised with the source statistics; target mels
(B, n_mels, T_tgt) normalised with the target (default voice's) statistics, T_tgt a multiple of r;
alignments (B, T_steps, T_enc) with T_steps = T_tgt / r.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.masks import sequence_mask
from engine.layers.postnet import CBHGPostnet, ConvPostnet
from engine.models.tacotron import apply_postnet, stream_decoder
from engine.models.tacotron_decoder import TacotronDecoder
from engine.models.vc.config import VCConfig
from engine.models.vc.encoder import SpeechEncoder


class Converter(nn.Module):
    def __init__(self, cfg: VCConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n_mels = cfg.n_mels
        self.encoder = SpeechEncoder(n_mels, cfg.frontend_channels, cfg.frontend_convs, cfg.encoder_hidden,
                                     cfg.pyramid_layers, cfg.encoder_dim, len(cfg.ctc_classes), cfg.encoder_dropout)
        if cfg.style_dim > 0:
            self.style = nn.Parameter(torch.zeros(cfg.style_dim))
        dcfg = cfg.decoder_config()
        self.decoder = TacotronDecoder(dcfg, cfg.memory_dim)
        if cfg.postnet == "cbhg":
            self.postnet = CBHGPostnet(n_mels, K=8, gru_dim=cfg.postnet_dim // 2)
        elif cfg.postnet == "conv":
            self.postnet = ConvPostnet(n_mels, cfg.postnet_dim)
        elif cfg.postnet == "none":
            self.postnet = None
        else:
            raise ValueError(f"unknown postnet {cfg.postnet!r}")
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))
        self.register_buffer("src_mean", torch.zeros(n_mels))
        self.register_buffer("src_std", torch.ones(n_mels))

    # ----- normalisation (statistics live in the bundle) -------------------------------------
    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Target side (the default voice's statistics, shared with the vocoders)."""
        return (log_mel - self.mel_mean[:, None]) / self.mel_std[:, None]

    def denormalize(self, mel: torch.Tensor) -> torch.Tensor:
        return mel * self.mel_std[:, None] + self.mel_mean[:, None]

    def normalize_source(self, log_mel: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, n_mels, T) source log-mel -> encoder input; with utterance_norm each utterance's own
        per-band mean (over its valid frames) replaces the corpus mean."""
        if self.cfg.utterance_norm:
            T = log_mel.shape[-1]
            if lengths is None:
                mean = log_mel.mean(dim=-1, keepdim=True)
            else:
                m = sequence_mask(lengths.to(log_mel.device), T).to(log_mel.dtype)[:, None, :]
                mean = (log_mel * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
            out = (log_mel - mean) / self.src_std[:, None]
            if lengths is not None:
                out = out * sequence_mask(lengths.to(log_mel.device), T).to(log_mel.dtype)[:, None, :]
            return out
        return (log_mel - self.src_mean[:, None]) / self.src_std[:, None]

    # ----- encoder -----------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor, with_ctc: bool = True):
        """-> memory (B, T_enc, memory_dim), mask (B, T_enc), enc_lengths (B,), ctc log-probs or None."""
        memory, enc_lengths, log_probs = self.encoder(src, src_lengths, with_ctc)
        if self.cfg.style_dim > 0:
            B, T = memory.shape[:2]
            memory = torch.cat([memory, self.style[None, None, :].expand(B, T, -1)], dim=-1)
        return memory, sequence_mask(enc_lengths, memory.shape[1]), enc_lengths, log_probs

    # ----- training: teacher-forced ------------------------------------------------------------
    def forward(self, src, src_lengths, mels, mel_lengths=None, postnet: bool = True):
        """Teacher-forced pass -> dict: mel, mel_post (B, n_mels, T), stop_logits (B, T_steps),
        alignments (B, T_steps, T_enc), ctc_log_probs (B, T_enc, C) or None, enc_lengths (B,),
        memory (B, T_enc, memory_dim).
        With postnet False, mel_post is mel (training with a frozen postnet skips it)."""
        memory, mask, enc_lengths, log_probs = self.encode(src, src_lengths)
        mel, stops, aligns = self.decoder.teacher_forced(memory, mask, mels)
        mel_post = mel + self.postnet(mel) if (postnet and self.postnet is not None) else mel
        return {"mel": mel, "mel_post": mel_post, "stop_logits": stops, "alignments": aligns,
                "ctc_log_probs": log_probs, "enc_lengths": enc_lengths, "memory": memory}

    # ----- inference: streaming ----------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, src, src_lengths, chunk_steps: int = 4, temperature: float = 1.0, use_window: bool = True,
                 max_steps: int | None = None, cancel=None, seeds: list[int] | None = None):
        """Yield DecoderChunk objects (engine.models.tacotron) as the decoder runs over a batch of
        normalised source mels; the same stop gate and window as synthesis."""
        cfg = self.cfg
        memory, mask, enc_lengths, _ = self.encode(src, src_lengths, with_ctc=False)
        yield from stream_decoder(self.decoder, cfg, memory, mask, enc_lengths, cfg.max_steps_per_input,
                                  self.denormalize, chunk_steps, temperature, use_window, max_steps, cancel, seeds)

    def postprocess(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Apply the postnet to a complete denormalised log-mel (B, n_mels, T)."""
        return apply_postnet(self, log_mel)

    # ----- starting from the default voice -----------------------------------------------------
    def load_decoder_from(self, tacotron) -> list[str]:
        """Copy decoder, postnet, target mel statistics and (when sizes allow) the default style
        embedding from a Tacotron model. The attention's memory layer and the decoder inputs that
        read the memory keep the Tacotron's weights: the encoder learns to fill that memory."""
        copied = []
        own = self.state_dict()
        for prefix in ("decoder.", "postnet."):
            for k, v in tacotron.state_dict().items():
                if k.startswith(prefix) and k in own and own[k].shape == v.shape:
                    own[k] = v.clone()
                    copied.append(k)
        self.load_state_dict(own)
        self.mel_mean.copy_(tacotron.mel_mean)
        self.mel_std.copy_(tacotron.mel_std)
        if self.cfg.style_dim > 0 and getattr(tacotron, "has_gst", False) and tacotron.cfg.gst_dim == self.cfg.style_dim:
            with torch.no_grad():
                self.style.copy_(tacotron.default_style(1)[0])
            copied.append("style")
        return copied
