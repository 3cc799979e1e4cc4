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

from engine.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint


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
    # Unfinished writes are hidden temp folders, never a complete-looking checkpoint.
    assert all(p.name.startswith("step_") for p in list_checkpoints(tmp_path))


def test_two_ranks_over_gloo_produce_the_same_kind_of_checkpoint(multispeaker_corpus, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_CACHE_DIR=str(tmp_path / "cache"))
    common = ["train", "tacotron", "--data", str(multispeaker_corpus), "--preset", "tiny", "--max-steps", "2",
              "--device", "cpu"]
    single = subprocess.run([sys.executable, "-m", "engine", *common, "--out", str(tmp_path / "one")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    double = subprocess.run([sys.executable, "-m", "engine", *common, "--out", str(tmp_path / "two"),
                             "--nproc", "2"], env=env, capture_output=True, text=True, timeout=300)
    assert double.returncode == 0, double.stderr[-2000:]
    start = [json.loads(l) for l in (tmp_path / "two" / "events.jsonl").read_text().splitlines()][0]
    assert start["type"] == "start" and start["world_size"] == 2
    one = load_file(str(latest_checkpoint(tmp_path / "one") / "model.safetensors"))
    two = load_file(str(latest_checkpoint(tmp_path / "two") / "model.safetensors"))
    assert one.keys() == two.keys()
    assert all(one[k].shape == two[k].shape for k in one)
    assert latest_checkpoint(tmp_path / "two").name == "step_0000002"


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
