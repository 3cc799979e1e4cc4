"""What a model kind brings to the one training loop (engine.training.trainer.Trainer).

A recipe owns its networks: `networks()` builds the named networks the loop trains and checkpoints
(a GAN has "generator" and "discriminator"), `frozen_networks()` loads teachers that are used but never
saved or stepped, `make_optimizer()` gives each trained network its optimizer, and `train_step()` may
update several networks in turn through the `update(name, loss)` callback the loop passes in:

    def train_step(self, nets, batch, step, update):
        d_loss = ...;  update("discriminator", d_loss)
        g_loss = ...;  update("generator", g_loss)
        return {"d": d_loss.item(), "g": g_loss.item()}

`update` does zero_grad, backward (scaled under AMP), gradient clipping, the NaN guard and the
optimizer step for that network. A single-network recipe just implements `build()` and `loss()`; the
defaults below make that the network "model".

Train configs: each recipe has a dataclass train config deriving from `TrainConfigBase` (a `model`
field holding the model config, a `loop: LoopConfig` field, `to_dict()` and `from_dict()`), and named
presets; `load_train_config()` overlays a JSON file on a preset.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, get_type_hints

import torch

from engine.errors import BadInput
from engine.models.config_base import config_from_dict, config_to_dict
from engine.training.checkpoint import DEFAULT_NETWORK

Update = Callable[[str, torch.Tensor], bool]
"""update(network_name, loss) -> False when the loss or its gradients were not finite (step skipped)."""


@dataclass
class LoopConfig:
    max_steps: int = 10000
    """Stop after this many optimizer steps."""
    lr: float = 1e-3
    """Peak learning rate (Adam)."""
    warmup_steps: int = 200
    """Linear warm-up steps."""
    lr_decay_steps: int = 20000
    """Exponential decay scale: lr x 0.5 ** ((step - warmup) / lr_decay_steps)."""
    min_lr: float = 1e-5
    """Floor of the schedule."""
    weight_decay: float = 1e-6
    """Adam weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clipping."""
    log_every: int = 10
    """Steps between 'step' events."""
    checkpoint_every: int = 500
    """Steps between checkpoints."""
    keep_last: int = 3
    """Checkpoints kept."""
    val_every: int = 500
    """Steps between validation (loss, images, sample audio)."""
    seed: int = 1234
    """Seed of the model init, data order and dropout."""


class TrainConfigBase:
    """What every recipe's train config shares: serialisation of a dataclass whose `model` field is a
    model config (with its own to_dict/from_dict) and whose `loop` field is a LoopConfig. Tuple fields are
    written as lists and read back as tuples; unknown fields are refused."""

    def to_dict(self) -> dict:
        d = config_to_dict(self)
        d["model"] = self.model.to_dict()
        d["loop"] = config_to_dict(self.loop)
        return d

    @classmethod
    def from_dict(cls, d: dict):
        d = dict(d)
        model = get_type_hints(cls)["model"].from_dict(d.pop("model", {}))
        loop = config_from_dict(LoopConfig, d.pop("loop", {}))
        d.pop("preset", None)
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise BadInput(f"unknown training config fields: {sorted(unknown)}")
        return dataclasses.replace(config_from_dict(cls, d), model=model, loop=loop)


class Recipe:
    """Base of every training recipe; see the module docstring."""

    name = "base"
    export_network = DEFAULT_NETWORK
    """The trained network a bundle is exported from."""
    loop: LoopConfig
    data_dir: Path | str = ""
    preset: str = ""

    # ----- construction (classmethods: the CLI builds recipes through these) --------------------
    train_config: type | None = None
    """The recipe's train config dataclass (a TrainConfigBase)."""
    presets = None
    """staticmethod(name -> train config) of the recipe's named presets."""

    @classmethod
    def preset_config(cls, name: str):
        """The train config of a named preset (the recipe's `presets` function, given as a staticmethod)."""
        if cls.presets is None:
            raise NotImplementedError
        return cls.presets(name)

    @classmethod
    def config_from_dict(cls, d: dict):
        """The train config from its to_dict() form (the recipe's `train_config` class)."""
        if cls.train_config is None:
            raise NotImplementedError
        return cls.train_config.from_dict(d)

    @classmethod
    def from_cli(cls, cfg, args) -> "Recipe":
        """Build the recipe from a train config and the parsed `prufrock train` arguments."""
        return cls(cfg, args.data)

    # ----- networks -----------------------------------------------------------------------------
    def build(self, device: torch.device) -> torch.nn.Module:
        """The only network of a single-network recipe."""
        raise NotImplementedError

    def networks(self, device: torch.device) -> dict[str, torch.nn.Module]:
        """Named networks that are trained and checkpointed."""
        return {DEFAULT_NETWORK: self.build(device)}

    def frozen_networks(self, device: torch.device) -> dict[str, torch.nn.Module]:
        """Named networks that are loaded and used (teachers) but never stepped or saved."""
        return {}

    def make_optimizer(self, name: str, network: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(network.parameters(), lr=self.loop.lr, weight_decay=self.loop.weight_decay)

    def init_networks(self, nets: dict[str, torch.nn.Module], init: Path) -> None:
        """Start from a bundle's weights (`--init-from BUNDLE`): they go into the exported network."""
        from engine.bundle import load_bundle

        weights = load_bundle(init).weights()
        getattr(nets[self.export_network], "module", nets[self.export_network]).load_state_dict(weights)

    # ----- one step -----------------------------------------------------------------------------
    def train_batches(self, epoch: int, rank: int, world: int) -> list:
        raise NotImplementedError

    def loss(self, model, batch, step: int) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def train_step(self, nets: dict[str, torch.nn.Module], batch, step: int, update: Update) -> dict:
        loss, scalars = self.loss(nets[DEFAULT_NETWORK], batch, step)
        update(DEFAULT_NETWORK, loss)
        return {"loss": float(loss.detach()), **scalars}

    # ----- validation and export ----------------------------------------------------------------
    def validate(self, nets: dict[str, torch.nn.Module], step: int, run_dir: Path, events) -> dict:
        return {}

    def config_dict(self) -> dict:
        """Saved in every checkpoint: {"kind", "train", "model"}; "model" becomes the bundle's config."""
        raise NotImplementedError


def merge_config(base: dict, overrides: dict) -> dict:
    """Overlay `overrides` on `base`: nested dicts merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


def load_train_config(recipe_cls, preset_name: str = "default", config_file: Path | None = None,
                      max_steps: int | None = None, saved: dict | None = None):
    """A recipe's preset overlaid with a JSON config file (same structure as its to_dict()).
    saved: the train config a run's checkpoint holds (a resume): it replaces the preset, so the run goes
    on with the settings it was started with; a config file and max_steps still override it."""
    if saved is not None:
        try:
            cfg = recipe_cls.config_from_dict(merge_config(recipe_cls.preset_config(preset_name).to_dict(), saved))
        except (TypeError, ValueError) as exc:
            raise BadInput(f"the run's saved train config does not fit this version's {recipe_cls.name} recipe: "
                           f"{exc}") from None
    else:
        cfg = recipe_cls.preset_config(preset_name)
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise BadInput(f"config file not found: {path}")
        try:
            overrides = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise BadInput(f"config file {path} is not valid JSON: {exc}") from None
        if not isinstance(overrides, dict):
            raise BadInput(f"config file {path} must hold a JSON object")
        if "preset" in overrides:
            cfg = recipe_cls.preset_config(overrides.pop("preset"))
        try:
            cfg = recipe_cls.config_from_dict(merge_config(cfg.to_dict(), overrides))
        except (TypeError, ValueError) as exc:
            raise BadInput(f"config file {path}: {exc}") from None
    if max_steps is not None:
        if max_steps < 0:
            raise BadInput(f"--max-steps must be 0 or more, got {max_steps}")
        cfg.loop.max_steps = max_steps
    return cfg


def train_config_to_dict(cfg) -> dict:
    """Generic to_dict for a train config dataclass whose nested configs have to_dict()."""
    from engine.models.config_base import config_to_dict

    out = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            value = value.to_dict() if hasattr(value, "to_dict") else config_to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out
