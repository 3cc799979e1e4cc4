"""The `polisher` training recipe (pix2pix): a U-Net generator against a PatchGAN discriminator.

    prufrock train polisher --partner default --data CORPUS --out RUN

Pairs are (the partner's teacher-forced mel, the ground-truth mel) of the partner's own corpus,
frame-aligned (engine.models.polisher.pairs). Both are normalised with the partner's statistics and
divided by `input_scale`; training sees (n_mels x crop_frames) crops that avoid padding and silence.
Generator loss: L1 + adv_weight x non-saturating adversarial loss, after `gan_warmup_steps` of L1 alone;
with `learned_similarity` = a, a fraction a of the L1 term is replaced by the L1 distance between the
discriminator's intermediate features of polished and real mels (VAE-GAN's learned similarity).
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.audio.config import AudioConfig
from engine.data import FeatureCache, read_corpus
from engine.data.prompts import HELD_OUT_DEFAULT, held_out_ids
from engine.errors import BadInput
from engine.evaluation.global_variance import gv_gap
from engine.models.config_base import config_from_dict
from engine.models.polisher.config import PolisherConfig
from engine.models.polisher.pairs import PartnerMels, crop_starts, speech_frames
from engine.models.polisher.patchgan import PatchDiscriminator
from engine.models.polisher.unet import UNetGenerator
from engine.training import events as event_types
from engine.training.recipe import LoopConfig, Recipe, TrainConfigBase

IMAGE_EVENT = event_types.IMAGE
"""A mel image of validation: step, path (PNG; an .npy of the same stem beside it), text, caption."""


@dataclass
class PolisherTrainConfig(TrainConfigBase):
    model: PolisherConfig = field(default_factory=PolisherConfig)
    """The generator's hyperparameters (saved in every checkpoint and in the exported bundle)."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """Optimizer, schedule, checkpoint and logging settings."""
    partner: str = "default"
    """The acoustic model (bundle NAME or folder) whose mels are polished; --partner overrides it."""
    disc_channels: tuple[int, ...] = (32, 64, 128)
    """PatchGAN channels per layer (the first two layers halve both axes)."""
    batch_size: int = 16
    """Crops per batch."""
    crop_frames: int = 64
    """Frames per training crop (all mel bands are kept)."""
    adv_weight: float = 0.05
    """lambda: weight of the non-saturating adversarial loss next to the L1 term."""
    gan_warmup_steps: int = 300
    """Steps of L1 alone before the discriminator joins."""
    learned_similarity: float = 0.0
    """Fraction (0..1) of the L1 term replaced by the discriminator-feature L1 distance (VAE-GAN)."""
    feature_weight: float = 1.0
    """Scale of the discriminator-feature distance inside the learned-similarity term."""
    gv_weight: float = 0.0
    """Weight of a global-variance term: mean over crops and bands of |log var_t(polished) - log var_t(real)|."""
    d_lr_scale: float = 1.0
    """The discriminator's learning rate relative to the generator's."""
    adam_beta1: float = 0.5
    """Adam beta1 of both networks (pix2pix uses 0.5)."""
    input_scale: float = 0.0
    """Divide normalised mels by this (0 = measure it: the 99.5th percentile of |normalised ground truth|)."""
    silence_db: float = 40.0
    """Frames more than this many dB below the utterance's loudest frame count as silence."""
    min_speech_fraction: float = 0.8
    """A crop needs at least this fraction of speech frames."""
    held_out: int = HELD_OUT_DEFAULT
    """Never train on the last N ARCTIC prompts (the evaluation set)."""
    val_count: int = 8
    """Corpus utterances set aside for validation (L1 and GV gap of whole utterances)."""
    teacher_batch: int = 16
    """Utterances per teacher-forced batch of the partner (once, at the start)."""
    max_frames: int = 900
    """Skip utterances longer than this."""
    feature_cache: str = ""
    """Ground-truth feature cache folder ('' = the Tacotron recipe's default)."""
    pair_cache: str = ""
    """Folder of the partner's cached mels ('' = RUN/partner_mels)."""
    gv_prompts: int = 100
    """Training prompts the partner decodes free-running to measure the GV compensation stored in the
    bundle (engine.models.polisher.gv_compensation); 0 = no compensation."""
    pair_input: str = "teacher_forced"
    """What the U-Net learns from: "teacher_forced" (the partner's forward pass on the ground truth,
    frame-aligned) or "free_running" (the partner decoding every training prompt as at inference, GV
    compensated as the bundle applies it, with the ground truth DTW-warped onto its frames:
    engine.models.polisher.free_running)."""
    limit: int = 0
    """Use only the first N utterances (0 = all); for smoke runs."""


def preset(name: str) -> PolisherTrainConfig:
    """'tiny' (a smoke run in seconds) or 'default' (the shipped polisher, one CPU core)."""
    if name == "tiny":
        model = PolisherConfig(channels=(8, 16), bottleneck_blocks=1)
        loop = LoopConfig(max_steps=6, lr=1e-3, warmup_steps=2, log_every=1, checkpoint_every=3, val_every=3)
        return PolisherTrainConfig(model=model, loop=loop, disc_channels=(8, 16, 16), batch_size=4,
                                   crop_frames=32, gan_warmup_steps=2, val_count=2, teacher_batch=4, gv_prompts=3)
    if name == "default":
        model = PolisherConfig(channels=(16, 32, 64), bottleneck_blocks=1)
        # Held-out DNSMOS fell with every further GAN step measured (CARD.md), so the run is short.
        loop = LoopConfig(max_steps=750, lr=2e-4, warmup_steps=100, lr_decay_steps=3000, min_lr=2e-5,
                          log_every=10, checkpoint_every=250, val_every=250, grad_clip=5.0)
        return PolisherTrainConfig(model=model, loop=loop, adv_weight=0.01, gv_weight=1.0, gan_warmup_steps=250)
    raise BadInput(f"unknown preset {name!r}: use tiny or default")


def _default_feature_cache() -> Path:
    from engine.training.tacotron_recipe import default_cache_dir

    return default_cache_dir()


@dataclass
class Pair:
    id: str
    text: str
    source: torch.Tensor
    """(n_mels, T) the partner's mel, scaled normalised."""
    target: torch.Tensor
    """(n_mels, T) the ground truth, scaled normalised."""
    starts: np.ndarray
    """Crop start frames that avoid silence and padding."""


class SourceRecordings:
    """For a converter partner: which source voice's recording stands for each target utterance (one of
    the converter's source voices saying the same prompt, picked by the prompt id, so every source voice
    is used and the choice is stable)."""

    def __init__(self, source_speakers: list[str], corpus: list, targets: list, cache: FeatureCache,
                 log=None) -> None:
        """Only the prompts of `targets` are looked at; source recordings that cannot be read are skipped
        (and counted) like unreadable targets."""
        self.cache = cache
        wanted = {u.id for u in targets}
        candidates = [u for u in corpus if u.speaker in source_speakers and u.id in wanted]
        self.by_id: dict[str, list] = {}
        for u in cache.readable(candidates, jobs=1, log=log):
            self.by_id.setdefault(u.id, []).append(u)
        for group in self.by_id.values():
            group.sort(key=lambda u: u.speaker)

    def utterance(self, utt):
        """The source recording of `utt`'s prompt, or None."""
        group = self.by_id.get(utt.id)
        return group[zlib.crc32(utt.id.encode()) % len(group)] if group else None

    def path(self, utt):
        """Where that recording is (the caller knows there is one)."""
        return self.utterance(utt).audio_path

    def mel(self, utt) -> torch.Tensor | None:
        """(n_mels, T_src) log-mel of that recording, or None."""
        src = self.utterance(utt)
        return None if src is None else self.cache.log_mel(src).float()


class PolisherRecipe(Recipe):
    name = "polisher"
    export_network = "generator"

    train_config = PolisherTrainConfig
    presets = staticmethod(preset)

    @classmethod
    def from_cli(cls, cfg: PolisherTrainConfig, args) -> "PolisherRecipe":
        if getattr(args, "partner", None):
            cfg.partner = args.partner
        return cls(cfg, args.data, run_dir=args.out)

    def __init__(self, cfg: PolisherTrainConfig, data_dir: Path, run_dir: Path | None = None, log=None) -> None:
        self.cfg, self.loop = cfg, cfg.loop
        self.data_dir = Path(data_dir).resolve()
        self.run_dir = Path(run_dir).resolve() if run_dir else None
        self.preset = ""
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.device = torch.device("cpu")
        self._prepare()

    # ----- data ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        from engine.bundle import load_bundle
        from engine.models.registry import build_model

        cfg = self.cfg
        if not cfg.partner:
            raise BadInput("name the model to polish: --partner NAME (e.g. --partner default)")
        if cfg.pair_input not in ("teacher_forced", "free_running"):
            raise BadInput(f"pair_input {cfg.pair_input!r}: use teacher_forced or free_running")
        bundle = load_bundle(cfg.partner)
        partner = build_model(bundle)
        audio = partner.cfg.audio
        is_converter = bundle.kind == "vc"
        speakers = [partner.cfg.target] if is_converter else list(partner.cfg.speakers)
        corpus = [u for u in read_corpus(self.data_dir) if u.id not in held_out_ids(cfg.held_out)]
        utts = corpus
        if any(u.speaker in speakers for u in utts):  # a single-speaker corpus of another name is taken whole
            utts = [u for u in utts if u.speaker in speakers]
        utts = sorted(utts, key=lambda u: (u.speaker, u.id))
        if cfg.limit:
            utts = utts[: cfg.limit]
        if len(utts) < 2:
            raise BadInput(f"{self.data_dir} has too few utterances of {bundle.name}'s speakers "
                           f"({', '.join(speakers)}) to train a polisher on")
        cache = FeatureCache(Path(cfg.feature_cache) if cfg.feature_cache else _default_feature_cache(), audio)
        utts = cache.readable(utts, jobs=1, log=self.log)
        kept, gt = [], []
        for u in utts:
            m = cache.log_mel(u).float()
            if 8 <= m.shape[-1] <= cfg.max_frames:
                kept.append(u)
                gt.append(m)
        pair_root = Path(cfg.pair_cache) if cfg.pair_cache else (self.run_dir or Path(".")) / "partner_mels"
        sources = SourceRecordings(partner.cfg.sources, corpus, kept, cache, self.log) if is_converter else None
        partner_mels = PartnerMels(bundle, partner, pair_root, self.log, sources=sources)
        usable = [(u, m) for u, m in zip(kept, gt) if partner_mels.usable(u)]
        if not usable:
            raise BadInput(f"{bundle.name} can teacher-force none of the utterances of {self.data_dir}")
        kept, gt = [u for u, _ in usable], [m for _, m in usable]
        torch.manual_seed(cfg.loop.seed)
        rng = np.random.default_rng(cfg.loop.seed)
        order = rng.permutation(len(kept))
        n_val = min(cfg.val_count, max(1, len(kept) // 10))
        chosen = order[n_val: n_val + cfg.gv_prompts]  # the training prompts the GV factors come from
        scale = None
        if cfg.pair_input == "free_running":
            from engine.models.polisher.free_running import FreeRunningMels, dtw_warp
            from engine.models.polisher.gv_compensation import apply_gv_scale, measure_gv_scale

            free = FreeRunningMels(bundle, pair_root, cfg.loop.seed, sources.path if sources else None, self.log)
            pred = free.get(kept)
            if len(chosen):  # the factors from the decodings at hand; the inputs compensated as at inference
                scale = measure_gv_scale([pred[i] for i in chosen], [gt[i].numpy() for i in chosen])
                pred = [apply_gv_scale(torch.from_numpy(d)[None], torch.from_numpy(scale))[0].numpy() for d in pred]
            gt = [torch.from_numpy(dtw_warp(m.numpy(), d)) for m, d in zip(gt, pred)]
        else:
            pred = partner_mels.get(kept, gt, cfg.teacher_batch)
        self.partner_name = bundle.name
        self.audio: AudioConfig = audio
        self.mel_mean, self.mel_std = partner.mel_mean.clone(), partner.mel_std.clone()
        norm = [(m - self.mel_mean[:, None]) / self.mel_std[:, None] for m in gt]
        if cfg.input_scale <= 0:
            flat = torch.cat([n.flatten() for n in norm]).abs()
            sample = flat[torch.randperm(len(flat), generator=torch.Generator().manual_seed(0))[:200000]]
            cfg.input_scale = round(float(torch.quantile(sample, 0.995)), 2)
        cfg.model.input_scale = cfg.input_scale
        cfg.model.audio = audio
        cfg.model.partner = bundle.name
        s = cfg.input_scale
        pairs = []
        for u, m, n, p in zip(kept, gt, norm, pred):
            src = (torch.from_numpy(p) - self.mel_mean[:, None]) / self.mel_std[:, None] / s
            starts = crop_starts(speech_frames(m.numpy(), cfg.silence_db), cfg.crop_frames, cfg.min_speech_fraction)
            pairs.append(Pair(u.id, u.text, src.float(), (n / s).float(), starts))
        self.val_pairs = [pairs[i] for i in order[:n_val]]
        self.train_pairs = [pairs[i] for i in order[n_val:] if len(pairs[i].starts)]
        if not self.train_pairs:
            raise BadInput(f"no utterance has {cfg.crop_frames} frames of speech: lower crop_frames")
        if len(chosen):
            if scale is None:
                scale = self._measure_gv_scale(bundle, [kept[i] for i in chosen], [gt[i] for i in chosen], sources)
            cfg.model.gv_scale = [round(float(x), 4) for x in scale]
            self.log(f"GV compensation from {len(chosen)} free-running prompts: band factors "
                     f"{float(scale.min()):.3f}..{float(scale.max()):.3f} (mean {float(scale.mean()):.3f})")
        frames = sum(p.target.shape[-1] for p in self.train_pairs)
        self.log(f"polisher for {bundle.name}: train {len(self.train_pairs)} / val {len(self.val_pairs)} utterances, "
                 f"{frames / audio.frames_per_second / 60:.1f} min; input scale {s}")

    def _measure_gv_scale(self, bundle, utts, gt, sources: "SourceRecordings | None"):
        """The partner decodes `utts` free-running (as at inference); their GV against the ground truth
        `gt` gives the per-band compensation."""
        from engine.models.polisher.gv_compensation import free_running_mels, measure_gv_scale

        generated = free_running_mels(bundle, utts, sources.path if sources else None, seed=self.cfg.loop.seed)
        return measure_gv_scale(generated, [m.numpy() for m in gt])

    # ----- networks -----------------------------------------------------------------------------
    def networks(self, device) -> dict[str, torch.nn.Module]:
        self.device = torch.device(device)
        gen = UNetGenerator(self.cfg.model)
        gen.mel_mean.copy_(self.mel_mean)
        gen.mel_std.copy_(self.mel_std)
        disc = PatchDiscriminator(tuple(self.cfg.disc_channels), self.cfg.model.freq_coords)
        return {"generator": gen.to(device), "discriminator": disc.to(device)}

    def make_optimizer(self, name: str, network: torch.nn.Module) -> torch.optim.Optimizer:
        scale = self.cfg.d_lr_scale if name == "discriminator" else 1.0
        opt = torch.optim.Adam(network.parameters(), lr=self.loop.lr * scale, betas=(self.cfg.adam_beta1, 0.999),
                               weight_decay=self.loop.weight_decay)
        for g in opt.param_groups:
            g["lr_scale"] = scale
        return opt

    def init_networks(self, nets, init: Path) -> None:
        """--init-from a polisher bundle: its generator weights, but this partner's statistics."""
        super().init_networks(nets, init)
        gen = getattr(nets["generator"], "module", nets["generator"])
        gen.mel_mean.copy_(self.mel_mean)
        gen.mel_std.copy_(self.mel_std)

    # ----- batches ------------------------------------------------------------------------------
    def train_batches(self, epoch: int, rank: int, world: int) -> list:
        """One epoch: about as many crops as the training frames hold, each (pair index, start)."""
        rng = np.random.default_rng([self.cfg.loop.seed, epoch])
        weights = np.array([len(p.starts) for p in self.train_pairs], dtype=np.float64)
        frames = sum(p.target.shape[-1] for p in self.train_pairs)
        bs = self.cfg.batch_size
        n_batches = max(1, frames // (self.cfg.crop_frames * bs))
        picks = rng.choice(len(self.train_pairs), size=n_batches * bs, p=weights / weights.sum())
        crops = [(int(i), int(self.train_pairs[i].starts[rng.integers(len(self.train_pairs[i].starts))]))
                 for i in picks]
        batches = [crops[b * bs: (b + 1) * bs] for b in range(n_batches)]
        return batches[rank::world]

    def collate(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """[(pair, start)] -> source, target crops (B, n_mels, crop_frames)."""
        c = self.cfg.crop_frames
        src = torch.stack([self.train_pairs[i].source[:, s: s + c] for i, s in batch])
        tgt = torch.stack([self.train_pairs[i].target[:, s: s + c] for i, s in batch])
        return src.to(self.device), tgt.to(self.device)

    # ----- losses -------------------------------------------------------------------------------
    def gan_active(self, step: int) -> bool:
        return self.cfg.adv_weight > 0 and step >= self.cfg.gan_warmup_steps

    def discriminator_loss(self, disc, src, tgt, fake) -> torch.Tensor:
        """Non-saturating: -log D(real) - log(1 - D(fake))."""
        return F.softplus(-disc(src, tgt)).mean() + F.softplus(disc(src, fake.detach())).mean()

    def generator_loss(self, disc, src, tgt, fake, step: int) -> tuple[torch.Tensor, dict]:
        cfg = self.cfg
        l1 = (fake - tgt).abs().mean()
        scalars = {"l1": float(l1.detach())}
        gv = torch.zeros(())
        if cfg.gv_weight > 0:
            gv = (torch.log(fake.var(dim=-1) + 1e-4) - torch.log(tgt.var(dim=-1) + 1e-4)).abs().mean()
            scalars["gv"] = float(gv.detach())
        if not self.gan_active(step):
            return l1 + cfg.gv_weight * gv, scalars
        for p in disc.parameters():
            p.requires_grad_(False)
        try:
            logits, feats = disc(src, fake, features=True)
            adv = F.softplus(-logits).mean()
            total = l1 + cfg.adv_weight * adv + cfg.gv_weight * gv
            scalars["adv"] = float(adv.detach())
            if cfg.learned_similarity > 0:
                with torch.no_grad():
                    _, real_feats = disc(src, tgt, features=True)
                feat = torch.stack([(a - b).abs().mean() for a, b in zip(feats, real_feats)]).mean()
                a = cfg.learned_similarity
                total = (1 - a) * l1 + a * cfg.feature_weight * feat + cfg.adv_weight * adv + cfg.gv_weight * gv
                scalars["feature"] = float(feat.detach())
        finally:
            for p in disc.parameters():
                p.requires_grad_(True)
        return total, scalars

    def train_step(self, nets, batch, step: int, update) -> dict:
        gen, disc = nets["generator"], nets["discriminator"]
        src, tgt = self.collate(batch)
        fake = gen(src)
        scalars = {}
        if self.gan_active(step):
            d_loss = self.discriminator_loss(disc, src, tgt, fake)
            update("discriminator", d_loss)
            scalars["d"] = float(d_loss.detach())
        g_loss, g_scalars = self.generator_loss(disc, src, tgt, fake, step)
        update("generator", g_loss)
        return {"loss": float(g_loss.detach()), **g_scalars, **scalars}

    # ----- validation ---------------------------------------------------------------------------
    def polish_pairs(self, gen, pairs: list[Pair]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(partner, polished, ground truth) denormalised log-mels (n_mels, T) of whole utterances."""
        out = []
        g = getattr(gen, "module", gen)
        with torch.no_grad():
            for p in pairs:
                y = g(p.source[None].to(self.device))[0].cpu()
                out.append(tuple(g.from_output(x[None].to(self.device))[0].cpu().numpy()
                                 for x in (p.source, y, p.target)))
        return out

    def validate(self, nets, step: int, run_dir: Path, events) -> dict:
        try:
            from engine.alignment.png import save_matrix_png
        except ImportError:  # older layout
            from engine.evaluation.png import save_matrix_png
        from engine.audio.griffinlim import log_mel_to_audio
        from engine.audio.io import save_audio

        gen = getattr(nets["generator"], "module", nets["generator"])
        gen.eval()
        mels = self.polish_pairs(gen, self.val_pairs)
        gen.train()
        before, after, truth = ([m[i] for m in mels] for i in range(3))
        metrics = {
            "val_loss": round(float(np.mean([np.abs(a - t).mean() for a, t in zip(after, truth)])), 5),
            "l1_before": round(float(np.mean([np.abs(b - t).mean() for b, t in zip(before, truth)])), 5),
            "gv_gap": round(gv_gap(after, truth), 4),
            "gv_gap_before": round(gv_gap(before, truth), 4),
        }
        events.write(event_types.VAL, step=step, **metrics)
        (run_dir / "images").mkdir(exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        b, a, t = before[0], after[0], truth[0]
        gap = np.full((4, b.shape[1]), float(t.min()))
        stacked = np.concatenate([b, gap, a, gap, t], axis=0)  # bottom: partner, middle: polished, top: truth
        lo, hi = float(np.percentile(t, 1)), float(t.max())
        png = run_dir / "images" / f"step_{step:07d}.png"
        save_matrix_png(png, np.clip((stacked - lo) / max(hi - lo, 1e-6), 0, 1), scale=2)
        np.save(run_dir / "images" / f"step_{step:07d}.npy", stacked.astype(np.float32))
        events.write(IMAGE_EVENT, step=step, path=str(png), text=self.val_pairs[0].text,
                     caption="log-mel: partner (bottom), polished (middle), ground truth (top)")
        wav = log_mel_to_audio(torch.from_numpy(a)[None], self.audio, n_iter=32)[0]
        wav_path = run_dir / "samples" / f"step_{step:07d}.wav"
        save_audio(wav_path, wav.numpy(), self.audio.sample_rate)
        events.write(event_types.SAMPLE, step=step, path=str(wav_path), text=self.val_pairs[0].text)
        return metrics

    def config_dict(self) -> dict:
        return {"kind": "polisher", "train": self.cfg.to_dict(), "model": self.cfg.model.to_dict()}
