"""The `wavenet` training recipe: random audio windows with their mel frames, mu-law cross-entropy,
validation loss on fixed windows and a vocoded sample per validation."""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.audio.io import save_audio
from engine.audio.mulaw import mulaw_encode
from engine.data import FeatureCache, read_corpus
from engine.data.prompts import HELD_OUT_DEFAULT, held_out_ids
from engine.errors import BadInput
from engine.models.config_base import config_from_dict
from engine.models.wavenet.config import WaveNetConfig
from engine.models.wavenet.generation import FoldConfig, folded_stream, silence_class
from engine.models.wavenet.model import WaveNet
from engine.training.recipe import LoopConfig, Recipe, TrainConfigBase


@dataclass
class WaveNetTrainConfig(TrainConfigBase):
    model: WaveNetConfig = field(default_factory=WaveNetConfig)
    """The model's hyperparameters (saved in every checkpoint and in the exported bundle)."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """Optimizer, schedule, checkpoint and logging settings."""
    batch_size: int = 4
    """Audio windows per batch."""
    window: int = 4000
    """Samples per training window (a multiple of hop_length)."""
    batches_per_epoch: int = 250
    """Batches in one 'epoch' of random windows (the resume position counts within it)."""
    speakers: list = field(default_factory=list)
    """Only these speakers of the corpus (empty = all)."""
    held_out: int = HELD_OUT_DEFAULT
    """Hold out the last N ARCTIC prompt ids (never trained on; `prufrock eval vocoder` uses them)."""
    val_count: int = 8
    """Utterances set aside for the validation loss."""
    val_windows: int = 16
    """Fixed windows of the validation utterances scored at each validation."""
    val_seconds: float = 1.5
    """Seconds of a validation utterance vocoded into the sample wav at each validation."""
    tf_mels_from: str = ""
    """'' = condition on ground-truth mels; a Tacotron voice NAME/DIR = condition on its teacher-forced
    mels of the training audio (fine-tuning on what the synthesizer produces)."""
    tf_mix: float = 1.0
    """With tf_mels_from: fraction of windows conditioned on teacher-forced mels (the rest ground truth)."""
    feature_cache: str = ""
    """Feature cache folder ('' = $PRUFROCK_CACHE_DIR or ~/.cache/prufrock/features)."""
    limit: int = 0
    """Use only the first N utterances (0 = all); for smoke runs."""


def preset(name: str) -> WaveNetTrainConfig:
    """'tiny' (a smoke run in seconds) or 'default' (the shipped vocoder, 2 CPU cores)."""
    if name == "tiny":
        model = WaveNetConfig(layers=4, cycles=2, residual_channels=8, gate_channels=8, skip_channels=8,
                              head_channels=16, cond_channels=8)
        loop = LoopConfig(max_steps=20, warmup_steps=2, log_every=1, checkpoint_every=10, val_every=10, lr=3e-3)
        return WaveNetTrainConfig(model=model, loop=loop, batch_size=2, window=800, val_count=2,
                                  val_windows=2, val_seconds=0.1, batches_per_epoch=8)
    if name == "default":
        model = WaveNetConfig()
        loop = LoopConfig(max_steps=200000, warmup_steps=200, lr=1e-3, lr_decay_steps=30000, min_lr=5e-5,
                          log_every=10, checkpoint_every=400, val_every=400, keep_last=3)
        return WaveNetTrainConfig(model=model, loop=loop)
    raise BadInput(f"unknown preset {name!r}: use tiny or default")


def default_cache_dir() -> Path:
    from engine.training.tacotron_recipe import default_cache_dir as d

    return d()


@dataclass
class Item:
    id: str
    text: str
    classes: torch.Tensor  # (N,) uint8 mu-law classes of the trimmed audio
    mel: torch.Tensor  # (n_mels, N // hop + 1) natural-log mel (ground truth)
    speaker: int
    tf_mel: torch.Tensor | None = None  # teacher-forced mel of the same frames, or None


class WaveNetRecipe(Recipe):
    name = "wavenet"

    train_config = WaveNetTrainConfig
    presets = staticmethod(preset)

    @classmethod
    def from_cli(cls, cfg: WaveNetTrainConfig, args) -> "WaveNetRecipe":
        if getattr(args, "speakers", None):
            cfg.speakers = [s for s in args.speakers.split(",") if s]
        return cls(cfg, args.data)

    def __init__(self, cfg: WaveNetTrainConfig, data_dir: Path, log=None) -> None:
        self.cfg, self.loop = cfg, cfg.loop
        self.data_dir = Path(data_dir).resolve()
        self.preset = ""
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        hop = cfg.model.audio.hop_length
        if cfg.window <= 0 or cfg.window % hop:
            raise BadInput(f"window must be a positive multiple of hop_length {hop}, got {cfg.window}")
        self._prepare()

    # ----- data ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg, mcfg = self.cfg, self.cfg.model
        utts = read_corpus(self.data_dir)
        if cfg.speakers:
            utts = [u for u in utts if u.speaker in cfg.speakers]
            if not utts:
                raise BadInput(f"no utterances of speakers {cfg.speakers} in {self.data_dir}")
        hold = held_out_ids(cfg.held_out)
        utts = sorted((u for u in utts if u.id not in hold), key=lambda u: (u.speaker, u.id))
        if cfg.limit:
            utts = utts[: cfg.limit]
        speakers = sorted({u.speaker for u in utts})
        mcfg.speakers = speakers if len(speakers) > 1 else speakers[:1]
        cache = FeatureCache(Path(cfg.feature_cache) if cfg.feature_cache else default_cache_dir(), mcfg.audio)
        self.log(f"features: {len(utts)} utterances ({', '.join(speakers)})")
        utts = cache.readable(utts, jobs=2, waveforms=True, log=self.log)
        spk_index = {s: i for i, s in enumerate(speakers)}
        items = []
        for u in utts:
            wav = cache.waveform(u)
            if len(wav) < cfg.window + mcfg.audio.hop_length:
                continue
            mel = cache.log_mel(u).float()
            classes = mulaw_encode(torch.from_numpy(wav), mcfg.quantization_channels).to(torch.uint8)
            items.append(Item(u.id, u.text, classes, mel, spk_index[u.speaker]))
        if len(items) < 2:
            raise BadInput(f"{self.data_dir} has too few utterances longer than the window to train on")
        frames = torch.cat([it.mel for it in items], dim=1)
        self.mel_mean = frames.mean(dim=1)
        self.mel_std = frames.std(dim=1).clamp(min=1e-3)
        if cfg.tf_mels_from:
            from engine.models.wavenet.teacher_forced import teacher_forced_mels

            teacher_forced_mels(items, cfg.tf_mels_from, self.log)
        order = np.random.default_rng(cfg.loop.seed).permutation(len(items))
        n_val = min(cfg.val_count, max(1, len(items) // 10))
        self.val_items = [items[i] for i in order[:n_val]]
        self.train_items = [items[i] for i in order[n_val:]]
        seconds = sum(len(it.classes) for it in items) / mcfg.audio.sample_rate
        self.log(f"train {len(self.train_items)} / val {len(self.val_items)} utterances; {seconds / 60:.1f} min of audio")
        rng = np.random.default_rng(cfg.loop.seed + 1)
        self.val_batch = [self._random_window(self.val_items, rng, i % len(self.val_items))
                          for i in range(cfg.val_windows)]

    def _random_window(self, items, rng, index=None) -> tuple[int, int, bool]:
        i = int(rng.integers(len(items))) if index is None else index
        hop = self.cfg.model.audio.hop_length
        nf = self.cfg.window // hop
        max_f0 = len(items[i].classes) // hop - nf
        use_tf = bool(items[i].tf_mel is not None and rng.random() < self.cfg.tf_mix)
        return i, int(rng.integers(max_f0 + 1)), use_tf

    def build(self, device) -> torch.nn.Module:
        model = WaveNet(self.cfg.model).to(device)
        model.mel_mean.copy_(self.mel_mean.to(device))
        model.mel_std.copy_(self.mel_std.to(device))
        self.device = device
        return model

    def train_batches(self, epoch: int, rank: int, world: int) -> list:
        rng = np.random.default_rng([self.cfg.loop.seed, epoch, rank])
        bs = self.cfg.batch_size
        return [[self._random_window(self.train_items, rng) for _ in range(bs)]
                for _ in range(self.cfg.batches_per_epoch)]

    def collate(self, items, batch):
        """[(item index, first frame, teacher-forced?)] -> prev (B, W), target (B, W), mel window
        (B, n_mels, W / hop + 2 margin), speakers (B,)."""
        hop = self.cfg.model.audio.hop_length
        W = self.cfg.window
        nf = W // hop
        m = self.cfg.model.cond_frame_kernel // 2
        sil = silence_class(self.cfg.model.quantization_channels)
        prev, target, mels, spk = [], [], [], []
        for i, f0, use_tf in batch:
            it = items[i]
            s0 = f0 * hop
            c = it.classes.long()
            target.append(c[s0:s0 + W])
            p = c[max(0, s0 - 1):s0 + W - 1]
            if s0 == 0:
                p = torch.cat([torch.tensor([sil]), p])
            prev.append(p)
            mel = it.tf_mel if use_tf else it.mel
            idx = torch.arange(f0 - m, f0 + nf + m).clamp_(0, mel.shape[-1] - 1)
            mels.append(mel[:, idx])
            spk.append(it.speaker)
        d = self.device
        return (torch.stack(prev).to(d), torch.stack(target).to(d), torch.stack(mels).to(d),
                torch.tensor(spk, device=d))

    def _loss(self, model, collated):
        prev, target, mels, spk = collated
        base = getattr(model, "module", model)
        hop = base.cfg.audio.hop_length
        m = base.cfg.cond_frame_kernel // 2
        cond = base.upsample(base.normalize(mels))[:, :, m * hop: m * hop + prev.shape[1]]
        logits = model(prev, cond, spk if base.cfg.multi_speaker else None)
        return torch.nn.functional.cross_entropy(logits, target)

    def loss(self, model, batch, step: int):
        loss = self._loss(model, self.collate(self.train_items, batch))
        return loss, {}

    # ----- validation ---------------------------------------------------------------------------
    def validate(self, nets, step: int, run_dir: Path, events) -> dict:
        model = getattr(nets["model"], "module", nets["model"])
        model.eval()
        with torch.no_grad():
            losses = [float(self._loss(model, self.collate(self.val_items, self.val_batch[i:i + 4])))
                      for i in range(0, len(self.val_batch), 4)]
        val_loss = float(np.mean(losses))
        it = self.val_items[0]
        frames = max(4, int(self.cfg.val_seconds * model.cfg.audio.frames_per_second))
        mel = it.mel[:, :frames]
        start = time.perf_counter()
        wav = np.concatenate(list(folded_stream(model, mel, FoldConfig(), speaker=it.speaker if model.cfg.multi_speaker else None)))
        gen_s = time.perf_counter() - start
        (run_dir / "samples").mkdir(exist_ok=True)
        wav_path = run_dir / "samples" / f"step_{step:07d}.wav"
        save_audio(wav_path, wav, model.cfg.audio.sample_rate)
        metrics = {"val_loss": round(val_loss, 5),
                   "sample_rtf": round(gen_s / max(len(wav) / model.cfg.audio.sample_rate, 1e-9), 3)}
        events.write("val", step=step, **metrics)
        events.write("sample", step=step, path=str(wav_path), text=it.text)
        model.train()
        return metrics

    def config_dict(self) -> dict:
        self.cfg.model.data_note = f"{self.data_dir.name} ({', '.join(self.cfg.model.speakers)})"
        return {"kind": "wavenet", "train": self.cfg.to_dict(), "model": self.cfg.model.to_dict()}
