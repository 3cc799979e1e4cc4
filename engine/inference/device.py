"""Device choice: auto = CUDA when present."""

from __future__ import annotations

import torch

from engine.errors import BadInput


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda asked for, but no CUDA GPU is available: use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise BadInput(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device(name)
