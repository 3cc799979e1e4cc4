"""The `tacotron` training recipe: data, batches, losses, validation images and sample audio."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.audio.config import AudioConfig
from engine.audio.griffinlim import log_mel_to_audio
from engine.audio.io import save_audio
from engine.data import BucketBatchSampler, FeatureCache, Utterance, read_corpus
from engine.data.prompts import HELD_OUT_DEFAULT, held_out_ids
from engine.errors import BadInput
from engine.alignment import alignment_complete, diagonal_mass, focus_rate, save_alignment_png
from engine.layers.masks import sequence_mask
from engine.models.config_base import config_from_dict
from engine.models.tacotron import Tacotron
from engine.models.tacotron_config import TacotronConfig
from engine.text import SymbolSet
from engine.training.losses import guided_attention_loss, masked_l1, stop_loss, stop_targets
from engine.training import events as ev
from engine.training.recipe import LoopConfig, Recipe, TrainConfigBase, load_train_config as _load_train_config


@dataclass
class TacotronTrainConfig(TrainConfigBase):
    model: TacotronConfig = field(default_factory=TacotronConfig)
    """The model's hyperparameters (saved in every checkpoint and in the exported bundle)."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """Optimizer, schedule, checkpoint and logging settings."""
    batch_size: int = 32
    """Utterances per batch (per process with --nproc)."""
    symbol_set: str = "arpabet"
    """'arpabet' (cmudict phonemes, letters for unknown words) or 'chars'."""
    speakers: list = field(default_factory=list)
    """Only these speakers of the corpus (empty = all)."""
    held_out: int = HELD_OUT_DEFAULT
    """Hold out the utterances whose ids are the last N of the sorted ARCTIC prompt list (when the
    corpus uses ARCTIC ids); they are never trained on."""
    val_count: int = 16
    """Utterances set aside for the validation loss (from the training speakers, not held out)."""
    max_frames: int = 900
    """Skip training utterances longer than this many frames."""
    guided_attention_weight: float = 2.0
    """Initial weight of the guided attention loss."""
    guided_attention_sigma: float = 0.2
    """Width of the diagonal band the guided attention loss tolerates."""
    guided_attention_decay_steps: int = 4000
    """The guided attention weight decays as exp(-step / this), to a floor of 2 % of the initial weight."""
    stop_pos_weight: float = 5.0
    """Positive-class weight of the stop-token BCE."""
    feature_cache: str = ""
    """Feature cache folder ('' = $PRUFROCK_CACHE_DIR or ~/.cache/prufrock/features)."""
    limit: int = 0
    """Use only the first N utterances (0 = all); for smoke runs."""


def preset(name: str) -> TacotronTrainConfig:
    """'tiny' (a smoke run in seconds), 'default' (the shipped voice, CPU), 'large' (GPU)."""
    if name == "tiny":
        model = TacotronConfig(embedding_dim=32, encoder_prenet=(32, 32), encoder_prenet_dropout=0.1,
                               encoder_K=4, encoder_dim=64,
                               prenet=(32, 32), attention_rnn_dim=64, attention_dim=32, location_filters=8,
                               location_kernel=15, decoder_dim=64, postnet="conv", postnet_dim=32,
                               gst_tokens=4, gst_dim=32, gst_heads=2, ref_filters=(8, 8, 16, 16), ref_gru_dim=32,
                               speaker_dim=16)
        loop = LoopConfig(max_steps=20, warmup_steps=5, log_every=1, checkpoint_every=10, val_every=10, lr=2e-3)
        return TacotronTrainConfig(model=model, loop=loop, batch_size=4, val_count=2, max_frames=600)
    if name == "default":
        model = TacotronConfig(encoder_K=8, r=3)
        loop = LoopConfig(max_steps=20000, warmup_steps=300, lr=1e-3, lr_decay_steps=8000,
                          checkpoint_every=250, val_every=250, log_every=10)
        return TacotronTrainConfig(model=model, loop=loop, batch_size=32)
    if name == "large":
        model = TacotronConfig(encoder_K=16, embedding_dim=512, encoder_dim=512, attention_rnn_dim=512,
                               decoder_dim=512, prenet=(256, 256), postnet_dim=512, gst_dim=256, r=2)
        loop = LoopConfig(max_steps=100000, warmup_steps=1000, lr=1e-3, lr_decay_steps=40000,
                          checkpoint_every=1000, val_every=1000)
        return TacotronTrainConfig(model=model, loop=loop, batch_size=48)
    raise BadInput(f"unknown preset {name!r}: use tiny, default or large")


def load_train_config(preset_name: str = "default", config_file: Path | None = None,
                      max_steps: int | None = None) -> TacotronTrainConfig:
    """A preset, overlaid with a JSON config file (same structure as TacotronTrainConfig.to_dict)."""
    return _load_train_config(TacotronRecipe, preset_name, config_file, max_steps)


def default_cache_dir() -> Path:
    env = os.environ.get("PRUFROCK_CACHE_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "prufrock" / "features"


@dataclass
class Item:
    utt: Utterance
    symbols: torch.Tensor
    mel: torch.Tensor  # normalised (n_mels, T)
    speaker: int


class TacotronRecipe(Recipe):
    name = "tacotron"

    train_config = TacotronTrainConfig
    presets = staticmethod(preset)

    @classmethod
    def from_cli(cls, cfg: TacotronTrainConfig, args) -> "TacotronRecipe":
        if getattr(args, "speakers", None):
            cfg.speakers = [s for s in args.speakers.split(",") if s]
        return cls(cfg, args.data)

    def __init__(self, cfg: TacotronTrainConfig, data_dir: Path, log=None) -> None:
        self.cfg = cfg
        self.loop = cfg.loop
        self.data_dir = Path(data_dir).resolve()
        self.preset = ""
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._prepare()

    # ----- data ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg = self.cfg
        utts = read_corpus(self.data_dir)
        if cfg.speakers:
            utts = [u for u in utts if u.speaker in cfg.speakers]
            if not utts:
                raise BadInput(f"no utterances of speakers {cfg.speakers} in {self.data_dir}")
        hold = held_out_ids(cfg.held_out)
        utts = [u for u in utts if u.id not in hold]
        utts.sort(key=lambda u: (u.speaker, u.id))
        if cfg.limit:
            utts = utts[: cfg.limit]
        if len(utts) < 2:
            raise BadInput(f"{self.data_dir} has too few utterances to train on ({len(utts)})")
        speakers = sorted({u.speaker for u in utts})
        symbols = SymbolSet.create(cfg.symbol_set)
        model_cfg = cfg.model
        model_cfg.symbols = symbols.to_dict()
        model_cfg.speakers = speakers if len(speakers) > 1 else speakers[:1]
        self.symbol_set = symbols

        cache = FeatureCache(Path(cfg.feature_cache) if cfg.feature_cache else default_cache_dir(), model_cfg.audio)
        self.log(f"features: {len(utts)} utterances ({', '.join(speakers)})")
        utts = cache.readable(utts, jobs=2, log=self.log)
        if not utts:
            u, e = cache.skipped[0]
            raise BadInput(f"no recording of {self.data_dir} can be read (first: {u.audio_path}: {e})")
        items_raw = []
        for u in utts:
            mel = cache.log_mel(u)
            if mel.shape[-1] > cfg.max_frames or mel.shape[-1] < 4:
                continue
            try:
                ids = symbols.encode(u.text)
            except BadInput:
                continue
            items_raw.append((u, torch.tensor(ids, dtype=torch.long), mel.float()))
        if len(items_raw) < 2:
            raise BadInput("no usable utterances after filtering (too long or no text)")
        all_frames = torch.cat([m for _, _, m in items_raw], dim=1)
        self.mel_mean = all_frames.mean(dim=1)
        self.mel_std = all_frames.std(dim=1).clamp(min=1e-3)
        spk_index = {s: i for i, s in enumerate(model_cfg.speakers)}
        items = [Item(u, ids, (m - self.mel_mean[:, None]) / self.mel_std[:, None], spk_index[u.speaker])
                 for u, ids, m in items_raw]
        rng = np.random.default_rng(cfg.loop.seed)
        order = rng.permutation(len(items))
        n_val = min(cfg.val_count, max(1, len(items) // 10))
        self.val_items = [items[i] for i in order[:n_val]]
        self.train_items = [items[i] for i in order[n_val:]]
        self.log(f"train {len(self.train_items)} / val {len(self.val_items)} utterances; "
                 f"{all_frames.shape[1] / model_cfg.audio.frames_per_second / 60:.1f} min of audio")

    def build(self, device) -> torch.nn.Module:
        model = Tacotron(self.cfg.model).to(device)
        model.mel_mean.copy_(self.mel_mean.to(device))
        model.mel_std.copy_(self.mel_std.to(device))
        self.device = device
        return model

    def train_batches(self, epoch: int, rank: int, world: int) -> list:
        lengths = [it.mel.shape[-1] for it in self.train_items]
        sampler = BucketBatchSampler(lengths, self.cfg.batch_size, shuffle=True, seed=self.cfg.loop.seed,
                                     num_replicas=world, rank=rank)
        sampler.set_epoch(epoch)
        return list(sampler)

    def collate(self, items: list[Item]):
        r = self.cfg.model.r
        B = len(items)
        sym_lens = torch.tensor([len(it.symbols) for it in items])
        mel_lens = torch.tensor([it.mel.shape[-1] for it in items])
        T_sym = int(sym_lens.max())
        T_mel = int(mel_lens.max())
        T_mel = (T_mel + r - 1) // r * r
        symbols = torch.zeros(B, T_sym, dtype=torch.long)
        mels = torch.zeros(B, self.cfg.model.n_mels, T_mel)
        for i, it in enumerate(items):
            symbols[i, : len(it.symbols)] = it.symbols
            mels[i, :, : it.mel.shape[-1]] = it.mel
            mels[i, :, it.mel.shape[-1]:] = it.mel[:, -1:]  # repeat the final (silent) frame
        speakers = torch.tensor([it.speaker for it in items])
        d = self.device
        return symbols.to(d), sym_lens.to(d), mels.to(d), mel_lens.to(d), speakers.to(d)

    # ----- loss ---------------------------------------------------------------------------------
    def ga_weight(self, step: int) -> float:
        c = self.cfg
        return c.guided_attention_weight * max(0.02, float(np.exp(-step / max(1, c.guided_attention_decay_steps))))

    def loss(self, model, batch, step: int):
        items = [self.train_items[i] for i in batch]
        return self._loss(model, self.collate(items), step, update_gst=True)

    def _loss(self, model, collated, step, update_gst=False):
        symbols, sym_lens, mels, mel_lens, speakers = collated
        base = getattr(model, "module", model)
        out = model(symbols, sym_lens, mels, mel_lens, speakers if len(base.cfg.speakers) > 1 else None)
        frame_mask = sequence_mask(mel_lens, mels.shape[-1])
        l_mel = masked_l1(out["mel"], mels, frame_mask)
        l_post = masked_l1(out["mel_post"], mels, frame_mask)
        targets = stop_targets(mel_lens, out["stop_logits"].shape[1], base.cfg.r)
        l_stop = stop_loss(out["stop_logits"].float(), targets, self.cfg.stop_pos_weight)
        l_ga = guided_attention_loss(out["alignments"].float(), sym_lens, mel_lens, base.cfg.r,
                                     self.cfg.guided_attention_sigma)
        w = self.ga_weight(step)
        total = l_mel + l_post + l_stop + w * l_ga
        if update_gst and out["gst_weights"] is not None:
            base.track_default_style(out["gst_weights"])
        scalars = {"mel": l_mel.item(), "postnet": l_post.item(), "stop": l_stop.item(),
                   "guided_attention": l_ga.item(), "ga_weight": round(w, 5)}
        return total, scalars

    # ----- validation ---------------------------------------------------------------------------
    def validate(self, nets, step: int, run_dir: Path, events) -> dict:
        model = getattr(nets["model"], "module", nets["model"])
        model.eval()
        bs = self.cfg.batch_size
        totals = []
        with torch.no_grad():
            for i in range(0, len(self.val_items), bs):
                collated = self.collate(self.val_items[i : i + bs])
                loss, scalars = self._loss(model, collated, step)
                totals.append(scalars["mel"] + scalars["postnet"])
        val_loss = float(np.mean(totals))
        # Free-running synthesis of one validation sentence: alignment image + sample audio.
        it = self.val_items[0]
        symbols = it.symbols[None].to(self.device)
        lengths = torch.tensor([len(it.symbols)], device=self.device)
        style = None
        if model.has_gst:
            with torch.no_grad():
                style, _ = model.style_from_reference(it.mel[None].to(self.device))
        speaker = torch.tensor([it.speaker], device=self.device) if len(model.cfg.speakers) > 1 else None
        chunks = list(model.generate(symbols, lengths, style=style, speaker_ids=speaker, chunk_steps=50))
        mel = torch.cat([c.mel for c in chunks], dim=-1)
        align = torch.cat([c.alignment for c in chunks], dim=1)[0].float().cpu().numpy()
        stop_reached = bool(chunks[-1].finished[0])
        mel = model.postprocess(mel)
        (run_dir / "alignments").mkdir(exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        png = run_dir / "alignments" / f"step_{step:07d}.png"
        save_alignment_png(png, align)
        np.save(run_dir / "alignments" / f"step_{step:07d}.npy", align.astype(np.float32))
        wav = log_mel_to_audio(mel.float().cpu(), self.cfg.model.audio, n_iter=32)[0]
        wav_path = run_dir / "samples" / f"step_{step:07d}.wav"
        save_audio(wav_path, wav, self.cfg.model.audio.sample_rate)
        metrics = {"val_loss": round(val_loss, 5), "focus_rate": round(focus_rate(align), 4),
                   "diagonal_mass": round(diagonal_mass(align), 4),
                   "alignment_complete": alignment_complete(align), "stop_reached": stop_reached,
                   "frames": int(mel.shape[-1])}
        events.write(ev.VAL, step=step, **metrics)
        events.write(ev.ALIGNMENT, step=step, path=str(png), text=it.utt.text)
        events.write(ev.SAMPLE, step=step, path=str(wav_path), text=it.utt.text)
        model.train()
        return metrics

    def config_dict(self) -> dict:
        return {"kind": "tacotron", "train": self.cfg.to_dict(), "model": self.cfg.model.to_dict()}
