"""The architecture's promises, proven rather than described (issue 9; docs/README.md):

- the engine never imports the studio, PySide6 or pyqtgraph: every engine module imports with those
  three blocked, and no engine source line imports them, lazily or not;
- a model kind defined only here joins through the kind table (engine.kinds) and is then listed by
  `prufrock models list`, trained by the generic Trainer and `prufrock train`, exported and loaded
  back from a bundle, with no edit anywhere else;
- a recipe owns several networks (two optimizers, two updates per step) whose checkpoint holds both
  and resumes exactly, and a frozen teacher is never stepped or saved;
- `prufrock say` with a fixed seed still gives the pinned samples.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine import kinds
from engine.audio.config import AudioConfig
from engine.bundle import load_bundle, save_bundle
from engine.models.config_base import config_from_dict, config_to_dict
from engine.models.registry import build_model
from engine.training.checkpoint import latest_checkpoint, list_checkpoints, read_state
from engine.training.recipe import LoopConfig, Recipe
from engine.training.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BLOCKED = ("studio", "PySide6", "pyqtgraph")

# ===================================================================================================
# 1. The engine never reaches up into the studio or Qt.

IMPORT_CHECK = r'''
import contextlib, importlib, importlib.abc, io, json, pkgutil, sys, traceback

BLOCKED = ("studio", "PySide6", "pyqtgraph")
attempts = []


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            attempts.append(name)
            raise ImportError(f"{name} is blocked: the engine must not import it")
        return None


sys.meta_path.insert(0, Block())
for name in BLOCKED:  # the blocker itself works
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"blocker broken: {name} could be imported")
attempts.clear()

package = sys.argv[1]
failures, names = {}, [package]


def onerror(name):
    failures[name] = traceback.format_exc(limit=3)


pkg = importlib.import_module(package)
names += [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".", onerror=onerror)]
main_result = None
for name in names:
    before = len(attempts)
    if name.rsplit(".", 1)[-1] == "__main__":
        continue
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=3)
    if len(attempts) > before:
        failures.setdefault(name, f"tried to import {attempts[before:]}")
if package + ".__main__" in names:
    # `python -m engine --help`: the command line builds with the studio plugin unavailable.
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["prufrock", "--help"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            importlib.import_module(package + ".__main__")
        except SystemExit as exc:
            main_result = {"code": exc.code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        except BaseException:
            failures[package + ".__main__"] = traceback.format_exc(limit=3)
print(json.dumps({"modules": names, "failures": failures, "attempts": attempts, "main": main_result,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
'''

IMPORT_PATTERNS = [
    re.compile(r"^\s*(from|import)\s+(studio|PySide6|pyqtgraph)\b", re.M),
    re.compile(r"^\s*import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)+(studio|PySide6|pyqtgraph)\b", re.M),
    re.compile(r"""(import_module|__import__|find_spec)\(\s*[rbuf]?["'](studio|PySide6|pyqtgraph)\b"""),
]


def import_check(package: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(path), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK, package], cwd=path, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def source_scan(root: Path) -> list[str]:
    hits = []
    for py in sorted(root.rglob("*.py")):
        text = py.read_text(encoding="utf-8")
        for pattern in IMPORT_PATTERNS:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                hits.append(f"{py.relative_to(root.parent)}:{line}: {m.group(0).strip()}")
    return hits


def test_every_engine_module_imports_with_studio_and_qt_blocked():
    result = import_check("engine", ROOT)
    assert len(result["modules"]) > 50  # the walk really found the package (no module skipped)
    for expected in ("engine.cli.cmd_say", "engine.layers.cbhg", "engine.training.trainer", "engine.evaluation.bench"):
        assert expected in result["modules"]
    assert result["failures"] == {}, json.dumps(result["failures"], indent=1)
    assert result["loaded"] == []
    # Only the entry-point plugin loader of `prufrock --help` ever asked for the studio.
    assert all(a.split(".")[0] == "studio" for a in result["attempts"]), result["attempts"]
    main = result["main"]
    assert main is not None and main["code"] == 0, main
    for command in ("say", "convert", "vocode", "train", "models", "eval", "bench"):
        assert command in main["stdout"]


def test_no_engine_source_line_imports_studio_or_qt():
    assert source_scan(ROOT / "engine") == []


def test_the_import_checks_catch_a_package_that_reaches_up(tmp_path):
    """The two checks above have teeth: a package that imports Qt at import time, lazily in a
    function, or by name through importlib is caught."""
    pkg = tmp_path / "fakeengine"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text("import json\nSTUDIO = 'studio'  # a string is fine\n")
    (pkg / "optional.py").write_text("try:\n    import PySide6\nexcept ImportError:\n    PySide6 = None\n")
    (pkg / "lazy.py").write_text("def plot():\n    from pyqtgraph import PlotWidget\n    return PlotWidget\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "byname.py").write_text("import importlib\n\ndef f():\n"
                                          "    return importlib.import_module('studio.cli')\n")
    (pkg / "sub" / "listed.py").write_text("import os, studio\n")
    hits = source_scan(pkg)
    for name in ("optional.py:2", "lazy.py:2", "byname.py:4", "listed.py:1"):
        assert any(name in h for h in hits), hits
    assert not any("ok.py" in h for h in hits)
    result = import_check("fakeengine", tmp_path)
    assert set(result["failures"]) == {"fakeengine.optional", "fakeengine.sub.listed"}, result["failures"]


# ===================================================================================================
# 2. A toy kind, defined only here, joins through the kind table.


@dataclass
class ToyConfig:
    kind: str = "toy"
    """The kind (engine.kinds)."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """Audio features the model reads and writes."""
    width: int = 6
    """Width of the toy network."""
    format_version: int = 1
    """config.json format version."""

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ToyConfig":
        return config_from_dict(cls, d)


class ToyNet(torch.nn.Module):
    """(B, width) -> (B, width)."""

    def __init__(self, cfg: ToyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.proj = torch.nn.Linear(cfg.width, cfg.width)
        self.register_buffer("scale", torch.full((cfg.width,), 2.0))  # a buffer travels with the weights

    def forward(self, x):
        return self.proj(x) * self.scale


@dataclass
class ToyTrainConfig:
    model: ToyConfig = field(default_factory=ToyConfig)
    """The toy model."""
    loop: LoopConfig = field(default_factory=lambda: LoopConfig(max_steps=3, warmup_steps=1, log_every=1,
                                                                checkpoint_every=100, val_every=100))
    """The loop."""

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "loop": config_to_dict(self.loop)}

    @classmethod
    def from_dict(cls, d: dict) -> "ToyTrainConfig":
        return cls(ToyConfig.from_dict(d.get("model", {})), config_from_dict(LoopConfig, d.get("loop", {})))


class ToyRecipe(Recipe):
    name = "toy"
    export_network = "toynet"

    @classmethod
    def preset_config(cls, name):
        cfg = ToyTrainConfig()
        if name == "tiny":
            cfg.model.width = 4
        return cfg

    @classmethod
    def config_from_dict(cls, d):
        return ToyTrainConfig.from_dict(d)

    def __init__(self, cfg: ToyTrainConfig, data_dir="") -> None:
        self.cfg, self.loop, self.data_dir = cfg, cfg.loop, data_dir
        self.validated = []

    def networks(self, device):
        return {"toynet": ToyNet(self.cfg.model).to(device)}

    def train_batches(self, epoch, rank, world):
        g = torch.Generator().manual_seed(epoch)
        return [torch.randn(5, self.cfg.model.width, generator=g) for _ in range(4)]

    def train_step(self, nets, batch, step, update):
        loss = (nets["toynet"](batch) - batch.flip(-1)).pow(2).mean()
        update("toynet", loss)
        return {"loss": float(loss.detach())}

    def validate(self, nets, step, run_dir, events):
        self.validated.append(step)
        events.write("val", step=step, val_loss=0.0)
        return {"val_loss": 0.0}

    def config_dict(self):
        return {"kind": "toy", "train": self.cfg.to_dict(), "model": self.cfg.model.to_dict()}


TOY_KIND = kinds.Kind(name="toy", role="acoustic", summary="a toy kind defined only in a test",
                      config=ToyConfig, builder=ToyNet, recipe=ToyRecipe, presets=("tiny", "default"))


@pytest.fixture
def toy_kind():
    kinds.register(TOY_KIND)
    try:
        yield TOY_KIND
    finally:
        kinds.unregister("toy")


@pytest.fixture
def user_data(tmp_path, monkeypatch):
    data = tmp_path / "userdata"
    (data / "models").mkdir(parents=True)
    monkeypatch.setenv("PRUFROCK_DATA_DIR", str(data))
    return data


def cli(capsys, *argv) -> tuple[int, str, str]:
    from engine.cli import main

    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def toy_bundle(path: Path, width: int = 6, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    cfg = ToyConfig(width=width)
    return save_bundle(path, cfg.to_dict(), ToyNet(cfg).state_dict(), "# toy voice\nA toy model for the seam test.\n")


def test_toy_kind_is_listed_loaded_and_trained_through_the_table(toy_kind, user_data, tmp_path, capsys):
    bundle_dir = toy_bundle(user_data / "models" / "toy-voice")
    code, out, _ = cli(capsys, "models", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["toy-voice"]["kind"] == "toy" and "error" not in rows["toy-voice"]
    assert rows["toy-voice"]["summary"] == "toy voice" and rows["toy-voice"]["source"] == "user"
    code, out, _ = cli(capsys, "models", "list")
    line = next(l for l in out.splitlines() if l.startswith("toy-voice"))
    assert "toy" in line.split()[1:3] and "toy voice" in line

    model = build_model(load_bundle(bundle_dir))
    assert isinstance(model, ToyNet) and model.cfg.width == 6
    torch.manual_seed(0)
    assert torch.equal(model.proj.weight, ToyNet(ToyConfig()).proj.weight)

    recipe = ToyRecipe(ToyRecipe.preset_config("default"))
    recipe.loop.max_steps = 1
    result = Trainer(recipe, tmp_path / "run", device="cpu").run()
    assert result["step"] == 1 and result["status"] == "finished"
    ckpt = latest_checkpoint(tmp_path / "run")
    assert ckpt.name == "step_0000001"
    assert read_state(ckpt)["networks"] == ["toynet"]
    weights = load_file(str(ckpt / "toynet.safetensors"))
    assert set(weights) == {"proj.weight", "proj.bias", "scale"}
    torch.manual_seed(recipe.loop.seed)
    assert not torch.equal(weights["proj.weight"], ToyNet(recipe.cfg.model).proj.weight)  # it was stepped
    assert (ckpt / "toynet.optimizer.safetensors").exists()


def test_toy_kind_is_unknown_without_its_entry(user_data, capsys):
    toy_bundle(user_data / "models" / "toy-voice")
    code, out, _ = cli(capsys, "models", "list", "--json")
    row = {r["name"]: r for r in json.loads(out)}["toy-voice"]
    assert row["kind"] == "?" and "unknown model kind 'toy'" in row["error"]
    from engine.errors import BadInput

    with pytest.raises(BadInput):
        load_bundle(user_data / "models" / "toy-voice")


def test_toy_kind_trains_and_exports_through_the_command_line(toy_kind, user_data, tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = cli(capsys, "train", "toy", "--data", tmp_path, "--out", run, "--preset", "tiny",
                         "--max-steps", "2", "--device", "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["step"] == 2
    start = json.loads((run / "events.jsonl").read_text().splitlines()[0])
    assert start["recipe"] == "toy" and start["networks"] == ["toynet"] and start["preset"] == "tiny"
    code, out, err = cli(capsys, "models", "export", run, "--name", "toy-trained")
    assert code == 0, err
    bundle = load_bundle("toy-trained")
    assert bundle.kind == "toy" and bundle.config["width"] == 4
    model = build_model(bundle)
    trained = load_file(str(latest_checkpoint(run) / "toynet.safetensors"))
    assert torch.equal(model.proj.weight, trained["proj.weight"])
    code, out, _ = cli(capsys, "models", "list", "--json")
    assert {r["name"]: r["kind"] for r in json.loads(out)}["toy-trained"] == "toy"


# ===================================================================================================
# 3. Several networks per recipe; frozen teachers.


class GanRecipe(Recipe):
    """A generator and a discriminator, two optimizers, two updates per step; the noise comes from
    the global RNG (restored on resume) and the generator has dropout."""

    name = "toy-gan"
    export_network = "generator"

    def __init__(self, max_steps: int) -> None:
        self.loop = LoopConfig(max_steps=max_steps, warmup_steps=1, log_every=1, checkpoint_every=2,
                               val_every=1000, lr=1e-2, seed=7)

    def networks(self, device):
        gen = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 3))
        disc = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1))
        return {"generator": gen, "discriminator": disc}

    def make_optimizer(self, name, network):
        betas = (0.5, 0.9) if name == "discriminator" else (0.9, 0.999)
        return torch.optim.Adam(network.parameters(), lr=self.loop.lr, betas=betas)

    def train_batches(self, epoch, rank, world):
        g = torch.Generator().manual_seed(100 + epoch)
        return [torch.randn(8, 3, generator=g) + 2.0 for _ in range(3)]

    def train_step(self, nets, batch, step, update):
        gen, disc = nets["generator"], nets["discriminator"]
        fake = gen(torch.randn(batch.shape))
        d_loss = (torch.nn.functional.softplus(-disc(batch)).mean()
                  + torch.nn.functional.softplus(disc(fake.detach())).mean())
        update("discriminator", d_loss)
        g_loss = torch.nn.functional.softplus(-disc(fake)).mean()
        update("generator", g_loss)
        d, g = float(d_loss.detach()), float(g_loss.detach())
        return {"loss": d + g, "d": d, "g": g}

    def config_dict(self):
        return {"kind": "toy-gan", "train": {}, "model": {"kind": "toy-gan"}}


def step_events(run: Path) -> dict[int, dict]:
    events = [json.loads(l) for l in (run / "events.jsonl").read_text().splitlines()]
    return {e["step"]: e for e in events if e["type"] == "step"}


def test_two_network_recipe_checkpoints_both_and_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    Trainer(GanRecipe(6), straight, device="cpu").run()
    Trainer(GanRecipe(4), split, device="cpu").run()
    ckpt = latest_checkpoint(split)
    assert ckpt.name == "step_0000004"
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "discriminator.optimizer.safetensors", "discriminator.safetensors", "generator.optimizer.safetensors",
        "generator.safetensors", "state.json"]
    state = read_state(ckpt)
    assert state["networks"] == ["discriminator", "generator"]
    assert set(state["optimizers"]) == {"discriminator", "generator"}
    assert state["epoch"] == 1 and state["position"] == 1  # mid-epoch: the data position is saved too
    assert state["optimizers"]["discriminator"]["param_groups"][0]["betas"] == [0.5, 0.9]
    for name in ("discriminator", "generator"):
        moments = load_file(str(ckpt / f"{name}.optimizer.safetensors"))
        assert sum(k.endswith(".exp_avg") for k in moments) == 4  # both optimizers stepped every parameter
    # Each step updated both networks (the loop logs a gradient norm per network).
    first = step_events(straight)[1]
    assert set(first["grad_norms"]) == {"discriminator", "generator"}
    assert set(first["losses"]) == {"d", "g"}

    Trainer(GanRecipe(6), split, device="cpu", resume=True).run()
    a, b = step_events(straight), step_events(split)
    for step in (5, 6):
        assert a[step]["loss"] == b[step]["loss"] and a[step]["losses"] == b[step]["losses"], step
    assert a[5]["loss"] != a[1]["loss"]
    for name in ("discriminator", "generator"):
        end_a = load_file(str(latest_checkpoint(straight) / f"{name}.safetensors"))
        end_b = load_file(str(latest_checkpoint(split) / f"{name}.safetensors"))
        assert all(torch.equal(end_a[k], end_b[k]) for k in end_a), name


class DistilRecipe(Recipe):
    """A student distils a frozen teacher (with dropout and batch norm: were it in train mode, its
    output would be random and its running statistics would move)."""

    name = "toy-distil"

    def __init__(self) -> None:
        self.loop = LoopConfig(max_steps=3, warmup_steps=1, log_every=1, checkpoint_every=100, val_every=100, lr=5e-2)
        self.teacher = None
        self.teacher_seen = []

    def build(self, device):
        return torch.nn.Linear(4, 4)

    def frozen_networks(self, device):
        self.teacher = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout(0.5))
        self.teacher_start = {k: v.clone() for k, v in self.teacher.state_dict().items()}
        return {"teacher": self.teacher}

    def train_batches(self, epoch, rank, world):
        return [torch.randn(6, 4, generator=torch.Generator().manual_seed(0))]  # one batch, every epoch

    def train_step(self, nets, batch, step, update):
        teacher = nets["teacher"]
        target = teacher(batch)
        self.teacher_seen.append((teacher.training, any(p.requires_grad for p in teacher.parameters()),
                                  torch.equal(target, teacher(batch))))
        loss = (nets["model"](batch) - target).pow(2).mean()
        update("model", loss)
        return {"loss": float(loss.detach())}

    def config_dict(self):
        return {"kind": "toy-distil", "train": {}, "model": {}}


def test_frozen_teacher_is_never_stepped_or_saved(tmp_path):
    recipe = DistilRecipe()
    Trainer(recipe, tmp_path / "run", device="cpu").run()
    assert recipe.teacher_seen == [(False, False, True)] * 3  # eval mode, no gradients, deterministic
    after = recipe.teacher.state_dict()
    assert all(torch.equal(after[k], v) for k, v in recipe.teacher_start.items())
    ckpt = latest_checkpoint(tmp_path / "run")
    assert sorted(p.name for p in ckpt.iterdir()) == ["model.optimizer.safetensors", "model.safetensors", "state.json"]
    state = read_state(ckpt)
    assert state["networks"] == ["model"] and list(state["optimizers"]) == ["model"]
    start = json.loads((tmp_path / "run" / "events.jsonl").read_text().splitlines()[0])
    assert start["networks"] == ["model"] and start["frozen"] == ["teacher"]
    # The student learnt from it.
    losses = {s: e["loss"] for s, e in step_events(tmp_path / "run").items()}
    assert losses[3] < losses[1]


# ===================================================================================================
# 4. What a user hears does not change: `prufrock say` with a fixed seed gives the pinned samples.

PINNED_TEXT = "Pinned sentence for the regression test."
PINNED = FIXTURES / "say_pinned_seed0.npy"
"""int16 samples of `prufrock say "Pinned sentence for the regression test." -o x.wav --seed 0 --device cpu`
(default voice, Griffin-Lim, OMP_NUM_THREADS=1), written by
`python -c "import soundfile as sf, numpy as np; np.save(PINNED, sf.read('x.wav', dtype='int16')[0])"`.
Regenerate it only for a change that is meant to be heard, and say so in the commit."""
TOLERANCE = 32
"""Largest difference in int16 steps (0.1 % of full scale). Thread counts change the samples by a few
steps; another seed changes them by thousands."""


def test_say_with_a_fixed_seed_gives_the_pinned_samples(tmp_path):
    import soundfile as sf

    out = tmp_path / "x.wav"
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_DATA_DIR=str(tmp_path / "nouser"))
    proc = subprocess.run([sys.executable, "-m", "engine", "say", PINNED_TEXT, "-o", str(out), "--seed", "0",
                           "--device", "cpu"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got, sr = sf.read(str(out), dtype="int16")
    want = np.load(PINNED)
    assert sr == 16000
    assert len(got) == len(want)
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert int(diff.max()) <= TOLERANCE, f"max difference {int(diff.max())} int16 steps at sample {int(diff.argmax())}"


# ===================================================================================================
# 5. The interface reference in docs/ keeps up with the code.


def _commands(parser, prefix=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _commands(sub, prefix + (name,))


def test_docs_name_every_command_option_and_config_field():
    import argparse
    import dataclasses

    from engine.cli import build_parser

    commands = (ROOT / "docs" / "commands.md").read_text()
    missing = []
    for path, sub in _commands(build_parser()):
        if f"prufrock {' '.join(path)}" not in commands:
            missing.append(" ".join(path))
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:  # hidden on purpose (internal options)
                continue
            missing += [f"{' '.join(path)} {o}" for o in action.option_strings
                        if o not in ("-h", "--help") and o not in commands]
    assert missing == [], f"docs/commands.md does not mention: {missing}"
    bundles = (ROOT / "docs" / "bundles.md").read_text()
    for kind in kinds.all_kinds():
        try:
            cls = kind.config_class()
        except ModuleNotFoundError:  # a kind not built yet
            continue
        absent = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in bundles]
        assert absent == [], f"docs/bundles.md does not describe {kind.name} fields {absent}"
    for f in dataclasses.fields(AudioConfig):
        assert f"`{f.name}`" in bundles

