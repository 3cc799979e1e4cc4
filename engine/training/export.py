"""Turn a training checkpoint into a model bundle (config.json + model.safetensors + CARD.md)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch
from safetensors.torch import load_file

from engine.bundle import save_bundle
from engine.errors import BadInput
from engine.training.checkpoint import latest_checkpoint


def find_checkpoint(path: Path) -> Path:
    path = Path(path)
    if (path / "state.json").exists():
        return path
    ckpt = latest_checkpoint(path)
    if ckpt is None:
        raise BadInput(f"{path} holds no complete checkpoint")
    return ckpt


def run_summary(run_dir: Path) -> dict:
    """Steps, wall time and last validation metrics from a run's event log."""
    events_path = Path(run_dir) / "events.jsonl"
    info = {"wall_time_s": 0.0, "last_val": {}, "device": "", "segments": 0}
    if not events_path.exists():
        return info
    seg_start = None
    last_time = None
    for line in events_path.read_text().splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if e["type"] in ("start",):
            if seg_start is not None and last_time is not None:
                info["wall_time_s"] += last_time - seg_start
            seg_start = e["time"]
            info["device"] = e.get("device", "")
            info["segments"] += 1
        if e["type"] == "val":
            info["last_val"] = {k: v for k, v in e.items() if k not in ("type", "time")}
        last_time = e["time"]
    if seg_start is not None and last_time is not None:
        info["wall_time_s"] += last_time - seg_start
    return info


def export_checkpoint(src: Path, out_dir: Path, card: str | None = None, data_note: str = "") -> Path:
    ckpt = find_checkpoint(src)
    state = json.loads((ckpt / "state.json").read_text())
    config = state.get("config", {})
    model_cfg = config.get("model")
    if not model_cfg:
        raise BadInput(f"{ckpt} has no model config")
    weights = load_file(str(ckpt / "model.safetensors"))
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
