"""The Tacotron decoder: prenet -> attention RNN -> attention -> decoder RNN stack -> r frames + stop.

One step at a time (`step`), so training (teacher forcing) and streaming inference run the very
same computation. `teacher_forced` and `free_running` are the two loops over it that every attention
model reading a memory shares (Tacotron over text, the converter over speech).
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.attention import build_attention
from engine.layers.prenet import Prenet
from engine.layers.reduction import decoder_inputs_from_frames, frames_from_steps
from engine.models.tacotron_config import TacotronConfig


class DecoderState(dict):
    """Recurrent state of the decoder: a dict of tensors (attention RNN, decoder RNNs, context,
    attention state)."""


class TacotronDecoder(nn.Module):
    def __init__(self, cfg: TacotronConfig, memory_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.r, self.n_mels = cfg.r, cfg.n_mels
        self.lstm = cfg.decoder == "lstm"
        cell = nn.LSTMCell if self.lstm else nn.GRUCell
        self.prenet = Prenet(cfg.n_mels, cfg.prenet, cfg.prenet_dropout)
        self.attention_rnn = cell(cfg.prenet[-1] + memory_dim, cfg.attention_rnn_dim)
        self.attention = build_attention(cfg.attention, cfg.attention_rnn_dim, memory_dim, cfg.attention_dim,
                                         cfg.location_filters, cfg.location_kernel, cfg.gmm_mixtures)
        self.input_proj = nn.Linear(cfg.attention_rnn_dim + memory_dim, cfg.decoder_dim)
        self.rnns = nn.ModuleList(cell(cfg.decoder_dim, cfg.decoder_dim) for _ in range(cfg.decoder_layers))
        self.mel_proj = nn.Linear(cfg.decoder_dim + memory_dim, cfg.n_mels * cfg.r)
        self.stop_proj = nn.Linear(cfg.decoder_dim + memory_dim, 1)
        self.memory_dim = memory_dim

    def _zeros_cell(self, B, dim, ref):
        z = ref.new_zeros(B, dim)
        return (z, z.clone()) if self.lstm else z

    def init_state(self, memory: torch.Tensor, mask: torch.Tensor) -> DecoderState:
        B = memory.shape[0]
        return DecoderState(
            attention_rnn=self._zeros_cell(B, self.cfg.attention_rnn_dim, memory),
            rnns=[self._zeros_cell(B, self.cfg.decoder_dim, memory) for _ in self.rnns],
            context=memory.new_zeros(B, self.memory_dim),
            attention=self.attention.init_state(memory, mask),
        )

    def go_frame(self, memory: torch.Tensor) -> torch.Tensor:
        return memory.new_zeros(memory.shape[0], self.n_mels)

    def step(self, prev_frame, state: DecoderState, memory, processed_memory, mask, window=None,
             temperature: float = 1.0, prenet_masks=None):
        """One decoder step.

        prev_frame (B, n_mels) normalised -> frames (B, r * n_mels), stop logit (B,),
        attention weights (B, T_in), new state. `prenet_masks`: per-layer (B, size) keep-masks.
        """
        x = self.prenet(prev_frame, prenet_masks)
        att_state = self.attention_rnn(torch.cat([x, state["context"]], dim=-1), state["attention_rnn"])
        query = att_state[0] if self.lstm else att_state
        context, weights, attn = self.attention(query, memory, processed_memory, mask, state["attention"],
                                                window=window, temperature=temperature)
        h = self.input_proj(torch.cat([query, context], dim=-1))
        new_rnns = []
        for rnn, s in zip(self.rnns, state["rnns"]):
            s = rnn(h, s)
            out = s[0] if self.lstm else s
            h = out if self.lstm else h + out  # residual connections in the GRU (Tacotron) stack
            new_rnns.append(s)
        features = torch.cat([h, context], dim=-1)
        frames = self.mel_proj(features)
        stop_logit = self.stop_proj(features).squeeze(-1)
        new_state = DecoderState(attention_rnn=att_state, rnns=new_rnns, context=context, attention=attn)
        return frames, stop_logit, weights, new_state

    # ----- the two loops over `step` ------------------------------------------------------------
    def teacher_forced(self, memory, mask, mels):
        """Training pass. memory (B, T_in, memory_dim), mask (B, T_in), mels (B, n_mels, T) normalised
        with T a multiple of r -> (mel (B, n_mels, T), stop logits (B, T_steps), alignments
        (B, T_steps, T_in))."""
        assert mels.shape[-1] % self.r == 0, "pad mels to a multiple of r"
        processed = self.attention.preprocess_memory(memory)
        state = self.init_state(memory, mask)
        inputs = decoder_inputs_from_frames(mels, self.r)  # (B, T_steps, n_mels)
        prev = self.go_frame(memory)
        outs, stops, aligns = [], [], []
        for t in range(inputs.shape[1]):
            frames, stop, weights, state = self.step(prev, state, memory, processed, mask)
            outs.append(frames)
            stops.append(stop)
            aligns.append(weights)
            prev = inputs[:, t]
        mel = frames_from_steps(torch.stack(outs, dim=1), self.r, self.n_mels)
        return mel, torch.stack(stops, dim=1), torch.stack(aligns, dim=1)

    def free_running(self, memory, mask, gate, limit: int, chunk_steps: int = 4, window=None,
                     temperature: float = 1.0, prenet_masks=None, cancel=None):
        """Inference: feed back its own frames until `gate` (engine.alignment.StopGate) has stopped
        every item, `limit` steps, or `cancel()`. Yields (mel (B, n_mels, k * r) normalised,
        alignment (B, k, T_in), stop prob (B, k), step) every `chunk_steps` steps and at the end.
        `prenet_masks`: per-layer (B, limit, size) keep-masks (per-sentence seeds), or None."""
        processed = self.attention.preprocess_memory(memory)
        state = self.init_state(memory, mask)
        prev = self.go_frame(memory)
        buf_frames, buf_align, buf_stop = [], [], []
        for step in range(1, limit + 1):
            step_masks = [m[:, step - 1] for m in prenet_masks] if prenet_masks is not None else None
            frames, stop_logit, weights, state = self.step(prev, state, memory, processed, mask, window=window,
                                                           temperature=temperature, prenet_masks=step_masks)
            stop_prob = torch.sigmoid(stop_logit)
            buf_frames.append(frames)
            buf_align.append(weights)
            buf_stop.append(stop_prob)
            gate.update(step, stop_prob, weights)
            prev = frames[:, -self.n_mels:]
            done = gate.all_finished or step == limit or (cancel is not None and cancel())
            if len(buf_frames) >= chunk_steps or done:
                mel = frames_from_steps(torch.stack(buf_frames, dim=1), self.r, self.n_mels)
                yield mel, torch.stack(buf_align, dim=1), torch.stack(buf_stop, dim=1), step
                buf_frames, buf_align, buf_stop = [], [], []
            if done:
                return
