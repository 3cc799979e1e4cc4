"""Turn a training checkpoint into a model bundle (config.json + model.safetensors + CARD.md)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from engine.bundle import save_bundle
from engine.errors import BadInput
from engine.training.checkpoint import DEFAULT_NETWORK, latest_checkpoint, network_weights
from engine.training.events import read_run


def find_checkpoint(path: Path) -> Path:
    path = Path(path)
    if (path / "state.json").exists():
        return path
    ckpt = latest_checkpoint(path)
    if ckpt is None:
        raise BadInput(f"{path} holds no complete checkpoint")
    return ckpt


def run_summary(run_dir: Path) -> dict:
    """Steps, wall time and last validation metrics from a run's event log (through the fold)."""
    state = read_run(run_dir)
    return {"wall_time_s": state.wall_time_s, "last_val": state.last_val, "device": state.device,
            "segments": len(state.segments), "step": state.step, "status": state.status}


def export_checkpoint(src: Path, out_dir: Path, card: str | None = None, data_note: str = "") -> Path:
    ckpt = find_checkpoint(src)
    state = json.loads((ckpt / "state.json").read_text())
    config = state.get("config", {})
    model_cfg = config.get("model")
    if not model_cfg:
        raise BadInput(f"{ckpt} has no model config")
    weights = network_weights(ckpt, state.get("export_network", DEFAULT_NETWORK))
    run_dir = ckpt.parent.parent
    if card is None:
        summary = run_summary(run_dir)
        card = (
            f"# {Path(out_dir).name}: {config.get('kind', model_cfg.get('kind'))} model\n\n"
            f"Exported from run `{run_dir.name}`, checkpoint step {state['step']}.\n\n"
            f"- Training data: {data_note or 'see the run folder'}\n"
            f"- Steps: {state['step']}\n"
            f"- Wall time: {summary['wall_time_s'] / 3600:.2f} h on {summary['device'] or 'unknown device'} "
            f"({platform.processor() or platform.machine()})\n"
            f"- Last validation: {json.dumps(summary['last_val'])}\n"
        )
    return save_bundle(out_dir, model_cfg, weights, card)
