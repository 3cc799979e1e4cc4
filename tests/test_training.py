"""Training: a step lowers the loss, exact resume, atomic checkpoints, export to a bundle, and a
short overfit that reaches a diagonal attention."""

import json
import shutil

import numpy as np
import pytest
import torch

from engine.bundle import load_bundle
from engine.alignment import diagonal_mass, focus_rate
from engine.models.tacotron import Tacotron
from engine.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from engine.training.export import export_checkpoint
from engine.training.tacotron_recipe import TacotronRecipe, preset
from engine.training.trainer import Trainer


def tiny_recipe(corpus, tmp_path, **loop):
    cfg = preset("tiny")
    cfg.feature_cache = str(tmp_path / "cache")
    cfg.held_out = 0
    for k, v in loop.items():
        setattr(cfg.loop, k, v)
    return TacotronRecipe(cfg, corpus, log=lambda msg: None)


def step_losses(run_dir):
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    return {e["step"]: e["loss"] for e in events if e["type"] == "step"}


def test_one_step_lowers_loss_on_a_tiny_batch(multispeaker_corpus, tmp_path):
    torch.manual_seed(0)
    recipe = tiny_recipe(multispeaker_corpus, tmp_path)
    model = recipe.build(torch.device("cpu"))
    model.decoder.prenet.always_dropout = False
    batch = list(range(4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.eval()  # no dropout/batch-norm noise: the same batch before and after one step
    before, _ = recipe.loss(model, batch, step=0)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after, _ = recipe.loss(model, batch, step=0)
    assert float(after) < float(before)


def test_resume_reproduces_the_next_loss_exactly(multispeaker_corpus, tmp_path):
    common = dict(log_every=1, checkpoint_every=3, val_every=1000, max_steps=5)
    straight = tmp_path / "straight"
    Trainer(tiny_recipe(multispeaker_corpus, tmp_path, **common), straight).run()
    split = tmp_path / "split"
    Trainer(tiny_recipe(multispeaker_corpus, tmp_path, **{**common, "max_steps": 3}), split).run()
    assert latest_checkpoint(split).name == "step_0000003"
    result = Trainer(tiny_recipe(multispeaker_corpus, tmp_path, **common), split, resume=True).run()
    assert result["step"] == 5
    a, b = step_losses(straight), step_losses(split)
    assert a[4] == b[4] and a[5] == b[5]
    assert a[1] != a[4]


def test_cli_resume_keeps_the_settings_the_run_was_started_with(multispeaker_corpus, tmp_path, monkeypatch):
    """`train --resume` without --config goes on with the run's own train config (saved in its
    checkpoint), not the preset's; a --config given with --resume still overrides it."""
    from engine.cli import main

    monkeypatch.setenv("PRUFROCK_CACHE_DIR", str(tmp_path / "cache"))
    run, cfg = tmp_path / "run", tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"guided_attention_weight": 0.37, "loop": {"checkpoint_every": 2, "val_every": 1000}}))
    base = ["train", "tacotron", "--data", str(multispeaker_corpus), "--preset", "tiny", "--out", str(run)]
    assert main([*base, "--config", str(cfg), "--max-steps", "2"]) == 0
    assert main([*base, "--max-steps", "3", "--resume"]) == 0
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["type"] == "start"]
    assert [e["step"] for e in starts] == [0, 2]
    train = starts[-1]["config"]["train"]
    assert train["guided_attention_weight"] == 0.37 and train["loop"]["checkpoint_every"] == 2
    assert train["loop"]["max_steps"] == 3  # --max-steps still applies
    cfg.write_text(json.dumps({"guided_attention_weight": 0.5}))
    assert main([*base, "--config", str(cfg), "--max-steps", "4", "--resume"]) == 0
    starts = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    train = [e for e in starts if e["type"] == "start"][-1]["config"]["train"]
    assert train["guided_attention_weight"] == 0.5 and train["loop"]["checkpoint_every"] == 2


def test_checkpoints_are_atomic_and_pruned(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, model, opt, {"config": {}}, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_0000003", "step_0000004"]
    # A write killed half-way leaves a hidden temp folder: loading ignores it.
    broken = tmp_path / "checkpoints" / ".tmp-step_0000005-999"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"garbage")
    assert latest_checkpoint(tmp_path).name == "step_0000004"
    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    state = load_checkpoint(latest_checkpoint(tmp_path), fresh, fresh_opt)
    assert state["step"] == 4
    assert torch.equal(fresh.weight, model.weight)
    assert torch.equal(fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_run_writes_events_images_and_exports_a_bundle(multispeaker_corpus, tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_recipe(multispeaker_corpus, tmp_path, max_steps=4, val_every=4, checkpoint_every=4), run).run()
    types = {json.loads(line)["type"] for line in (run / "events.jsonl").read_text().splitlines()}
    assert {"start", "step", "val", "alignment", "sample", "checkpoint", "end"} <= types
    assert (run / "alignments" / "step_0000004.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "samples" / "step_0000004.wav").stat().st_size > 1000
    bundle_dir = export_checkpoint(run, tmp_path / "voice")
    bundle = load_bundle(bundle_dir)
    assert bundle.kind == "tacotron" and "Steps: 4" in bundle.card
    assert set(bundle.config["speakers"]) == {"espeak_a", "espeak_b"}


def test_short_overfit_reaches_a_diagonal_attention(ljspeech_corpus, tmp_path):
    """Under two minutes of CPU: 4 rendered utterances, the tiny model, guided attention."""
    cfg = preset("tiny")
    cfg.feature_cache = str(tmp_path / "cache")
    cfg.held_out = 0
    cfg.limit = 4
    cfg.val_count = 1
    cfg.batch_size = 4
    cfg.model.r = 4
    cfg.loop.max_steps = 150
    cfg.loop.lr = 3e-3
    cfg.loop.val_every = cfg.loop.checkpoint_every = 1000
    cfg.loop.log_every = 50
    recipe = TacotronRecipe(cfg, ljspeech_corpus, log=lambda msg: None)
    recipe.train_items = recipe.train_items + recipe.val_items  # overfit all four
    Trainer(recipe, tmp_path / "run").run()
    ckpt = latest_checkpoint(tmp_path / "run")
    model = Tacotron(cfg.model)
    load_checkpoint(ckpt, model)
    model.eval()
    masses, focus = [], []
    with torch.no_grad():
        for it in recipe.train_items:
            out = model(it.symbols[None], torch.tensor([len(it.symbols)]), _pad(it.mel, cfg.model.r)[None],
                        torch.tensor([it.mel.shape[-1]]))
            n_steps = (it.mel.shape[-1] + cfg.model.r - 1) // cfg.model.r
            a = out["alignments"][0, :n_steps].numpy()
            masses.append(diagonal_mass(a, band=0.1))
            focus.append(focus_rate(a))
    assert np.mean(masses) > 0.6, masses
    assert np.mean(focus) > 0.3, focus


def _pad(mel, r):
    T = mel.shape[-1]
    pad = (-T) % r
    return torch.cat([mel, mel[:, -1:].expand(-1, pad)], dim=1) if pad else mel
