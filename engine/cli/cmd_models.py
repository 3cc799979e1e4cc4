"""`prufrock models list|export`."""

from __future__ import annotations

from pathlib import Path

from engine.cli.common import print_json

HELP = "list installed models, or export a training run as a model"


def add_parser(sub) -> None:
    p = sub.add_parser("models", help=HELP, description=HELP)
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    lp = msub.add_parser("list", help="bundled and user-installed models with kind, size and card summary")
    lp.add_argument("--json", action="store_true", help="print a JSON list")
    lp.add_argument("--kinds", action="store_true", help="list the model kinds this version knows instead")
    lp.set_defaults(func=run_list)
    ep = msub.add_parser("export", help="turn a run's latest checkpoint (or a checkpoint folder) into a model")
    ep.add_argument("run", type=Path, help="run folder or checkpoint folder")
    ep.add_argument("--out", type=Path, default=None, help="model folder to write")
    ep.add_argument("--name", default=None, help="install into the user models folder under this name")
    ep.set_defaults(func=run_export)
    p.set_defaults(func=run_list, json=False)


def run_kinds(args) -> int:
    from engine import kinds

    rows = [{"kind": k.name, "role": k.role, "trainable": k.trainable, "usable": k.usable, "presets": list(k.presets),
             "summary": k.summary} for k in kinds.all_kinds()]
    if getattr(args, "json", False):
        print_json(rows)
    else:
        for r in rows:
            state = "ready" if r["usable"] else "not built yet"
            print(f"{r['kind']:<12} {r['role']:<10} {state:<14} {r['summary']}")
    return 0


def run_list(args) -> int:
    from engine import kinds
    from engine.bundle import load_bundle, model_dirs
    from engine.errors import BadInput
    from engine.paths import BUNDLED_MODELS

    if getattr(args, "kinds", False):
        return run_kinds(args)
    rows = []
    for d in model_dirs():
        try:
            b = load_bundle(d)
        except BadInput as exc:
            rows.append({"name": d.name, "kind": "?", "error": str(exc), "path": str(d)})
            continue
        rows.append({"name": b.name, "kind": b.kind, "role": kinds.get(b.kind).role, "size_mb": round(b.size_bytes() / 1e6, 2),
                     "source": "bundled" if d.parent == BUNDLED_MODELS else "user",
                     "summary": b.card_summary(), "path": str(d)})
    if getattr(args, "json", False):
        print_json(rows)
    else:
        if not rows:
            print("no models installed")
        for r in rows:
            print(f"{r['name']:<20} {r['kind']:<10} {r.get('role', '?'):<10} {r.get('size_mb', 0):>7.1f} MB  {r.get('source', '')}  "
                  f"{r.get('summary') or r.get('error', '')}")
    return 0


def run_export(args) -> int:
    from engine.errors import BadInput
    from engine.paths import user_models_dir
    from engine.training.export import export_checkpoint

    if args.out is None and args.name is None:
        raise BadInput("give --out DIR or --name NAME")
    out = args.out or (user_models_dir() / args.name)
    path = export_checkpoint(args.run, out)
    print(f"model written to {path}")
    return 0
