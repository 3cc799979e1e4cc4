"""`prufrock bench`: the speed figures of docs/json.md."""

from __future__ import annotations

from engine.cli.common import THREADS, add_device, int_in, print_json

HELP = "speed figures (text-to-mel RTF, Griffin-Lim RTF, first chunk, GUI stall)"


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help=HELP, description=HELP + "; each measured now, after warm-up, median of repeats.")
    p.add_argument("--model", default="default", help="voice model NAME or DIR")
    p.add_argument("--repeats", type=int_in(1, 100, "a repeat count"), default=3, help="repeats per figure (median reported)")
    p.add_argument("--threads", type=THREADS, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--no-gui", action="store_true", help="skip the studio responsiveness figure")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from engine.evaluation.bench import bench

    result = bench(args.model, device=args.device, repeats=max(1, args.repeats), gui=not args.no_gui)
    if args.json:
        print_json(result)
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")
    return 0
