"""Typed model configs saved beside the weights (config.json), so a model folder describes itself."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from engine.audio.config import AudioConfig


def config_to_dict(cfg) -> dict:
    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, AudioConfig):
            value = value.to_dict()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def config_from_dict(cls, d: dict[str, Any], *, ignore: tuple[str, ...] = ()):
    """Build a config dataclass from a dict, refusing unknown fields and converting types."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names - set(ignore)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    kwargs = {}
    for name in names & set(d):
        value = d[name]
        hint = hints[name]
        if hint is AudioConfig:
            value = AudioConfig.from_dict(value)
        elif getattr(hint, "__origin__", None) is tuple:
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
