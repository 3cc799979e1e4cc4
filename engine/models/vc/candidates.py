"""Choosing among several decodings of one source: the converter's own encoder listens to each.

The decoder's prenet dropout stays on at inference (Tacotron), so every draw of it speaks the source a
little differently, and some draws lose words that others keep (the shipped converter, 50 held-out
utterances, 4 draws each: pocketsphinx WER 0.36 for the best draw of each against 0.48 for any fixed one).
Here N draws are decoded as one batch and the one whose words the converter's encoder hears best is kept:
its CTC phoneme head reads the source's phonemes (greedy best path), then scores each converted mel by the
CTC loss of those phonemes, per phoneme. The encoder was trained across many voices (with vocal-tract
perturbation), so it reads the target voice's speech too. Draws whose alignment did not complete lose to
any that did.

Shapes: log-mels (n_mels, T) denormalised (the pipeline's segment mels); labels are class ids of
engine.layers.ctc_head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.layers.ctc_head import greedy_decode


@torch.inference_mode()
def source_phonemes(model, src: torch.Tensor, src_lengths: torch.Tensor) -> list[list[int]]:
    """Greedy CTC phonemes of normalised source mels (B, n_mels, T) -> class ids per item
    (empty lists when the model has no CTC head)."""
    _, _, enc_lengths, log_probs = model.encode(src, src_lengths, with_ctc=True)
    if log_probs is None:
        return [[] for _ in range(src.shape[0])]
    return greedy_decode(log_probs, enc_lengths)


@torch.inference_mode()
def consistency_scores(model, log_mels: list[torch.Tensor], labels: list[int]) -> list[float]:
    """CTC loss per phoneme of `labels` under the encoder's reading of each converted log-mel
    (n_mels, T_i): lower = the words come through better. Zeros when there is nothing to score."""
    if not labels or not log_mels or model.encoder.ctc is None:
        return [0.0] * len(log_mels)
    device = log_mels[0].device
    lengths = torch.tensor([m.shape[-1] for m in log_mels], device=device)
    batch = torch.zeros(len(log_mels), log_mels[0].shape[0], int(lengths.max()), device=device)
    for i, m in enumerate(log_mels):
        batch[i, :, : m.shape[-1]] = m
    _, _, enc_lengths, log_probs = model.encode(model.normalize_source(batch, lengths), lengths, with_ctc=True)
    n = len(log_mels)
    targets = torch.tensor(labels, device=device).repeat(n)
    target_lengths = torch.full((n,), len(labels), device=device, dtype=torch.long)
    loss = F.ctc_loss(log_probs.float().transpose(0, 1), targets, enc_lengths, target_lengths, blank=0,
                      reduction="none", zero_infinity=True)
    # zero_infinity makes an impossible alignment (too few frames for the phonemes) score 0: worst instead
    loss = torch.where(loss == 0, torch.full_like(loss, float("inf")), loss)
    return (loss / len(labels)).tolist()


def pick(scores: list[float], complete: list[bool]) -> int:
    """The index of the best-scoring draw among those with a complete alignment (among all when none is)."""
    pool = [i for i, ok in enumerate(complete) if ok] or list(range(len(scores)))
    return min(pool, key=lambda i: (scores[i], i))
