"""Tacotron / Tacotron 2 with Global Style Tokens and speaker embeddings, assembled from layers.

Shapes: symbols (B, T_text) long; symbol lengths (B,); mels (B, n_mels, T_frames) *normalised*
log-mels (per-band mean/std held in the model's buffers, saved in the bundle);
alignments (B, T_steps, T_text) with T_steps = T_frames / r.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.alignment.stop_gate import StopGate
from engine.layers.cbhg import CBHG
from engine.layers.conv_encoder import ConvEncoder
from engine.layers.gst import ReferenceEncoder, StyleTokenLayer
from engine.layers.masks import sequence_mask
from engine.layers.postnet import CBHGPostnet, ConvPostnet
from engine.layers.prenet import Prenet
from engine.models.tacotron_config import TacotronConfig
from engine.models.tacotron_decoder import TacotronDecoder


@dataclass
class DecoderChunk:
    """What the decoder produced since the previous chunk.

    mel: (B, n_mels, k * r) log-mel (denormalised, before the postnet);
    alignment: (B, k, T_text); stop_prob: (B, k); finished: (B,) bool, the items that have stopped;
    step: decoder steps so far; stopped_at: (B,) the step each item stopped at (0 = still running);
    stop_fired: (B,) True where the stop token (not a guard) ended the item.
    """

    mel: torch.Tensor
    alignment: torch.Tensor
    stop_prob: torch.Tensor
    finished: torch.Tensor
    step: int
    stopped_at: torch.Tensor | None = None
    stop_fired: torch.Tensor | None = None


def stream_decoder(decoder: TacotronDecoder, cfg, memory: torch.Tensor, mask: torch.Tensor,
                   memory_lengths: torch.Tensor, steps_per_input: float, denormalize, chunk_steps: int = 4,
                   temperature: float = 1.0, use_window: bool = True, max_steps: int | None = None, cancel=None,
                   seeds: list[int] | None = None):
    """Run a decoder free over encoded memory (B, T_in, D) and yield DecoderChunk objects: the one
    streaming loop of synthesis (symbols in) and conversion (source frames in).

    `cfg` supplies stop_threshold, stop_requires_end, end_tolerance, end_hold_steps, attention_window and
    max_decoder_steps; each item may take at most steps_per_input x its memory length + 10 steps (and
    max_steps). With `seeds` (one per item), each item's prenet dropout is drawn from its own generator,
    so an item decodes identically alone or in a batch.
    """
    item_limits = (steps_per_input * memory_lengths.float() + 10).long().clamp(max=cfg.max_decoder_steps)
    if max_steps is not None:
        item_limits = item_limits.clamp(max=max_steps)
    limit = int(item_limits.max())
    window = tuple(cfg.attention_window) if (use_window and cfg.attention_window) else None
    device = memory.device
    gate = StopGate(memory_lengths.to(device), item_limits, cfg.stop_threshold, cfg.stop_requires_end,
                    cfg.end_tolerance, cfg.end_hold_steps)
    masks = None
    if seeds is not None:
        per_item = [decoder.prenet.draw_masks(limit, int(s)) for s in seeds]
        masks = [torch.stack([m[i] for m in per_item]).to(device) for i in range(len(per_item[0]))]
    for mel, align, stop_prob, step in decoder.free_running(memory, mask, gate, limit, chunk_steps, window,
                                                            temperature, masks, cancel):
        yield DecoderChunk(denormalize(mel), align, stop_prob, gate.finished.clone(), step,
                           gate.stopped_at.clone(), gate.stop_fired.clone())


@torch.inference_mode()
def apply_postnet(model: nn.Module, log_mel: torch.Tensor) -> torch.Tensor:
    """A complete denormalised log-mel (B, n_mels, T) refined by `model`'s postnet (in its normalised
    space); unchanged when it has none. Shared by the voice and the converter."""
    if model.postnet is None:
        return log_mel
    mel = model.normalize(log_mel)
    return model.denormalize(mel + model.postnet(mel))


class Tacotron(nn.Module):
    def __init__(self, cfg: TacotronConfig) -> None:
        super().__init__()
        if cfg.n_symbols == 0:
            raise ValueError("TacotronConfig.symbols is empty")
        self.cfg = cfg
        n_mels = cfg.n_mels
        self.embedding = nn.Embedding(cfg.n_symbols, cfg.embedding_dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, 0.0, 0.3)
        if cfg.encoder == "cbhg":
            self.encoder_prenet = Prenet(cfg.embedding_dim, cfg.encoder_prenet, cfg.encoder_prenet_dropout)
            self.encoder_prenet.always_dropout = False
            self.encoder = CBHG(cfg.encoder_prenet[-1], K=cfg.encoder_K, bank_channels=128,
                                projections=(256, cfg.encoder_prenet[-1]), n_highway=4, gru_dim=cfg.encoder_dim // 2)
        elif cfg.encoder == "conv":
            self.encoder_prenet = nn.Identity()
            self.encoder = ConvEncoder(cfg.embedding_dim, cfg.encoder_dim)
        else:
            raise ValueError(f"unknown encoder {cfg.encoder!r}")
        memory_dim = cfg.encoder_dim
        if cfg.gst_tokens > 0:
            self.reference_encoder = ReferenceEncoder(n_mels, cfg.ref_filters, cfg.ref_gru_dim)
            self.style_tokens = StyleTokenLayer(cfg.ref_gru_dim, cfg.gst_tokens, cfg.gst_dim, cfg.gst_heads)
            memory_dim += cfg.gst_dim
            self.register_buffer("gst_default_weights", torch.full((cfg.gst_tokens,), 1.0 / cfg.gst_tokens))
        if len(cfg.speakers) > 1:
            self.speaker_embedding = nn.Embedding(len(cfg.speakers), cfg.speaker_dim)
            memory_dim += cfg.speaker_dim
        self.decoder = TacotronDecoder(cfg, memory_dim)
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

    # ----- normalisation (statistics live in the bundle) -------------------------------------
    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        if self.cfg.audio.normalization == "none":
            return log_mel
        return (log_mel - self.mel_mean[:, None]) / self.mel_std[:, None]

    def denormalize(self, mel: torch.Tensor) -> torch.Tensor:
        if self.cfg.audio.normalization == "none":
            return mel
        return mel * self.mel_std[:, None] + self.mel_mean[:, None]

    # ----- style -------------------------------------------------------------------------------
    @property
    def has_gst(self) -> bool:
        return self.cfg.gst_tokens > 0

    def style_from_reference(self, ref_mel: torch.Tensor, lengths: torch.Tensor | None = None):
        """Normalised reference mel (B, n_mels, T) -> (style (B, gst_dim), token weights (B, heads, N))."""
        return self.style_tokens(self.reference_encoder(ref_mel, lengths))

    def style_from_weights(self, token_weights: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, gst_dim)."""
        return self.style_tokens.from_weights(token_weights)

    def default_style(self, batch: int) -> torch.Tensor:
        return self.style_from_weights(self.gst_default_weights[None, :].expand(batch, -1))

    @torch.no_grad()
    def track_default_style(self, token_weights: torch.Tensor, momentum: float = 0.99) -> None:
        """Move the default style (a running mean of the token weights seen in training) towards
        this batch's mean weights. token_weights: (B, heads, n_tokens)."""
        batch_mean = token_weights.float().mean(dim=tuple(range(token_weights.dim() - 1)))
        self.gst_default_weights.mul_(momentum).add_((1.0 - momentum) * batch_mean)

    # ----- encoder -----------------------------------------------------------------------------
    def encode(self, symbols, symbol_lengths, style=None, speaker_ids=None):
        """-> memory (B, T_text, memory_dim), mask (B, T_text)."""
        x = self.encoder_prenet(self.embedding(symbols))
        memory = self.encoder(x, symbol_lengths)
        B, T = symbols.shape
        parts = [memory]
        if self.has_gst:
            if style is None:
                style = self.default_style(B)
            parts.append(style[:, None, :].expand(B, T, -1))
        if hasattr(self, "speaker_embedding"):
            if speaker_ids is None:
                speaker_ids = torch.zeros(B, dtype=torch.long, device=symbols.device)
            parts.append(self.speaker_embedding(speaker_ids)[:, None, :].expand(B, T, -1))
        return torch.cat(parts, dim=-1), sequence_mask(symbol_lengths, T)

    # ----- training: teacher-forced ------------------------------------------------------------
    def forward(self, symbols, symbol_lengths, mels, mel_lengths, speaker_ids=None, ref_mels=None, style=None):
        """Teacher-forced pass. mels (B, n_mels, T) normalised with T a multiple of r.

        The style comes from `style` (B, gst_dim) when given, else from the reference encoder over
        `ref_mels` (default: the target mels themselves, as in GST training).
        Returns dict: mel (B, n_mels, T), mel_post (B, n_mels, T), stop_logits (B, T_steps),
        alignments (B, T_steps, T_text), gst_weights (B, heads, N) or None.
        """
        r = self.cfg.r
        assert mels.shape[-1] % r == 0, "pad mels to a multiple of r"
        gst_weights = None
        if self.has_gst and style is None:
            ref = mels if ref_mels is None else ref_mels
            style, gst_weights = self.style_from_reference(ref, mel_lengths if ref_mels is None else None)
        memory, mask = self.encode(symbols, symbol_lengths, style, speaker_ids)
        mel, stop_logits, alignments = self.decoder.teacher_forced(memory, mask, mels)
        mel_post = mel + self.postnet(mel) if self.postnet is not None else mel
        return {
            "mel": mel, "mel_post": mel_post, "stop_logits": stop_logits,
            "alignments": alignments, "gst_weights": gst_weights,
        }

    # ----- inference: streaming ----------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, symbols, symbol_lengths, style=None, speaker_ids=None, chunk_steps: int = 4,
                 temperature: float = 1.0, use_window: bool = True, max_steps: int | None = None,
                 cancel=None, seeds: list[int] | None = None):
        """Yield DecoderChunk objects as the decoder runs (free-running, batch of sentences).

        Each item stops when its stop probability passes the threshold; the loop ends when all have
        stopped, at the step guard (max_steps_per_symbol x symbols, max_decoder_steps), or when
        `cancel()` returns True. With `seeds` (one per sentence), each sentence's prenet dropout
        is drawn from its own generator, so a sentence decodes identically alone or in a batch.
        """
        cfg = self.cfg
        memory, mask = self.encode(symbols, symbol_lengths, style, speaker_ids)
        yield from stream_decoder(self.decoder, cfg, memory, mask, symbol_lengths, cfg.max_steps_per_symbol,
                                  self.denormalize, chunk_steps, temperature, use_window, max_steps, cancel, seeds)

    def postprocess(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Apply the postnet to a complete denormalised log-mel (B, n_mels, T)."""
        return apply_postnet(self, log_mel)
