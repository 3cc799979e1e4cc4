"""Model bundles: a folder with config.json + model.safetensors + CARD.md, validated on load.

Bundled models live in resources/models/NAME/; user models in the user data folder under
models/NAME/ (see engine.paths). No pickle is ever loaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine import kinds
from engine.errors import BadInput
from engine.fsutil import atomic_dir
from engine.paths import BUNDLED_MODELS, user_models_dir

FORMAT_VERSION = 1


@dataclass
class Bundle:
    path: Path
    config: dict
    card: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.config["kind"]

    def weights(self, device="cpu") -> dict[str, torch.Tensor]:
        try:
            return load_file(str(self.path / "model.safetensors"), device=str(device))
        except (SafetensorError, OSError, ValueError) as exc:
            raise BadInput(f"model weights in {self.path} cannot be read ({exc}); reinstall the model") from None

    def card_summary(self) -> str:
        for line in self.card.splitlines():
            line = line.strip().lstrip("#").strip()
            if line:
                return line
        return ""

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def model_dirs() -> list[Path]:
    """Every model folder: bundled first, then the user's."""
    out = []
    for root in (BUNDLED_MODELS, user_models_dir()):
        if root.exists():
            out += sorted(p for p in root.iterdir() if (p / "config.json").exists())
    return out


def resolve(name_or_dir: str | os.PathLike) -> Path:
    """A model NAME (bundled, then user) or a folder path -> the folder."""
    p = Path(name_or_dir)
    if p.is_dir():
        return p
    for root in (user_models_dir(), BUNDLED_MODELS):
        if (root / str(name_or_dir)).is_dir():
            return root / str(name_or_dir)
    names = ", ".join(sorted({d.name for d in model_dirs()})) or "none installed"
    raise BadInput(f"unknown model {str(name_or_dir)!r} (available: {names}); "
                   "see 'prufrock models list'")


def load_bundle(name_or_dir: str | os.PathLike, kind: str | None = None) -> Bundle:
    path = resolve(name_or_dir)
    cfg_path = path / "config.json"
    if not cfg_path.exists():
        raise BadInput(f"{path} is not a model folder: config.json is missing")
    if not (path / "model.safetensors").exists():
        raise BadInput(f"{path} is incomplete: model.safetensors is missing")
    try:
        config = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise BadInput(f"{cfg_path} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("kind") not in kinds.names():
        found = config.get("kind") if isinstance(config, dict) else None
        raise BadInput(f"{cfg_path}: unknown model kind {found!r} (known: {', '.join(kinds.names())})")
    try:
        version = int(config.get("format_version", 0))
    except (TypeError, ValueError):
        raise BadInput(f"{cfg_path}: format_version must be a whole number") from None
    if version > FORMAT_VERSION:
        raise BadInput(f"{path} needs a newer Prufrock (format_version {config['format_version']})")
    if kind is not None and config["kind"] != kind:
        want = kinds.ROLES[kinds.get(kind).role] if kind in kinds.names() else kind
        raise BadInput(f"{path.name} is a {config['kind']} model, not a {kind} model ({want})")
    for key in kinds.get(config["kind"]).bundle_needs:
        if key not in config:
            raise BadInput(f"{cfg_path}: a {config['kind']} model must name its {key!r}")
    card = (path / "CARD.md").read_text() if (path / "CARD.md").exists() else ""
    return Bundle(path, config, card)


def save_bundle(out_dir: Path, config: dict, state_dict: dict[str, torch.Tensor], card: str) -> Path:
    """Write a bundle atomically (a temp folder renamed into place)."""
    with atomic_dir(out_dir, tmp_prefix=f".{Path(out_dir).name}.") as tmp:
        config = dict(config)
        config.setdefault("format_version", FORMAT_VERSION)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, str(tmp / "model.safetensors"))
        (tmp / "CARD.md").write_text(card)
    return Path(out_dir)


def installed(role: str | None = None, kind: str | None = None) -> list[tuple[str, str]]:
    """(name, folder) of installed models, bundled first, filtered by role (engine.kinds.ROLES) or kind.

    Reads only each small config.json; a folder whose config cannot be read is skipped."""
    out, seen = [], set()
    for d in model_dirs():
        try:
            found = json.loads((d / "config.json").read_text()).get("kind")
        except (OSError, ValueError, AttributeError):
            continue
        if found not in kinds.names() or (kind is not None and found != kind):
            continue
        if role is not None and kinds.get(found).role != role:
            continue
        if d.name not in seen:
            seen.add(d.name)
            out.append((d.name, str(d)))
    return out
