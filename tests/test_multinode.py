"""Training past one machine: two "nodes" (two torchrun launchers on 127.0.0.1, one rank each) meet at
node 0's rendezvous endpoint and train as one world of two ranks over gloo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

from engine.cli.cmd_train import torchrun_command
from engine.errors import BadInput
from engine.training.checkpoint import latest_checkpoint


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_command_for_several_nodes():
    args = SimpleNamespace(nproc=2, nnodes=3, node_rank=1, rdzv_endpoint="10.0.0.5:29400")
    argv = ["train", "tacotron", "--data", "d", "--nproc", "2", "--nnodes=3", "--node-rank", "1",
            "--rdzv-endpoint", "10.0.0.5:29400", "--out", "r"]
    cmd = torchrun_command(args, argv)
    assert "--nnodes=3" in cmd and "--node-rank=1" in cmd and "--master-addr=10.0.0.5" in cmd
    assert "--master-port=29400" in cmd and "--standalone" not in cmd
    assert cmd[cmd.index("engine") + 1:] == ["train", "tacotron", "--data", "d", "--out", "r"]
    with pytest.raises(BadInput, match="rdzv-endpoint"):
        torchrun_command(SimpleNamespace(nproc=1, nnodes=2, node_rank=0, rdzv_endpoint=None), argv)
    with pytest.raises(BadInput, match="below --nnodes"):
        torchrun_command(SimpleNamespace(nproc=1, nnodes=2, node_rank=2, rdzv_endpoint="h:1"), argv)


@pytest.mark.slow
def test_two_nodes_over_gloo_on_loopback(multispeaker_corpus, tmp_path):
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", PRUFROCK_CACHE_DIR=str(tmp_path / "cache"))
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "engine", "train", "tacotron", "--data", str(multispeaker_corpus),
               "--preset", "tiny", "--max-steps", "2", "--device", "cpu", "--out", str(tmp_path / f"node{node}"),
               "--nnodes", "2", "--node-rank", str(node), "--rdzv-endpoint", f"127.0.0.1:{port}"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    events = [json.loads(line) for line in (tmp_path / "node0" / "events.jsonl").read_text().splitlines()]
    start = events[0]
    assert start["type"] == "start" and start["world_size"] == 2
    assert events[-1]["type"] == "end" and events[-1]["step"] == 2
    assert latest_checkpoint(tmp_path / "node0").name == "step_0000002"
    # Node 1's rank is not the main rank: it trains but writes no log and no checkpoint.
    assert latest_checkpoint(tmp_path / "node1") is None
