"""The kind table: every model kind Prufrock knows, and everything that is derived from it.

Bundle loading (`engine.bundle`), `prufrock train RECIPE`, `prufrock models list`, the studio's
selectors and its training tab's recipe list all read this table; none of them names a kind.

Adding a kind is one `register(Kind(...))` here (or in a plugin or a test) plus the kind's own package
under `engine/models/NAME/` (config dataclass, builder, recipe, inference adapter). Entries name their
parts as "module:attribute" strings, imported on first use, so listing kinds imports no model code;
a test may pass the objects themselves.

    kind = get("tacotron")
    cfg = kind.config_class().from_dict(bundle.config)      # typed config
    model = kind.build(cfg)                                  # nn.Module
    recipe_cls = kind.recipe_class()                         # training recipe
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.errors import BadInput

ROLES = {
    "acoustic": "acoustic model (text -> mel)",
    "converter": "voice converter (speech -> mel)",
    "polisher": "mel polisher (mel -> sharper mel)",
    "vocoder": "vocoder (mel -> waveform)",
}
"""Role of a kind in the inference pipeline: text|audio -> acoustic|converter -> [polisher] -> vocoder."""


def resolve_ref(ref: Any) -> Any:
    """'package.module:attr' -> the object (imported now); anything else is returned as it is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Kind:
    name: str
    """The value of "kind" in config.json and the RECIPE of `prufrock train`."""
    role: str
    """One of ROLES."""
    summary: str
    """One line for `prufrock models list --kinds` and the training tab."""
    config: Any
    """Config dataclass (or "module:Class") with from_dict(dict) and to_dict()."""
    builder: Any
    """Callable (or "module:callable") config -> torch.nn.Module."""
    recipe: Any = None
    """Training recipe class (or "module:Class"), None when the kind cannot be trained yet."""
    presets: tuple[str, ...] = ("tiny", "default")
    """Training presets the recipe accepts; the first is the smallest."""
    adapter: Any = None
    """Inference adapter (or "module:Class") that wraps a loaded bundle for the pipeline."""
    bundle_needs: tuple[str, ...] = ()
    """Extra config.json keys a bundle of this kind must carry (e.g. "partner" for a polisher)."""
    default_preset: str = "default"
    """The preset `prufrock train` uses without --preset."""
    train_options: tuple = ()
    """Options of `prufrock train NAME` beyond the common ones: (flags, argparse kwargs) pairs; a flag
    several kinds share is declared once (the first wins)."""
    extra: dict = field(default_factory=dict, hash=False, compare=False)
    """Kind-specific facts: "default_bundle" (what --vocoder KIND etc. means), "bench" ("module:function"
    measuring the default bundle for `prufrock bench`) and "bench_figures" (the keys it reports)."""

    def config_class(self):
        return resolve_ref(self.config)

    def load_config(self, d: dict):
        """A typed config from a config.json dict; BadInput when it does not fit."""
        cls = self.config_class()
        try:
            return cls.from_dict(d)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(f"incompatible {self.name} config ({exc})") from None

    def build(self, cfg):
        return resolve_ref(self.builder)(cfg)

    def recipe_class(self):
        return self._part(self.recipe, "training recipe")

    def adapter_class(self):
        return self._part(self.adapter, "inference adapter")

    def _part(self, ref, what: str):
        """Import a part; a part whose module is not written yet reads as None (not built)."""
        if ref is None:
            return None
        try:
            return resolve_ref(ref)
        except ModuleNotFoundError as exc:
            if isinstance(ref, str) and exc.name and ref.split(":")[0].startswith(exc.name):
                return None
            raise

    @property
    def trainable(self) -> bool:
        """A recipe is declared and its module exists (found without importing it)."""
        return _exists(self.recipe)

    @property
    def usable(self) -> bool:
        """The inference adapter's module exists."""
        return _exists(self.adapter)


def _exists(ref) -> bool:
    if ref is None:
        return False
    if not isinstance(ref, str):
        return True
    try:
        return importlib.util.find_spec(ref.split(":")[0]) is not None
    except ModuleNotFoundError:
        return False


_TABLE: dict[str, Kind] = {}


def register(kind: Kind, *, replace: bool = False) -> Kind:
    """Add a kind to the table (a plugin or a test may add its own)."""
    if kind.role not in ROLES:
        raise ValueError(f"kind {kind.name!r}: unknown role {kind.role!r} (one of {sorted(ROLES)})")
    if kind.name in _TABLE and not replace:
        raise ValueError(f"kind {kind.name!r} is registered already")
    _TABLE[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _TABLE.pop(name, None)


def get(name: str) -> Kind:
    try:
        return _TABLE[name]
    except KeyError:
        known = ", ".join(_TABLE)
        raise BadInput(f"unknown model kind {name!r} (known: {known})") from None


def names(role: str | None = None) -> list[str]:
    return [k.name for k in _TABLE.values() if role is None or k.role == role]


def all_kinds() -> list[Kind]:
    return list(_TABLE.values())


def recipe_names() -> list[str]:
    """What `prufrock train` and the training tab offer, in table order."""
    return [k.name for k in _TABLE.values() if k.trainable]


def known_recipes() -> list[str]:
    """Every kind name, trainable or not (the CLI names the ones not trainable yet clearly)."""
    return list(_TABLE)


# ---------------------------------------------------------------------------------------------
# The built-in kinds.
register(Kind(
    name="tacotron", role="acoustic",
    summary="Tacotron / Tacotron 2 voice with global style tokens (text -> mel)",
    config="engine.models.tacotron_config:TacotronConfig",
    builder="engine.models.tacotron:Tacotron",
    recipe="engine.training.tacotron_recipe:TacotronRecipe",
    presets=("tiny", "default", "large"),
    adapter="engine.inference.synthesizer:Synthesizer",
    train_options=((("--speakers",), {"default": None, "help": "comma-separated speakers of the corpus to train on"}),),
    extra={"default_bundle": "default"},
))

register(Kind(
    name="vc", role="converter",
    summary="sequence-to-sequence voice conversion: pyramidal BLSTM encoder, Tacotron decoder (speech -> mel)",
    config="engine.models.vc.config:VCConfig",
    builder="engine.models.vc.model:Converter",
    recipe="engine.models.vc.recipe:VCRecipe",
    adapter="engine.models.vc.adapter:ConverterSource",
    train_options=(
        (("--target",), {"default": None, "help": "vc: the target speaker of the corpus (default slt)"}),
        (("--sources",), {"default": None, "help": "vc: comma-separated source speakers (default: all others)"}),
        (("--teacher",), {"default": None, "type": str,
                          "help": "vc: a trained (larger) converter run or bundle whose attention the student distils"}),
        (("--pretrain-autoencoder",), {"action": "store_true",
                                       "help": "vc: pretrain as an autoencoder on all voices first"}),
    ),
    extra={"default_bundle": "default-vc", "bench": "engine.models.vc.bench:vc_bench",
           "bench_figures": ("vc_rtf",)},
))

register(Kind(
    name="polisher", role="polisher",
    summary="pix2pix GAN polisher: U-Net generator + PatchGAN discriminator (mel -> sharper mel)",
    config="engine.models.polisher.config:PolisherConfig",
    builder="engine.models.polisher.unet:UNetGenerator",
    recipe="engine.models.polisher.recipe:PolisherRecipe",
    adapter="engine.models.polisher.adapter:MelPolisher",
    bundle_needs=("partner",),
    extra={"default_bundle": "default-polisher", "bench": "engine.models.polisher.bench:polisher_bench",
           "bench_figures": ("polisher_rtf",)},
    train_options=(
        (("--partner",), {"default": None, "help": "polisher: the acoustic model or converter it polishes"}),
    ),
))

register(Kind(
    name="wavenet", role="vocoder",
    summary="WaveNet vocoder: mu-law softmax, dilated causal gated convolutions, mel conditioning (mel -> audio)",
    config="engine.models.wavenet.config:WaveNetConfig",
    builder="engine.models.wavenet.model:WaveNet",
    recipe="engine.models.wavenet.recipe:WaveNetRecipe",
    adapter="engine.models.wavenet.vocoder:WaveNetVocoder",
    extra={"default_bundle": "default-wavenet", "bench": "engine.models.wavenet.bench:wavenet_bench",
           "bench_figures": ("wavenet_naive_rtf", "wavenet_cached_rtf", "wavenet_folded_rtf")},
))
