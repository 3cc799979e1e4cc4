"""Polishers: mel -> sharper mel between the acoustic model (or converter) and the vocoder.

    class Polisher(Protocol):
        name: str
        partner: str                    # the acoustic model or converter it was trained against
        def polish(self, log_mel: np.ndarray) -> np.ndarray   # (n_mels, T) -> (n_mels, T)

`load_polisher` finds the polisher whose config names the given partner (or takes an explicit
NAME/DIR) and refuses one trained for another partner.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from engine import kinds
from engine.errors import BadInput, NotBuiltYet


@runtime_checkable
class Polisher(Protocol):
    name: str
    partner: str

    def polish(self, log_mel: np.ndarray) -> np.ndarray: ...


def polishers_for(partner: str) -> list[tuple[str, str]]:
    """(name, folder) of installed polishers whose config names `partner`."""
    import json
    from pathlib import Path

    from engine.bundle import installed

    out = []
    for name, folder in installed(role="polisher"):
        try:
            if json.loads((Path(folder) / "config.json").read_text()).get("partner") == partner:
                out.append((name, folder))
        except (OSError, ValueError):
            continue
    return out


def load_polisher(partner: str, spec: str | None = None, device="cpu") -> Polisher:
    """The polisher for model `partner` (or the explicit NAME/DIR `spec`, which must name that partner)."""
    from engine.bundle import load_bundle

    if spec is None:
        found = polishers_for(partner)
        if not found:
            raise BadInput(f"no polisher is installed for the model {partner!r}: leave out --polish, or train one "
                           f"with 'prufrock train polisher --partner {partner}'")
        spec = found[0][1]
    bundle = load_bundle(spec)
    kind = kinds.get(bundle.kind)
    if kind.role != "polisher":
        raise BadInput(f"{bundle.name} is a {bundle.kind} model ({kinds.ROLES[kind.role]}), not a polisher")
    if bundle.config.get("partner") != partner:
        raise BadInput(f"polisher {bundle.name} was trained for {bundle.config.get('partner')!r}, "
                       f"not for {partner!r}: pick the polisher made for this model")
    adapter = kind.adapter_class()
    if adapter is None:
        raise NotBuiltYet(f"{bundle.kind} polishers cannot be used in this version")
    return adapter(bundle, device=device)
