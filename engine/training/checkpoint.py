"""Training checkpoints: a folder per checkpoint holding named networks and their optimizers.

    RUN/checkpoints/step_0001000/model.safetensors             network "model" (weights and buffers)
    RUN/checkpoints/step_0001000/discriminator.safetensors     any further network, by name
    RUN/checkpoints/step_0001000/model.optimizer.safetensors   each optimizer's tensors (no pickle)
    RUN/checkpoints/step_0001000/state.json                    step, epoch, position, config, network and
                                                               optimizer names, optimizer scalars, RNG, metrics

A single-network recipe names its network "model", so its checkpoint is the familiar
model.safetensors. Frozen networks (teachers) are never written. The folder is filled under a hidden
`.tmp-*` name and renamed when complete, so a kill -9 at any moment leaves the previous checkpoint
loadable, and `list_checkpoints` is the one place that decides what a complete checkpoint is.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.fsutil import atomic_dir

CKPT_PREFIX = "step_"
DEFAULT_NETWORK = "model"
"""The name of a recipe's only (or exported) network."""


def _as_named(obj) -> dict:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    return {DEFAULT_NETWORK: obj}


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


def save_checkpoint(run_dir: Path, step: int, networks, optimizers=None, state: dict | None = None,
                    keep_last: int = 3) -> Path:
    """Write a checkpoint atomically and prune older ones (keeps the last `keep_last`).

    `networks` is a module (saved as "model") or {name: module}; `optimizers` likewise, keyed by the
    network each one steps."""
    networks, optimizers = _as_named(networks), _as_named(optimizers)
    ckpt_root = Path(run_dir) / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"{CKPT_PREFIX}{step:07d}"
    with atomic_dir(final, tmp_prefix=f".tmp-{final.name}-") as tmp:
        for name, net in networks.items():
            net = getattr(net, "module", net)
            weights = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            save_file(weights, str(tmp / f"{name}.safetensors"))
        full_state = dict(state or {})
        full_state.update(step=step, saved_at=time.time(), networks=sorted(networks),
                          torch_rng=torch.get_rng_state().tolist(), optimizers={})
        for name, opt in optimizers.items():
            tensors, scalars = _flatten_optimizer(opt)
            save_file(tensors, str(tmp / f"{name}.optimizer.safetensors"))
            full_state["optimizers"][name] = scalars
        with open(tmp / "state.json", "w") as f:
            json.dump(full_state, f)
            f.flush()
            os.fsync(f.fileno())
    for old in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_step(ckpt: Path) -> int:
    return int(Path(ckpt).name[len(CKPT_PREFIX):])


def _is_complete(p: Path) -> bool:
    if not (p.is_dir() and p.name.startswith(CKPT_PREFIX) and p.name[len(CKPT_PREFIX):].isdigit()):
        return False
    try:
        state = json.loads((p / "state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    names = state.get("networks", [DEFAULT_NETWORK])
    return all((p / f"{n}.safetensors").exists() for n in names)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (unfinished `.tmp-*` folders are never listed)."""
    root = Path(run_dir) / "checkpoints"
    if not root.exists():
        return []
    return sorted((p for p in root.iterdir() if _is_complete(p)), key=checkpoint_step)


def latest_checkpoint(run_dir: Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def read_state(ckpt: Path) -> dict:
    return json.loads((Path(ckpt) / "state.json").read_text())


def network_weights(ckpt: Path, name: str = DEFAULT_NETWORK) -> dict[str, torch.Tensor]:
    """The weights of one named network of a checkpoint."""
    return load_file(str(Path(ckpt) / f"{name}.safetensors"))


def load_checkpoint(ckpt: Path, networks=None, optimizers=None, restore_rng: bool = True) -> dict:
    """Load weights (and optimizers, RNG) into the given objects; returns the state dict.

    `networks`/`optimizers`: a module/optimizer (the network "model") or {name: ...}; names the
    checkpoint does not hold are left as they are."""
    ckpt = Path(ckpt)
    state = read_state(ckpt)
    for name, net in _as_named(networks).items():
        path = ckpt / f"{name}.safetensors"
        if path.exists():
            getattr(net, "module", net).load_state_dict(load_file(str(path)))
    saved_opts = state.get("optimizers", {})
    if "optimizer" in state and not saved_opts:  # format of the first version: one optimizer
        saved_opts = {DEFAULT_NETWORK: state["optimizer"]}
    for name, opt in _as_named(optimizers).items():
        path = ckpt / f"{name}.optimizer.safetensors"
        if not path.exists() and name == DEFAULT_NETWORK:
            path = ckpt / "optimizer.safetensors"
        if name in saved_opts and path.exists():
            opt.load_state_dict(_unflatten_optimizer(load_file(str(path)), saved_opts[name]))
    if restore_rng and "torch_rng" in state:
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    return state
