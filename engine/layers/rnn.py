"""Running a batch-first RNN over padded sequences."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def run_packed(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None):
    """(B, T, in) -> (outputs (B, T, out), final hidden state). Padded steps are skipped when
    `lengths` is given, so a sequence gives the same result alone or in a padded batch."""
    if lengths is None:
        return rnn(x)
    T = x.shape[1]
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, hidden = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    return out, hidden
