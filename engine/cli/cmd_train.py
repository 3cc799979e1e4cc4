"""`prufrock train RECIPE --data DIR --out RUN`: train a model; the run folder holds checkpoints,
the JSON-lines event log (events.jsonl), alignment images and sample audio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.cli.common import THREADS, add_device, int_in, print_json
from engine import kinds
from engine.errors import BadInput, NotBuiltYet

HELP = "train a model (" + ", ".join(kinds.known_recipes()) + ")"


def add_parser(sub) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". Stop with Ctrl+C or SIGTERM: the run "
                       "writes a checkpoint and exits; --resume continues it.")
    p.add_argument("recipe", choices=kinds.known_recipes(), help="what to train")
    p.add_argument("--data", required=True, type=Path,
                   help="corpus folder (LJSpeech, CMU ARCTIC, VCTK layouts or a path|text|speaker list)")
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, events.jsonl, images)")
    p.add_argument("--preset", default=None,
                   help="size and schedule: tiny (a smoke run), default (CPU), large (GPU); per recipe")
    p.add_argument("--config", type=Path, default=None, help="JSON file overriding the preset's settings")
    p.add_argument("--max-steps", type=int_in(0, 10**9, "a step count"), default=None, help="stop after N steps")
    p.add_argument("--resume", action="store_true", help="continue from the run's last complete checkpoint, with the train config it was started with (--config overrides fields of it)")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from the weights of a checkpoint folder (fresh optimizer)")
    seen = set()
    for kind in kinds.all_kinds():  # each recipe's own options (--target, --teacher, --partner, ...)
        for flags, kwargs in kind.train_options:
            if flags[0] not in seen:
                seen.add(flags[0])
                p.add_argument(*flags, **kwargs)
    p.add_argument("--nproc", type=int_in(1, 1024, "a process count"), default=1,
                   help="processes for DistributedDataParallel (launched through torchrun; gloo on CPU)")
    p.add_argument("--nnodes", type=int_in(1, 4096, "a node count"), default=1,
                   help="machines taking part (multi-node: start the same command on each, with its --node-rank)")
    p.add_argument("--node-rank", type=int_in(0, 4095, "a node rank"), default=0,
                   help="this machine's index, 0 .. nnodes-1 (node 0 hosts the rendezvous)")
    p.add_argument("--rdzv-endpoint", default=None, metavar="HOST:PORT",
                   help="node 0's address and a free port, reachable from every node (multi-node)")
    p.add_argument("--threads", type=THREADS, default=0, help="torch CPU threads per process (0 = default)")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")
    p.set_defaults(func=run)


LAUNCH_OPTIONS = {"--nproc": True, "--nnodes": True, "--node-rank": True, "--rdzv-endpoint": True}
"""Options of the launcher, not of the ranks (each takes a value)."""


def _child_argv(argv: list[str]) -> list[str]:
    """The command line each rank runs: ours without the launcher's options."""
    child, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in LAUNCH_OPTIONS:
            skip = "=" not in a
            continue
        child.append(a)
    return child


def torchrun_command(args, argv: list[str]) -> list[str]:
    """torchrun (torch.distributed.run) with one rank per --nproc on this node; several nodes meet at
    --rdzv-endpoint (node 0 listens there), one node runs standalone."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={args.nproc}"]
    if args.nnodes > 1:
        if not args.rdzv_endpoint or ":" not in args.rdzv_endpoint:
            raise BadInput("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (node 0's address and a free port)")
        if args.node_rank >= args.nnodes:
            raise BadInput(f"--node-rank must be below --nnodes ({args.nnodes}), got {args.node_rank}")
        host, _, port = args.rdzv_endpoint.rpartition(":")
        if not port.isdigit():
            raise BadInput(f"--rdzv-endpoint must be HOST:PORT, got {args.rdzv_endpoint!r}")
        cmd += [f"--nnodes={args.nnodes}", f"--node-rank={args.node_rank}", f"--master-addr={host}",
                f"--master-port={port}"]
    else:
        cmd += ["--standalone"]
    return cmd + ["-m", "engine", *_child_argv(argv)]


def _torchrun(args) -> int:
    env = dict(os.environ)
    if args.threads == 0 and args.device != "cuda":
        env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.call(torchrun_command(args, sys.argv[1:]), env=env)


def run(args) -> int:
    if (args.nproc > 1 or args.nnodes > 1) and "WORLD_SIZE" not in os.environ:
        return _torchrun(args)
    kind = kinds.get(args.recipe)
    recipe_cls = kind.recipe_class()
    if recipe_cls is None:
        raise NotBuiltYet(f"the '{args.recipe}' recipe is not built yet in this version")
    preset = args.preset or kind.default_preset
    if preset not in kind.presets:
        raise BadInput(f"unknown preset {preset!r} for {kind.name}: use {', '.join(kind.presets)}")
    if not args.data.exists():
        raise BadInput(f"data folder not found: {args.data}")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda asked for, but no CUDA GPU is available: use --device cpu")
    from engine.training.recipe import load_train_config
    from engine.training.trainer import Trainer

    saved = None
    if args.resume:
        from engine.training.checkpoint import latest_checkpoint, read_state

        ckpt = latest_checkpoint(args.out) if (args.out / "checkpoints").exists() else None
        if ckpt is None:
            raise BadInput(f"nothing to resume in {args.out}: it has no checkpoints")
        state = read_state(ckpt)
        if state.get("recipe", recipe_cls.name) != recipe_cls.name:
            raise BadInput(f"{args.out} is a {state.get('recipe')} run, not {recipe_cls.name}")
        saved = (state.get("config") or {}).get("train")
    cfg = load_train_config(recipe_cls, preset, args.config, args.max_steps, saved=saved)
    recipe = recipe_cls.from_cli(cfg, args)
    recipe.preset = preset
    result = Trainer(recipe, args.out, device=args.device, resume=args.resume, init_from=args.init_from).run()
    if args.json and int(os.environ.get("RANK", "0")) == 0:
        print_json(result)
    return 0
