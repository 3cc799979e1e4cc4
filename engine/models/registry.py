"""Build a model from a bundle: its kind (engine.kinds) gives the config class and the builder."""

from __future__ import annotations

import torch

from engine import kinds
from engine.bundle import Bundle
from engine.errors import BadInput


def build_model(bundle: Bundle, device="cpu") -> torch.nn.Module:
    kind = kinds.get(bundle.kind)
    try:
        cfg = kind.load_config(bundle.config)
        model = kind.build(cfg)
    except BadInput as exc:
        raise BadInput(f"{bundle.path}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{bundle.path}: incompatible {kind.name} config ({exc})") from None
    try:
        model.load_state_dict(bundle.weights())
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BadInput(f"{bundle.path}: weights do not match its config.json ({first})") from None
    return model.to(device).eval()
