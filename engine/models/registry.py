"""Build a model from a bundle's config by kind."""

from __future__ import annotations

import torch

from engine.bundle import Bundle
from engine.errors import BadInput, NotBuiltYet


def build_model(bundle: Bundle, device="cpu") -> torch.nn.Module:
    kind = bundle.kind
    if kind == "tacotron":
        from engine.models.tacotron import Tacotron
        from engine.models.tacotron_config import TacotronConfig

        try:
            cfg = TacotronConfig.from_dict(bundle.config)
            model = Tacotron(cfg)
        except (ValueError, TypeError) as exc:
            raise BadInput(f"{bundle.path}: incompatible tacotron config ({exc})") from None
    else:
        raise NotBuiltYet(f"{kind} models are not supported yet in this version")
    try:
        model.load_state_dict(bundle.weights())
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BadInput(f"{bundle.path}: weights do not match its config.json ({first})") from None
    return model.to(device).eval()
