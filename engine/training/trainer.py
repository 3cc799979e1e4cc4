"""One training loop for every recipe.

A recipe (engine.training.recipe.Recipe) owns its named networks, data and losses; the loop here does
the rest: one optimizer per trained network, the learning-rate schedule, gradient clipping, the NaN
guard, AMP on CUDA, checkpoints (atomic, last K, exact resume: step, optimizers, RNG, data position),
the JSON-lines event log, periodic validation, graceful stop on SIGTERM/SIGINT, and
DistributedDataParallel for every trained network when launched by torchrun. Frozen networks
(teachers) are put in eval mode without gradients and never saved.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import torch

from engine.training.checkpoint import checkpoint_step, latest_checkpoint, load_checkpoint, save_checkpoint
from engine.training import events as ev
from engine.training.events import EventLog
from engine.training.recipe import LoopConfig, Recipe  # noqa: F401 - LoopConfig re-exported


class Trainer:
    def __init__(self, recipe: Recipe, run_dir: Path, device: str = "auto", resume: bool = False,
                 init_from: Path | None = None) -> None:
        self.recipe, self.run_dir = recipe, Path(run_dir).resolve()  # event paths are absolute
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.distributed = self.world > 1
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.distributed and device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        else:
            self.device = torch.device(device)
        if self.distributed and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.is_main = self.rank == 0
        self.resume, self.init_from = resume, init_from
        self._stop = False

    def request_stop(self, *_):
        self._stop = True

    def lr_at(self, step: int) -> float:
        c = self.recipe.loop
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        return max(c.min_lr, c.lr * 0.5 ** ((step - c.warmup_steps) / c.lr_decay_steps))

    def _networks(self):
        """-> (trained {name: module}, frozen {name: module}, optimizers {name: optimizer})."""
        trained = self.recipe.networks(self.device)
        frozen = self.recipe.frozen_networks(self.device)
        for net in frozen.values():
            net.eval()
            for p in net.parameters():
                p.requires_grad_(False)
        optimizers = {name: self.recipe.make_optimizer(name, net) for name, net in trained.items()}
        return trained, frozen, optimizers

    def run(self) -> dict:
        c = self.recipe.loop
        self.run_dir.mkdir(parents=True, exist_ok=True)
        events = EventLog(self.run_dir, enabled=self.is_main)
        torch.manual_seed(c.seed)
        trained, frozen, optimizers = self._networks()
        step, epoch, position = 0, 0, 0
        ckpt = latest_checkpoint(self.run_dir) if self.resume else None
        if ckpt is not None:
            state = load_checkpoint(ckpt, trained, optimizers)
            step, epoch, position = state["step"], state.get("epoch", 0), state.get("position", 0)
            events.write(ev.RESUME, step=step, checkpoint=str(ckpt))
        elif self.init_from is not None:
            init = Path(self.init_from)
            if (init / "state.json").exists():  # a checkpoint: the networks it holds, fresh optimizers
                load_checkpoint(init, trained, None, restore_rng=False)
            else:  # a model bundle: weights of the exported network (the data's statistics are kept:
                self.recipe.init_networks(trained, init)  # the bundle's were computed the same way)
            events.write(ev.INIT, checkpoint=str(init))
        wrapped = dict(trained)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = {name: torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
                       if any(p.requires_grad for p in net.parameters()) else net
                       for name, net in trained.items()}
        nets = {**frozen, **wrapped}
        use_amp = self.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        old_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                old_handlers[sig] = signal.signal(sig, self.request_stop)
            except ValueError:  # not in the main thread
                pass
        events.write(ev.START, step=step, max_steps=c.max_steps, recipe=self.recipe.name,
                     device=str(self.device), world_size=self.world, pid=os.getpid(), host=socket.gethostname(),
                     data=str(getattr(self.recipe, "data_dir", "")), preset=getattr(self.recipe, "preset", ""),
                     networks=sorted(trained), frozen=sorted(frozen), config=self.recipe.config_dict())
        t_last, steps_since = time.time(), 0
        last_val = {}
        status = "finished"
        grad_norms: dict[str, float] = {}
        skipped: list[str] = []

        def update(name: str, loss: torch.Tensor) -> bool:
            """Backward, clip, NaN guard and step for one trained network."""
            net, opt = trained[name], optimizers[name]
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(), c.grad_clip)
            if not (torch.isfinite(loss) and torch.isfinite(norm)):
                opt.zero_grad(set_to_none=True)
                skipped.append(name)
                return False
            scaler.step(opt)
            grad_norms[name] = float(norm)
            return True

        try:
            while step < c.max_steps and not self._stop:
                batches = self.recipe.train_batches(epoch, self.rank, self.world)
                for i in range(position, len(batches)):
                    if step >= c.max_steps or self._stop:
                        break
                    for opt in optimizers.values():
                        for g in opt.param_groups:
                            g["lr"] = self.lr_at(step) * g.get("lr_scale", 1.0)
                    for net in trained.values():
                        net.train()
                    grad_norms.clear()
                    skipped.clear()
                    with torch.autocast(self.device.type, enabled=use_amp):
                        scalars = self.recipe.train_step(nets, batches[i], step, update)
                    scaler.update()
                    position = i + 1
                    if skipped:
                        events.write(ev.NAN_SKIP, step=step, networks=list(skipped),
                                     loss=scalars.get("loss", float("nan")))
                        if not grad_norms:
                            continue
                    step += 1
                    steps_since += 1
                    if step % c.log_every == 0 or step == 1:
                        now = time.time()
                        sps = steps_since / max(now - t_last, 1e-9)
                        t_last, steps_since = now, 0
                        scalars = dict(scalars)
                        loss = scalars.pop("loss", float("nan"))
                        norm = grad_norms.get(self.recipe.export_network, next(iter(grad_norms.values()), 0.0))
                        events.write(ev.STEP, step=step, epoch=epoch, loss=loss, losses=scalars,
                                     grad_norm=norm, grad_norms=dict(grad_norms) if len(trained) > 1 else None,
                                     lr=self.lr_at(step), steps_per_s=round(sps, 4))
                    if self.is_main and step % c.val_every == 0:
                        last_val = self.recipe.validate(nets, step, self.run_dir, events)
                    if self.is_main and step % c.checkpoint_every == 0:
                        self._save(trained, optimizers, step, epoch, position, last_val, events)
                else:
                    epoch += 1
                    position = 0
        except KeyboardInterrupt:
            self._stop = True
        finally:
            for sig, h in old_handlers.items():
                signal.signal(sig, h)
        if self._stop:
            status = "stopped"
        if self.is_main:
            latest = latest_checkpoint(self.run_dir)
            if latest is None or checkpoint_step(latest) != step:
                self._save(trained, optimizers, step, epoch, position, last_val, events)
        events.write(ev.END, step=step, status=status)
        events.close()
        if self.distributed:
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
        return {"step": step, "status": status, "run": str(self.run_dir)}

    def _save(self, trained, optimizers, step, epoch, position, metrics, events) -> None:
        path = save_checkpoint(self.run_dir, step, trained, optimizers,
                               {"epoch": epoch, "position": position, "config": self.recipe.config_dict(),
                                "recipe": self.recipe.name, "export_network": self.recipe.export_network,
                                "metrics": metrics},
                               keep_last=self.recipe.loop.keep_last)
        events.write(ev.CHECKPOINT, step=step, path=str(path))
