"""Teacher-forced mels of a Tacotron voice for a vocoder's training audio: the voice reads the text
while being fed the true previous frames, so its output mel is aligned frame by frame with the
recording and carries the voice's own smoothing (what the vocoder hears at synthesis time).

Cached as .npy per utterance under the feature cache (keyed by the voice's weights)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from engine.data.cache import atomic_save_npy


def teacher_forced_mels(items, voice: str, log, batch: int = 16, cache_root: Path | None = None) -> int:
    """Fill item.tf_mel (n_mels, T) for every item whose text the voice can read; -> count filled."""
    from engine.bundle import load_bundle
    from engine.models.registry import build_model
    from engine.models.wavenet.recipe import default_cache_dir
    from engine.text import SymbolSet

    bundle = load_bundle(voice, kind="tacotron")
    st = os.stat(bundle.path / "model.safetensors")
    key = hashlib.sha1(f"{bundle.path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:12]
    root = (cache_root or default_cache_dir()) / f"teacher-forced-{bundle.name}-{key}"
    root.mkdir(parents=True, exist_ok=True)
    model = build_model(bundle, "cpu")
    symbols = SymbolSet.from_dict(model.cfg.symbols)
    r = model.cfg.r
    todo = []
    for it in items:
        path = root / f"{it.speaker}-{it.id}-{it.mel.shape[-1]}.npy"
        if path.exists():
            it.tf_mel = torch.from_numpy(np.load(path))
        else:
            try:
                ids = symbols.encode(it.text)
            except Exception:  # noqa: BLE001 - text the voice cannot read: keep ground truth
                continue
            todo.append((it, ids, path))
    log(f"teacher-forced mels from {bundle.name}: {len(items) - len(todo)} cached, {len(todo)} to compute")
    todo.sort(key=lambda x: x[0].mel.shape[-1])
    torch.manual_seed(0)
    for i in range(0, len(todo), batch):
        group = todo[i:i + batch]
        B = len(group)
        T_sym = max(len(ids) for _, ids, _ in group)
        lens = [it.mel.shape[-1] for it, _, _ in group]
        T = (max(lens) + r - 1) // r * r
        sym = torch.zeros(B, T_sym, dtype=torch.long)
        mels = torch.zeros(B, model.cfg.audio.n_mels, T)
        for j, (it, ids, _) in enumerate(group):
            sym[j, : len(ids)] = torch.tensor(ids)
            m = model.normalize(it.mel)
            mels[j, :, : m.shape[-1]] = m
            mels[j, :, m.shape[-1]:] = m[:, -1:]
        with torch.no_grad():
            out = model(sym, torch.tensor([len(ids) for _, ids, _ in group]), mels, torch.tensor(lens))
            post = model.denormalize(out["mel_post"])
        for j, (it, _, path) in enumerate(group):
            tf = post[j, :, : lens[j]].float().contiguous()
            atomic_save_npy(path, tf.numpy())
            it.tf_mel = tf
        log(f"teacher-forced mels: {min(i + batch, len(todo))}/{len(todo)}")
    return sum(it.tf_mel is not None for it in items)
