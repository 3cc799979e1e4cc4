"""Crash safety and multi-process training (DistributedDataParallel over gloo on the CPU)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file

from engine.training import checkpoint as checkpoint_module
from engine.training.checkpoint import (checkpoint_step, latest_checkpoint, list_checkpoints, load_checkpoint,
                                        save_checkpoint)
from engine.training.tacotron_recipe import TacotronRecipe, preset
from engine.training.trainer import Trainer


def test_kill_9_during_checkpoint_writes_leaves_a_loadable_checkpoint(tmp_path):
    script = textwrap.dedent(f"""
        import torch
        from engine.training.checkpoint import save_checkpoint
        model = torch.nn.Sequential(*[torch.nn.Linear(512, 512) for _ in range(12)])
        opt = torch.optim.Adam(model.parameters())
        model(torch.randn(2, 512)).sum().backward(); opt.step()
        step = 0
        while True:
            step += 1
            save_checkpoint({str(tmp_path)!r}, step, model, opt, {{"config": {{}}}}, keep_last=2)
            print(step, flush=True)
    """)
    for delay in (0.9, 1.3, 1.7):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        # Wait for the first complete checkpoint, then kill at an arbitrary moment of later writes.
        assert proc.stdout.readline().strip()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = latest_checkpoint(tmp_path)
        assert ckpt is not None
        model = torch.nn.Sequential(*[torch.nn.Linear(512, 512) for _ in range(12)])
        opt = torch.optim.Adam(model.parameters())
        state = load_checkpoint(ckpt, model, opt)
        assert state["step"] >= 1
        assert float(opt.state_dict()["state"][0]["step"]) == 1  # the optimizer came back too
        # Whatever the kill interrupted is a hidden `.tmp-*` folder (or an older checkpoint being
        # pruned), never a newer step_ folder that the listing has to hide.
        listed = list_checkpoints(tmp_path)
        for p in (tmp_path / "checkpoints").iterdir():
            if p not in listed:
                assert p.name.startswith(".") or checkpoint_step(p) < checkpoint_step(listed[-1]), p.name


def test_a_write_that_dies_half_way_leaves_only_a_hidden_folder(tmp_path, monkeypatch):
    nets = {"generator": torch.nn.Linear(3, 3), "discriminator": torch.nn.Linear(3, 1)}
    save_checkpoint(tmp_path, 1, nets, None, {"config": {}})
    real_save, calls = checkpoint_module.save_file, []

    def dies_on_the_second_file(tensors, path, *a, **k):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(tensors, path, *a, **k)

    monkeypatch.setattr(checkpoint_module, "save_file", dies_on_the_second_file)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 2, nets, None, {"config": {}})
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_0000001"]
    visible = sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if not p.name.startswith("."))
    assert visible == ["step_0000001"]  # the half-written step 2 is hidden (or cleaned up)
    assert len(calls) == 2


def test_two_ranks_over_gloo_average_their_gradients(multispeaker_corpus, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_CACHE_DIR=str(tmp_path / "cache"))
    common = ["train", "tacotron", "--data", str(multispeaker_corpus), "--preset", "tiny", "--max-steps", "2",
              "--device", "cpu"]
    double = subprocess.run([sys.executable, "-m", "engine", *common, "--out", str(tmp_path / "two"),
                             "--nproc", "2"], env=env, capture_output=True, text=True, timeout=300)
    assert double.returncode == 0, double.stderr[-2000:]
    start = [json.loads(l) for l in (tmp_path / "two" / "events.jsonl").read_text().splitlines()][0]
    assert start["type"] == "start" and start["world_size"] == 2
    assert latest_checkpoint(tmp_path / "two").name == "step_0000002"
    two = load_file(str(latest_checkpoint(tmp_path / "two") / "model.safetensors"))

    # Rank 0 alone, without DistributedDataParallel: the same two steps on its own shard, replayed in
    # this process (same preset, seed, features and one thread). DDP averages in rank 1's gradients,
    # which come from other utterances, so rank 0's weights must differ from this.
    class Rank0Alone(TacotronRecipe):
        def train_batches(self, epoch, rank, world):
            return super().train_batches(epoch, 0, 2)

    cfg = preset("tiny")
    cfg.loop.max_steps = 2
    cfg.feature_cache = str(tmp_path / "cache")
    recipe = Rank0Alone(cfg, multispeaker_corpus, log=lambda msg: None)
    shards = [TacotronRecipe.train_batches(recipe, 0, rank, 2) for rank in (0, 1)]
    assert shards[0] and not set(shards[0][0]) & set(shards[1][0])  # the ranks see different utterances
    Trainer(recipe, tmp_path / "alone", device="cpu").run()
    alone = load_file(str(latest_checkpoint(tmp_path / "alone") / "model.safetensors"))
    assert alone.keys() == two.keys()
    params = [name for name, _ in recipe.build(torch.device("cpu")).named_parameters()]  # not BN statistics
    gap = max(float((two[k] - alone[k]).abs().max()) for k in params)
    assert gap > 1e-5, "rank 0 trained as if alone: its gradients were not averaged with rank 1's"


def test_a_training_run_killed_with_9_resumes_from_its_last_checkpoint(multispeaker_corpus, tmp_path):
    """SIGKILL (no chance to checkpoint or log an end): --resume starts after the last complete
    checkpoint and the run finishes."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_CACHE_DIR=str(tmp_path / "cache"))
    run = tmp_path / "run"
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"loop": {"checkpoint_every": 2, "val_every": 1000, "log_every": 1}}))
    cmd = [sys.executable, "-m", "engine", "train", "tacotron", "--data", str(multispeaker_corpus), "--preset",
           "tiny", "--out", str(run), "--config", str(cfg), "--max-steps", "1000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (latest_checkpoint(run) is None or checkpoint_step(latest_checkpoint(run)) < 4):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    events = run / "events.jsonl"
    killed = [json.loads(l) for l in events.read_text().splitlines() if l.strip()]
    assert not any(e["type"] == "end" for e in killed)  # it never got to say goodbye
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and checkpoint_step(ckpt) >= 4
    resumed_from = checkpoint_step(ckpt)
    resumed = subprocess.run([*cmd[:-1], str(resumed_from + 2), "--resume"], env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    lines = [json.loads(l) for l in events.read_text().splitlines() if l.strip()]
    resume = [e for e in lines if e["type"] == "resume"]
    assert resume and resume[-1]["step"] == resumed_from
    steps_after = [e["step"] for e in lines if e["type"] == "step" and e["time"] >= resume[-1]["time"]]
    assert min(steps_after) == resumed_from + 1 and lines[-1]["type"] == "end"
    assert lines[-1]["status"] == "finished" and lines[-1]["step"] == resumed_from + 2


def test_sigterm_stops_gracefully_and_resume_continues(multispeaker_corpus, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_CACHE_DIR=str(tmp_path / "cache"))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "engine", "train", "tacotron", "--data", str(multispeaker_corpus), "--preset",
           "tiny", "--out", str(run), "--max-steps", "1000"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events = run / "events.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if events.exists() and '"step": 3,' in events.read_text():
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    lines = [json.loads(l) for l in events.read_text().splitlines()]
    end = lines[-1]
    assert end["type"] == "end" and end["status"] == "stopped"
    stopped_at = end["step"]
    assert 3 <= stopped_at < 1000
    assert latest_checkpoint(run).name == f"step_{stopped_at:07d}"
    resumed = subprocess.run([*cmd[:-1], str(stopped_at + 2), "--resume"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    lines = [json.loads(l) for l in events.read_text().splitlines()]
    steps_after = [e["step"] for e in lines if e["type"] == "step" and e["time"] > end["time"]]
    assert steps_after and min(steps_after) == stopped_at + 1
