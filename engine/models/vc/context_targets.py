"""Attention-context targets from the default voice, for the converter's context loss.

The converter's decoder is started from the default voice's, which learned to speak from attention
contexts over a *text* encoder. Run the voice teacher-forced on the converter's target recording of the
same sentence and the context it reads at each decoder step, c_tts(t) = sum_j a(t, j) text_memory(j), is
exactly what that decoder knows how to say. The loss pulls the converter's own context,
c_vc(t) = sum_j a_vc(t, j) speech_memory(j), toward it (both decoders teacher-forced on the same target
frames, so step t is the same moment in both), which teaches the speech encoder to fill the memory with
what is said in the form the decoder reads best.

Only the encoder part of the memory is compared (the first `dim` channels): the style part is the
converter's learned constant on one side and a GST embedding on the other.
"""

from __future__ import annotations

import torch

from engine.alignment import alignment_complete


@torch.no_grad()
def voice_contexts(voice: str, texts: dict[str, str], mels: dict[str, torch.Tensor], dim: int, log,
                   batch: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    """The voice's teacher-forced attention contexts.

    voice: a Tacotron bundle name or path; texts: id -> sentence; mels: id -> log-mel (n_mels, T) of the
    target recording (not normalised); dim: how many memory channels to keep.
    -> id -> context (T_steps, dim) float16, T_steps = ceil(T / r), for the sentences the voice can read
    and aligns completely on (the others get no target and no loss)."""
    from engine.bundle import load_bundle
    from engine.models.registry import build_model
    from engine.text import SymbolSet

    bundle = load_bundle(voice, kind="tacotron")
    model = build_model(bundle, "cpu")
    model.eval()
    if model.cfg.encoder_dim < dim:
        raise ValueError(f"{bundle.name}: its text memory has {model.cfg.encoder_dim} channels, fewer than {dim}")
    symbols = SymbolSet.from_dict(model.cfg.symbols)
    r = model.cfg.r
    todo = []
    for key, text in texts.items():
        if key not in mels:
            continue
        try:
            todo.append((key, symbols.encode(text)))
        except Exception:  # noqa: BLE001 - text the voice cannot read: no context target
            continue
    todo.sort(key=lambda kv: mels[kv[0]].shape[-1])
    torch.manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    rejected = 0
    for i in range(0, len(todo), batch):
        group = todo[i:i + batch]
        B = len(group)
        lens = [mels[k].shape[-1] for k, _ in group]
        T = (max(lens) + r - 1) // r * r
        sym = torch.zeros(B, max(len(ids) for _, ids in group), dtype=torch.long)
        target = torch.zeros(B, model.cfg.audio.n_mels, T)
        for j, (k, ids) in enumerate(group):
            sym[j, : len(ids)] = torch.tensor(ids)
            m = model.normalize(mels[k].float())
            target[j, :, : m.shape[-1]] = m
            target[j, :, m.shape[-1]:] = m[:, -1:]
        sym_lens = torch.tensor([len(ids) for _, ids in group])
        memory, _ = model.encode(sym, sym_lens, model.default_style(B) if model.has_gst else None)
        res = model(sym, sym_lens, target, torch.tensor(lens))
        context = torch.bmm(res["alignments"].float(), memory[..., :dim].float())  # (B, T_steps, dim)
        for j, (k, ids) in enumerate(group):
            steps = (lens[j] + r - 1) // r
            if not alignment_complete(res["alignments"][j, :steps, : len(ids)].numpy()):
                rejected += 1
                continue
            out[k] = context[j, :steps].half().contiguous()
    log(f"context targets from {bundle.name}: {len(out)} sentences ({rejected} not aligned completely, skipped)")
    return out


def context_loss(alignments: torch.Tensor, memory: torch.Tensor, targets: list, step_lengths: torch.Tensor):
    """Mean squared distance between the converter's attention contexts and the voice's.

    alignments (B, T_steps, T_enc); memory (B, T_enc, D) with D >= dim; targets: per item a (T_i, dim)
    tensor or None (no target: left out); step_lengths (B,). -> scalar, or None when no item has a target."""
    B, S, _ = alignments.shape
    have = [i for i, t in enumerate(targets) if t is not None]
    if not have:
        return None
    dim = targets[have[0]].shape[-1]
    idx = torch.tensor(have, device=alignments.device)
    context = torch.bmm(alignments[idx].float(), memory[idx, :, :dim].float())  # (b, S, dim)
    goal = torch.zeros_like(context)
    mask = torch.zeros(len(have), S, device=alignments.device)
    for n, i in enumerate(have):
        t = targets[i]
        steps = min(t.shape[0], S, int(step_lengths[i]))
        goal[n, :steps] = t[:steps].to(goal)
        mask[n, :steps] = 1.0
    sq = ((context - goal) ** 2).mean(-1)  # (b, S)
    return (sq * mask).sum() / mask.sum().clamp(min=1)
