"""One training loop for every recipe.

A recipe (see `Recipe`) knows its model, data and loss; the loop here does the rest: optimizer,
learning-rate schedule, gradient clipping, NaN guard, AMP on CUDA, checkpoints (atomic, last K,
exact resume: step, optimizer, RNG, data position), the JSON-lines event log, periodic validation and
images, graceful stop on SIGTERM/SIGINT, and DistributedDataParallel when launched by torchrun.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from engine.training.events import EventLog


@dataclass
class LoopConfig:
    max_steps: int = 10000
    """Stop after this many optimizer steps."""
    lr: float = 1e-3
    """Peak learning rate (Adam)."""
    warmup_steps: int = 200
    """Linear warm-up steps."""
    lr_decay_steps: int = 20000
    """Exponential decay scale: lr x 0.5 ** ((step - warmup) / lr_decay_steps)."""
    min_lr: float = 1e-5
    """Floor of the schedule."""
    weight_decay: float = 1e-6
    """Adam weight decay."""
    grad_clip: float = 1.0
    """Gradient norm clipping."""
    log_every: int = 10
    """Steps between 'step' events."""
    checkpoint_every: int = 500
    """Steps between checkpoints."""
    keep_last: int = 3
    """Checkpoints kept."""
    val_every: int = 500
    """Steps between validation (loss, images, sample audio)."""
    seed: int = 1234
    """Seed of the model init, data order and dropout."""


class Recipe:
    """What a model kind brings to the loop. Subclasses implement all methods below."""

    name = "base"
    loop: LoopConfig

    def build(self, device: torch.device) -> torch.nn.Module: ...
    def train_batches(self, epoch: int, rank: int, world: int) -> list: ...
    def loss(self, model, batch, step: int) -> tuple[torch.Tensor, dict]: ...
    def validate(self, model, step: int, run_dir: Path, events: EventLog) -> dict: ...
    def config_dict(self) -> dict: ...


class StopRequested(Exception):
    pass


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

    def run(self) -> dict:
        c = self.recipe.loop
        self.run_dir.mkdir(parents=True, exist_ok=True)
        events = EventLog(self.run_dir, enabled=self.is_main)
        torch.manual_seed(c.seed)
        model = self.recipe.build(self.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        step, epoch, position = 0, 0, 0
        ckpt = latest_checkpoint(self.run_dir) if self.resume else None
        if ckpt is not None:
            state = load_checkpoint(ckpt, model, optimizer)
            step, epoch, position = state["step"], state.get("epoch", 0), state.get("position", 0)
            events.write("resume", step=step, checkpoint=str(ckpt))
        elif self.init_from is not None:
            init = Path(self.init_from)
            if (init / "state.json").exists():
                load_checkpoint(init, model, None, restore_rng=False)
            else:  # a model bundle: weights only (a fresh optimizer)
                from safetensors.torch import load_file

                weights = load_file(str(init / "model.safetensors"))
                # The data's normalisation statistics are kept: the bundle's were computed the same way.
                model.load_state_dict(weights)
            events.write("init", checkpoint=str(init))
        train_model = model
        if self.distributed:
            train_model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        use_amp = self.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        old_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                old_handlers[sig] = signal.signal(sig, self.request_stop)
            except ValueError:  # not in the main thread
                pass
        events.write("start", step=step, max_steps=c.max_steps, recipe=self.recipe.name,
                     device=str(self.device), world_size=self.world, pid=os.getpid(), host=socket.gethostname(),
                     data=str(getattr(self.recipe, "data_dir", "")), preset=getattr(self.recipe, "preset", ""),
                     config=self.recipe.config_dict())
        t_last, steps_since = time.time(), 0
        last_val = {}
        status = "finished"
        try:
            while step < c.max_steps and not self._stop:
                batches = self.recipe.train_batches(epoch, self.rank, self.world)
                for i in range(position, len(batches)):
                    if step >= c.max_steps or self._stop:
                        break
                    batch = batches[i]
                    for g in optimizer.param_groups:
                        g["lr"] = self.lr_at(step)
                    model.train()
                    with torch.autocast(self.device.type, enabled=use_amp):
                        loss, scalars = self.recipe.loss(train_model, batch, step)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                    position = i + 1
                    if not (torch.isfinite(loss) and torch.isfinite(grad_norm)):
                        optimizer.zero_grad(set_to_none=True)
                        scaler.update()
                        events.write("nan_skip", step=step, loss=loss.item(), grad_norm=float(grad_norm))
                        continue
                    scaler.step(optimizer)
                    scaler.update()
                    step += 1
                    steps_since += 1
                    if step % c.log_every == 0 or step == 1:
                        now = time.time()
                        sps = steps_since / max(now - t_last, 1e-9)
                        t_last, steps_since = now, 0
                        events.write("step", step=step, epoch=epoch, loss=loss.item(), losses=scalars,
                                     grad_norm=float(grad_norm), lr=self.lr_at(step), steps_per_s=round(sps, 4))
                    if self.is_main and step % c.val_every == 0:
                        last_val = self.recipe.validate(model, step, self.run_dir, events)
                    if self.is_main and step % c.checkpoint_every == 0:
                        self._save(model, optimizer, step, epoch, position, last_val, events)
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
            if latest is None or int(latest.name.split("_")[-1]) != step:
                self._save(model, optimizer, step, epoch, position, last_val, events)
        events.write("end", step=step, status=status)
        events.close()
        if self.distributed:
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
        return {"step": step, "status": status, "run": str(self.run_dir)}

    def _save(self, model, optimizer, step, epoch, position, metrics, events) -> None:
        path = save_checkpoint(self.run_dir, step, model, optimizer,
                               {"epoch": epoch, "position": position, "config": self.recipe.config_dict(),
                                "recipe": self.recipe.name, "metrics": metrics},
                               keep_last=self.recipe.loop.keep_last)
        events.write("checkpoint", step=step, path=str(path))
