"""`prufrock train RECIPE --data DIR --out RUN`: train a model; the run folder holds checkpoints,
the JSON-lines event log (events.jsonl), alignment images and sample audio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.cli.common import add_device, print_json
from engine.errors import BadInput, NotBuiltYet

HELP = "train a model (tacotron, vc, polisher, wavenet)"
RECIPES = ["tacotron", "vc", "polisher", "wavenet"]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". Stop with Ctrl+C or SIGTERM: the run "
                       "writes a checkpoint and exits; --resume continues it.")
    p.add_argument("recipe", choices=RECIPES, help="what to train")
    p.add_argument("--data", required=True, type=Path,
                   help="corpus folder (LJSpeech, CMU ARCTIC, VCTK layouts or a path|text|speaker list)")
    p.add_argument("--out", required=True, type=Path, help="run folder (checkpoints, events.jsonl, images)")
    p.add_argument("--preset", default="default", help="tiny (smoke run), default (CPU) or large (GPU)")
    p.add_argument("--config", type=Path, default=None, help="JSON file overriding the preset's settings")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
    p.add_argument("--resume", action="store_true", help="continue from the run's last complete checkpoint")
    p.add_argument("--init-from", type=Path, default=None,
                   help="start from the weights of a checkpoint folder (fresh optimizer)")
    p.add_argument("--speakers", default=None, help="comma-separated speakers of the corpus to train on")
    p.add_argument("--nproc", type=int, default=1,
                   help="processes for DistributedDataParallel (launched through torchrun; gloo on CPU)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads per process (0 = default)")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")
    p.set_defaults(func=run)


def _torchrun(args) -> int:
    argv = [a for a in sys.argv[1:]]
    # drop --nproc N / --nproc=N from the child's arguments
    child, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        child.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}",
           "-m", "engine", *child]
    env = dict(os.environ)
    if args.threads == 0 and args.device != "cuda":
        env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.call(cmd, env=env)


def run(args) -> int:
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return _torchrun(args)
    if args.recipe != "tacotron":
        raise NotBuiltYet(f"the '{args.recipe}' recipe is not built yet in this version")
    if not args.data.exists():
        raise BadInput(f"data folder not found: {args.data}")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda asked for, but no CUDA GPU is available: use --device cpu")
    from engine.training.tacotron_recipe import TacotronRecipe, load_train_config
    from engine.training.trainer import Trainer

    cfg = load_train_config(args.preset, args.config, args.max_steps)
    if args.speakers:
        cfg.speakers = [s for s in args.speakers.split(",") if s]
    if args.resume and not (args.out / "checkpoints").exists():
        raise BadInput(f"nothing to resume in {args.out}: it has no checkpoints")
    recipe = TacotronRecipe(cfg, args.data)
    recipe.preset = args.preset
    result = Trainer(recipe, args.out, device=args.device, resume=args.resume, init_from=args.init_from).run()
    if args.json and int(os.environ.get("RANK", "0")) == 0:
        print_json(result)
    return 0
