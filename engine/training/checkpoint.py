"""Training checkpoints: a folder per checkpoint, written to a temp folder and renamed when complete.

    RUN/checkpoints/step_0001000/model.safetensors      model weights (and buffers)
    RUN/checkpoints/step_0001000/optimizer.safetensors  optimizer tensors (no pickle)
    RUN/checkpoints/step_0001000/state.json             step, epoch, position, model config,
                                                        optimizer scalars, RNG state, metrics

A kill -9 at any moment leaves the previous complete checkpoint loadable: an unfinished one is a
hidden `.tmp-*` folder that loading ignores.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

CKPT_PREFIX = "step_"


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {"param_groups": sd["param_groups"], "state": {}}
    for pid, st in sd["state"].items():
        entry = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                entry[k] = v
        scalars["state"][str(pid)] = entry
    return tensors, scalars


def _unflatten_optimizer(tensors: dict, scalars: dict) -> dict:
    state: dict = {}
    for pid, entry in scalars["state"].items():
        state[int(pid)] = dict(entry)
    for key, v in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": scalars["param_groups"]}


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    state: dict, keep_last: int = 3) -> Path:
    """Write a checkpoint atomically and prune older ones (keeps the last `keep_last`)."""
    ckpt_root = Path(run_dir) / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"{CKPT_PREFIX}{step:07d}"
    tmp = ckpt_root / f".tmp-{CKPT_PREFIX}{step:07d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"))
    full_state = dict(state)
    full_state["step"] = step
    full_state["saved_at"] = time.time()
    full_state["torch_rng"] = torch.get_rng_state().tolist()
    if optimizer is not None:
        tensors, scalars = _flatten_optimizer(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        full_state["optimizer"] = scalars
    with open(tmp / "state.json", "w") as f:
        json.dump(full_state, f)
        f.flush()
        os.fsync(f.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.exists():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(CKPT_PREFIX)
             and (p / "state.json").exists() and (p / "model.safetensors").exists()]
    return sorted(found, key=lambda p: int(p.name[len(CKPT_PREFIX):]))


def latest_checkpoint(run_dir: Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def load_checkpoint(ckpt: Path, model: torch.nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None, restore_rng: bool = True) -> dict:
    """Load weights (and optimizer, RNG) into the given objects; returns the state dict."""
    ckpt = Path(ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    if model is not None:
        model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
    if optimizer is not None and (ckpt / "optimizer.safetensors").exists() and "optimizer" in state:
        tensors = load_file(str(ckpt / "optimizer.safetensors"))
        optimizer.load_state_dict(_unflatten_optimizer(tensors, state["optimizer"]))
    if restore_rng and "torch_rng" in state:
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    return state
