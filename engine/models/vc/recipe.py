"""The `vc` training recipe: parallel pairs (source speaker -> target, same prompt id), losses (mel,
postnet, stop, guided attention, CTC phonemes, attention distillation from a frozen teacher), and
validation (teacher-forced loss, free-running held-out conversions: complete-alignment rate, images,
sample audio).

    prufrock train vc --data CORPUS --target slt [--sources a,b] [--teacher RUN_OR_BUNDLE]
                      [--pretrain-autoencoder]
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.alignment import alignment_complete, diagonal_mass, focus_rate, save_alignment_png
from engine.audio.griffinlim import log_mel_to_audio
from engine.audio.io import save_audio
from engine.audio.vtlp import vtlp_log_mel
from engine.data import BucketBatchSampler, FeatureCache, read_corpus
from engine.data.prompts import HELD_OUT_DEFAULT, held_out_ids
from engine.errors import BadInput
from engine.layers.ctc_head import ctc_loss, phoneme_classes, phoneme_targets
from engine.layers.masks import sequence_mask
from engine.layers.pyramidal_lstm import reduced_length
from engine.models.config_base import config_from_dict
from engine.models.vc.config import DECODER_FIELDS, VCConfig
from engine.models.vc.context_targets import context_loss
from engine.models.vc.model import Converter
from engine.text import SymbolSet
from engine.training.losses import guided_attention_loss, masked_l1, stop_loss, stop_targets
from engine.training.recipe import LoopConfig, Recipe, TrainConfigBase
from engine.training.tacotron_recipe import default_cache_dir

DEFAULT_UNSEEN = ["ked", "espeak-en-us-f3"]


@dataclass
class VCTrainConfig(TrainConfigBase):
    model: VCConfig = field(default_factory=VCConfig)
    """The converter's hyperparameters (saved in every checkpoint and in the exported bundle)."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """Optimizer, schedule, checkpoint and logging settings."""
    batch_size: int = 16
    """Pairs per batch (per process with --nproc)."""
    target: str = "slt"
    """The corpus speaker converted into."""
    sources: list = field(default_factory=list)
    """Source speakers trained on (empty = every speaker but the target and the unseen ones)."""
    unseen: list = field(default_factory=lambda: list(DEFAULT_UNSEEN))
    """Speakers never trained on (for measuring conversion of unheard voices)."""
    held_out: int = HELD_OUT_DEFAULT
    """Prompts held out of training: the last N ARCTIC ids."""
    val_count: int = 16
    """Training-prompt pairs set aside for the teacher-forced validation loss."""
    align_eval_count: int = 20
    """Held-out pairs (seen sources) converted free-running at each validation (complete-alignment rate)."""
    max_frames: int = 560
    """Skip pairs whose source or target is longer than this many frames."""
    guided_attention_weight: float = 2.0
    """Initial weight of the guided (diagonal) attention loss."""
    guided_attention_sigma: float = 0.25
    """Width of the diagonal band the guided attention loss tolerates."""
    guided_attention_decay_steps: int = 3000
    """The guided attention weight decays as exp(-step / this), to a floor of 5 % of the initial weight."""
    stop_pos_weight: float = 5.0
    """Positive-class weight of the stop-token BCE."""
    distill_weight: float = 1.0
    """Weight of the KL term between the teacher's and the student's attention (with a teacher)."""
    teacher: str = ""
    """A trained converter run or bundle whose attention is distilled ('' = none)."""
    context_weight: float = 0.0
    """Weight of the context loss: the squared distance between the converter's attention context and the
    one `context_voice` reads, teacher-forced on the same target recording (engine.models.vc.context_targets);
    0 = off. Measured at 2 and 8 on the default converter: the contexts moved toward the voice's and the
    WER rose (resources/models/default-vc/CARD.md)."""
    context_voice: str = "default"
    """The Tacotron voice whose text-encoder contexts the converter's are pulled toward (with context_weight)."""
    pretrain_autoencoder: bool = False
    """Start with `autoencoder_epochs` epochs of reconstructing every voice from itself."""
    autoencoder_epochs: int = 1
    """Epochs of autoencoder pretraining (with pretrain_autoencoder)."""
    decoder_lr_scale: float = 0.5
    """Learning-rate factor of the decoder and postnet (started from the default voice)."""
    train_postnet: bool = True
    """Train the postnet; off, it is frozen as started (the default voice's) and skipped in the loss,
    which saves about 40 % of a CPU step."""
    vtlp_range: float = 0.0
    """Vocal-tract-length perturbation of the training sources: each source mel is frequency-warped by a
    factor drawn uniformly from [1 - x, 1 + x] per utterance and step, for more apparent speakers (0 = off)."""
    vtlp_prob: float = 0.8
    """Chance that a training source is warped (with vtlp_range > 0)."""
    feature_cache: str = ""
    """Feature cache folder ('' = $PRUFROCK_CACHE_DIR or ~/.cache/prufrock/features)."""
    limit: int = 0
    """Use only the first N prompt ids (0 = all); for smoke runs."""


def preset(name: str) -> VCTrainConfig:
    """'tiny' (a smoke run in seconds, decoder from scratch), 'default' (CPU; decoder from the
    default voice, so its decoder sizes are the default voice's)."""
    if name == "tiny":
        model = VCConfig(frontend_channels=32, encoder_hidden=32, pyramid_layers=2, encoder_dim=32, style_dim=8,
                         prenet=(32, 32), attention_rnn_dim=48, attention_dim=32, location_filters=8,
                         location_kernel=15, decoder_dim=48, postnet="conv", postnet_dim=32, init_decoder_from="")
        loop = LoopConfig(max_steps=20, warmup_steps=5, log_every=1, checkpoint_every=10, val_every=10, lr=2e-3)
        return VCTrainConfig(model=model, loop=loop, batch_size=4, val_count=2, align_eval_count=2,
                             max_frames=400, decoder_lr_scale=1.0)
    if name == "default":
        loop = LoopConfig(max_steps=30000, warmup_steps=200, lr=1e-3, lr_decay_steps=6000,
                          checkpoint_every=150, val_every=150, log_every=10)
        return VCTrainConfig(model=VCConfig(), loop=loop, batch_size=16, train_postnet=False)
    raise BadInput(f"unknown preset {name!r}: use tiny or default")


def load_teacher(spec: str, device) -> Converter:
    """A frozen converter from a run folder (its latest checkpoint) or a bundle."""
    from engine.training.checkpoint import network_weights, read_state
    from engine.training.export import find_checkpoint

    path = Path(spec)
    if path.is_dir() and ((path / "checkpoints").is_dir() or (path / "state.json").exists()):
        ckpt = find_checkpoint(path)
        state = read_state(ckpt)
        model = Converter(VCConfig.from_dict(state["config"]["model"]))
        model.load_state_dict(network_weights(ckpt, state.get("export_network", "model")))
        return model.to(device)
    from engine.bundle import load_bundle
    from engine.models.registry import build_model

    return build_model(load_bundle(spec, kind="vc"), device)


def attention_kl(teacher: torch.Tensor, student: torch.Tensor, step_lengths: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of attention rows (B, T_steps, T_in), mean over valid decoder steps; a
    teacher with another input length is resampled to the student's."""
    if teacher.shape[-1] != student.shape[-1]:
        B, S, _ = teacher.shape
        teacher = F.interpolate(teacher.reshape(B * S, 1, -1), size=student.shape[-1], mode="linear",
                                align_corners=False).reshape(B, S, -1)
        teacher = teacher / teacher.sum(-1, keepdim=True).clamp(min=1e-8)
    steps = min(teacher.shape[1], student.shape[1])
    t, s = teacher[:, :steps].float(), student[:, :steps].float()
    kl = (t * (torch.log(t.clamp(min=1e-8)) - torch.log(s.clamp(min=1e-8)))).sum(-1)  # (B, steps)
    mask = sequence_mask(step_lengths.clamp(max=steps), steps).float()
    return (kl * mask).sum() / mask.sum().clamp(min=1)


@dataclass
class Pair:
    src: tuple[str, str]
    """(speaker, id) of the source recording."""
    tgt: tuple[str, str]
    """(speaker, id) of the target recording."""
    phonemes: torch.Tensor
    """CTC class ids of the sentence."""
    text: str


class VCRecipe(Recipe):
    name = "vc"

    train_config = VCTrainConfig
    presets = staticmethod(preset)

    @classmethod
    def from_cli(cls, cfg: VCTrainConfig, args) -> "VCRecipe":
        if getattr(args, "target", None):
            cfg.target = args.target
        if getattr(args, "sources", None):
            cfg.sources = [s for s in args.sources.split(",") if s]
        if getattr(args, "teacher", None):
            cfg.teacher = args.teacher
        if getattr(args, "pretrain_autoencoder", False):
            cfg.pretrain_autoencoder = True
        return cls(cfg, args.data)

    def __init__(self, cfg: VCTrainConfig, data_dir: Path, log=None) -> None:
        self.cfg = cfg
        self.loop = cfg.loop
        self.data_dir = Path(data_dir).resolve()
        self.preset = ""
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.device = torch.device("cpu")
        self._prepare()

    # ----- data ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg, mcfg = self.cfg, self.cfg.model
        utts = read_corpus(self.data_dir)
        speakers = sorted({u.speaker for u in utts})
        if cfg.target not in speakers:
            raise BadInput(f"target speaker {cfg.target!r} is not in {self.data_dir} (speakers: {', '.join(speakers)})")
        sources = cfg.sources or [s for s in speakers if s != cfg.target and s not in cfg.unseen]
        for s in sources:
            if s not in speakers:
                raise BadInput(f"source speaker {s!r} is not in {self.data_dir} (speakers: {', '.join(speakers)})")
            if s == cfg.target:
                raise BadInput(f"{s!r} is the target; list other speakers as --sources")
        hold = held_out_ids(cfg.held_out)
        by_key = {(u.speaker, u.id): u for u in utts}
        target_ids = sorted(u.id for u in utts if u.speaker == cfg.target)
        train_ids = [i for i in target_ids if i not in hold]
        if cfg.limit:
            train_ids = train_ids[: cfg.limit]
        eval_ids = [i for i in target_ids if i in hold]
        symbols = SymbolSet.create("arpabet")
        mcfg.symbols = symbols.to_dict()
        mcfg.ctc_classes = phoneme_classes(symbols) if mcfg.ctc_weight > 0 else []
        mcfg.target, mcfg.sources = cfg.target, list(sources)
        mcfg.held_out = cfg.held_out
        mcfg.unseen = [s for s in cfg.unseen if s in speakers]
        self.symbols = symbols

        wanted = [by_key[(s, i)] for s in [cfg.target, *sources] for i in train_ids if (s, i) in by_key]
        wanted += [by_key[(s, i)] for s in sources for i in eval_ids[: max(1, cfg.align_eval_count)] if (s, i) in by_key]
        wanted += [by_key[(cfg.target, i)] for i in eval_ids[: max(1, cfg.align_eval_count)]]
        cache = FeatureCache(Path(cfg.feature_cache) if cfg.feature_cache else default_cache_dir(), mcfg.audio)
        self.log(f"features: {len(wanted)} utterances ({cfg.target} <- {', '.join(sources)})")
        wanted = cache.readable(wanted, jobs=2, log=self.log)
        self.mels: dict[tuple[str, str], torch.Tensor] = {}
        for u in wanted:
            mel = cache.log_mel(u)
            if 4 <= mel.shape[-1] <= cfg.max_frames:
                self.mels[(u.speaker, u.id)] = mel.half()

        def pairs_for(ids, speakers_from, autoencode=False):
            out = []
            for s in speakers_from:
                for i in ids:
                    tgt = (s, i) if autoencode else (cfg.target, i)
                    if (s, i) not in self.mels or tgt not in self.mels:
                        continue
                    text = by_key[(cfg.target, i)].text
                    ph = phoneme_targets(symbols, mcfg.ctc_classes, text) if mcfg.ctc_classes else []
                    out.append(Pair((s, i), tgt, torch.tensor(ph, dtype=torch.long), text))
            return out

        pairs = pairs_for(train_ids, sources)
        if len(pairs) < 2:
            raise BadInput(f"{self.data_dir} has too few parallel pairs to train on ({len(pairs)})")
        rng = np.random.default_rng(cfg.loop.seed)
        order = rng.permutation(len(pairs))
        n_val = min(cfg.val_count, max(1, len(pairs) // 10))
        self.val_pairs = [pairs[i] for i in order[:n_val]]
        self.train_pairs = [pairs[i] for i in order[n_val:]]
        self.ae_pairs = pairs_for(train_ids, [cfg.target, *sources], autoencode=True) if cfg.pretrain_autoencoder else []
        self.contexts: dict[str, torch.Tensor] = {}
        if cfg.context_weight > 0:
            from engine.models.vc.context_targets import voice_contexts

            texts = {i: by_key[(cfg.target, i)].text for i in train_ids if (cfg.target, i) in self.mels}
            self.contexts = voice_contexts(cfg.context_voice, texts, {i: self.mels[(cfg.target, i)] for i in texts},
                                           mcfg.encoder_dim, self.log, seed=cfg.loop.seed)
        # Held-out prompts of the seen sources, spread over the speakers (free-running validation).
        held = pairs_for(eval_ids, sources)
        held.sort(key=lambda p: (p.src[1], p.src[0]))
        step = max(1, len(held) // max(1, cfg.align_eval_count))
        self.eval_pairs = held[::step][: cfg.align_eval_count] or self.val_pairs[: max(1, cfg.align_eval_count)]
        # Source statistics (after the per-utterance mean when utterance_norm): std per band.
        src_frames = []
        for p in self.train_pairs[:: max(1, len(self.train_pairs) // 600)]:
            m = self.mels[p.src].float()
            src_frames.append(m - m.mean(dim=1, keepdim=True) if mcfg.utterance_norm else m)
        frames = torch.cat(src_frames, dim=1)
        self.src_mean = torch.cat([self.mels[p.src].float() for p in self.train_pairs[:600]], dim=1).mean(dim=1)
        self.src_std = frames.std(dim=1).clamp(min=1e-3)
        tgt_frames = torch.cat([self.mels[(cfg.target, i)].float() for i in train_ids[:600]
                                if (cfg.target, i) in self.mels], dim=1)
        self.tgt_mean, self.tgt_std = tgt_frames.mean(dim=1), tgt_frames.std(dim=1).clamp(min=1e-3)
        minutes = sum(self.mels[p.tgt].shape[-1] for p in self.train_pairs) / mcfg.audio.frames_per_second / 60
        self.log(f"pairs: train {len(self.train_pairs)} / val {len(self.val_pairs)} / held-out eval "
                 f"{len(self.eval_pairs)}; {minutes:.1f} min of target speech; sources {', '.join(sources)}"
                 + (f"; unseen {', '.join(mcfg.unseen)}" if mcfg.unseen else ""))

    # ----- networks -----------------------------------------------------------------------------
    def build(self, device) -> torch.nn.Module:
        mcfg = self.cfg.model
        model = Converter(mcfg)
        if mcfg.init_decoder_from:
            from engine.bundle import load_bundle
            from engine.models.registry import build_model

            bundle = load_bundle(mcfg.init_decoder_from, kind="tacotron")
            for name in DECODER_FIELDS:
                theirs = bundle.config.get(name)
                ours = getattr(mcfg, name)
                theirs = tuple(theirs) if isinstance(theirs, list) else theirs
                if name in ("stop_threshold", "max_decoder_steps", "stop_requires_end", "end_tolerance",
                            "end_hold_steps", "attention_window"):
                    continue  # inference settings, not sizes
                if theirs != ours:
                    raise BadInput(f"init_decoder_from {mcfg.init_decoder_from!r}: its {name} is {theirs!r}, the "
                                   f"converter's {ours!r}; use the same decoder sizes or init_decoder_from ''")
            copied = model.load_decoder_from(build_model(bundle))
            self.log(f"decoder started from {bundle.path.name} ({len(copied)} tensors)")
        else:
            model.mel_mean.copy_(self.tgt_mean)
            model.mel_std.copy_(self.tgt_std)
        model.src_mean.copy_(self.src_mean)
        model.src_std.copy_(self.src_std)
        if not self.cfg.train_postnet and model.postnet is not None:
            if not mcfg.init_decoder_from:
                raise BadInput("train_postnet false needs init_decoder_from (an untrained postnet would be kept)")
            for p in model.postnet.parameters():
                p.requires_grad_(False)
        self.device = device
        return model.to(device)

    def frozen_networks(self, device) -> dict[str, torch.nn.Module]:
        if not self.cfg.teacher:
            return {}
        teacher = load_teacher(self.cfg.teacher, device)
        self.log(f"teacher: {self.cfg.teacher} ({sum(p.numel() for p in teacher.parameters()) / 1e6:.1f} M parameters)")
        return {"teacher": teacher}

    def make_optimizer(self, name: str, network: torch.nn.Module) -> torch.optim.Optimizer:
        net = getattr(network, "module", network)
        slow = [p for n, p in net.named_parameters() if n.startswith(("decoder.", "postnet.")) and p.requires_grad]
        slow_ids = {id(p) for p in slow}
        fast = [p for p in net.parameters() if id(p) not in slow_ids and p.requires_grad]
        groups = [{"params": fast, "lr_scale": 1.0}, {"params": slow, "lr_scale": self.cfg.decoder_lr_scale}]
        return torch.optim.Adam(groups, lr=self.loop.lr, weight_decay=self.loop.weight_decay)

    # ----- batches ------------------------------------------------------------------------------
    def train_batches(self, epoch: int, rank: int, world: int) -> list:
        ae = self.cfg.pretrain_autoencoder and epoch < self.cfg.autoencoder_epochs and self.ae_pairs
        pairs = self.ae_pairs if ae else self.train_pairs
        lengths = [self.mels[p.tgt].shape[-1] for p in pairs]
        sampler = BucketBatchSampler(lengths, self.cfg.batch_size, shuffle=True, seed=self.cfg.loop.seed,
                                     num_replicas=world, rank=rank)
        sampler.set_epoch(epoch)
        return [("ae" if ae else "vc", b) for b in sampler]

    def collate(self, model: Converter, pairs: list[Pair], warps: list[float] | None = None):
        """-> src (B, n_mels, T_src) normalised for `model`, src_lengths,
        target mels (B, n_mels, T_tgt) normalised, padded to a multiple of r, target lengths, phonemes.
        warps: a VTLP factor per pair for the sources (None = none)."""
        raw, src_lens, tgt, tgt_lens, phonemes = self.collate_raw(model, pairs, warps)
        return model.normalize_source(raw, src_lens), src_lens, tgt, tgt_lens, phonemes

    def collate_raw(self, model: Converter, pairs: list[Pair], warps: list[float] | None = None):
        """collate() with the sources left as log-mels (B, n_mels, T_src), so a student and a teacher with
        their own source normalisation share one (warped) batch."""
        r = model.cfg.r
        d = self.device
        src_lens = torch.tensor([self.mels[p.src].shape[-1] for p in pairs])
        tgt_lens = torch.tensor([self.mels[p.tgt].shape[-1] for p in pairs])
        B, n_mels = len(pairs), model.cfg.n_mels
        src = torch.zeros(B, n_mels, int(src_lens.max()))
        T = (int(tgt_lens.max()) + r - 1) // r * r
        tgt = torch.zeros(B, n_mels, T)
        for i, p in enumerate(pairs):
            s = self.mels[p.src].float()
            if warps is not None:
                s = vtlp_log_mel(s, model.cfg.audio, warps[i])
            src[i, :, : s.shape[-1]] = s
            t = self.mels[p.tgt].float()
            tgt[i, :, : t.shape[-1]] = t
            tgt[i, :, t.shape[-1]:] = t[:, -1:]  # repeat the final (silent) frame
        tgt = model.normalize(tgt.to(d))
        return src.to(d), src_lens.to(d), tgt, tgt_lens.to(d), [p.phonemes for p in pairs]

    # ----- loss ---------------------------------------------------------------------------------
    def ga_weight(self, step: int) -> float:
        c = self.cfg
        return c.guided_attention_weight * max(0.05, float(np.exp(-step / max(1, c.guided_attention_decay_steps))))

    def train_step(self, nets, batch, step: int, update) -> dict:
        kind, indices = batch
        pairs = [(self.ae_pairs if kind == "ae" else self.train_pairs)[i] for i in indices]
        loss, scalars = self._loss(nets["model"], pairs, step, nets.get("teacher"), warps=self.warps(step, len(pairs)))
        update("model", loss)
        return {"loss": float(loss.detach()), **scalars}

    def warps(self, step: int, n: int) -> list[float] | None:
        """VTLP factors for the n sources of a training step (None when off), drawn from (seed, step)."""
        c = self.cfg
        if c.vtlp_range <= 0:
            return None
        rng = np.random.default_rng([c.loop.seed, step])
        alphas = rng.uniform(1 - c.vtlp_range, 1 + c.vtlp_range, n)
        return [float(a) if keep else 1.0 for a, keep in zip(alphas, rng.random(n) < c.vtlp_prob)]

    def _loss(self, model, pairs, step, teacher=None, warps=None):
        base = getattr(model, "module", model)
        raw_src, src_lens, tgt, tgt_lens, phonemes = self.collate_raw(base, pairs, warps)
        src = base.normalize_source(raw_src, src_lens)
        out = model(src, src_lens, tgt, tgt_lens, postnet=self.cfg.train_postnet)
        frame_mask = sequence_mask(tgt_lens, tgt.shape[-1])
        r = base.cfg.r
        l_mel = masked_l1(out["mel"], tgt, frame_mask)
        l_post = masked_l1(out["mel_post"], tgt, frame_mask) if self.cfg.train_postnet else l_mel.detach()
        l_stop = stop_loss(out["stop_logits"].float(), stop_targets(tgt_lens, out["stop_logits"].shape[1], r),
                           self.cfg.stop_pos_weight)
        l_ga = guided_attention_loss(out["alignments"].float(), out["enc_lengths"], tgt_lens, r,
                                     self.cfg.guided_attention_sigma)
        w = self.ga_weight(step)
        total = l_mel + l_post + l_stop + w * l_ga
        scalars = {"mel": l_mel.item(), "postnet": l_post.item(), "stop": l_stop.item(),
                   "guided_attention": l_ga.item(), "ga_weight": round(w, 5)}
        if out["ctc_log_probs"] is not None and base.cfg.ctc_weight > 0:
            l_ctc = ctc_loss(out["ctc_log_probs"], out["enc_lengths"], phonemes)
            total = total + base.cfg.ctc_weight * l_ctc
            scalars["ctc"] = l_ctc.item()
        if teacher is not None and self.cfg.distill_weight > 0:
            with torch.no_grad():
                t_src = teacher.normalize_source(raw_src, src_lens)  # the same warped sources, its statistics
                t_out = teacher(t_src, src_lens, tgt, tgt_lens, postnet=False)
            l_kl = attention_kl(t_out["alignments"], out["alignments"], (tgt_lens + r - 1) // r)
            total = total + self.cfg.distill_weight * l_kl
            scalars["distill"] = l_kl.item()
        if self.cfg.context_weight > 0 and self.contexts:
            targets = [self.contexts.get(p.tgt[1]) if p.tgt[0] == self.cfg.target and p.src != p.tgt else None
                       for p in pairs]
            l_ctx = context_loss(out["alignments"], out["memory"], targets, (tgt_lens + r - 1) // r)
            if l_ctx is not None:
                total = total + self.cfg.context_weight * l_ctx
                scalars["context"] = l_ctx.item()
        return total, scalars

    # ----- validation ---------------------------------------------------------------------------
    def validate(self, nets, step: int, run_dir: Path, events) -> dict:
        model = getattr(nets["model"], "module", nets["model"])
        model.eval()
        totals = []
        with torch.no_grad():
            for i in range(0, len(self.val_pairs), self.cfg.batch_size):
                _, scalars = self._loss(model, self.val_pairs[i : i + self.cfg.batch_size], step)
                totals.append(scalars["mel"] + scalars["postnet"])
        val_loss = float(np.mean(totals))
        results = self.convert_pairs(model, self.eval_pairs)
        complete = [alignment_complete(a) for _, a, _ in results]
        mel, align, stopped = results[0]
        (run_dir / "alignments").mkdir(exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        png = run_dir / "alignments" / f"step_{step:07d}.png"
        save_alignment_png(png, align)
        np.save(run_dir / "alignments" / f"step_{step:07d}.npy", align.astype(np.float32))
        wav = log_mel_to_audio(torch.from_numpy(mel)[None], self.cfg.model.audio, n_iter=32)[0]
        wav_path = run_dir / "samples" / f"step_{step:07d}.wav"
        save_audio(wav_path, wav, self.cfg.model.audio.sample_rate)
        metrics = {"val_loss": round(val_loss, 5), "alignment_complete_rate": round(float(np.mean(complete)), 4),
                   "stop_rate": round(float(np.mean([s for _, _, s in results])), 4),
                   "focus_rate": round(float(np.mean([focus_rate(a) for _, a, _ in results])), 4),
                   "diagonal_mass": round(diagonal_mass(align), 4), "alignment_complete": bool(complete[0]),
                   "held_out_pairs": len(results), "frames": int(mel.shape[-1])}
        events.write("val", step=step, **metrics)
        p = self.eval_pairs[0]
        events.write("alignment", step=step, path=str(png), text=f"{p.src[0]}: {p.text}")
        events.write("sample", step=step, path=str(wav_path), text=f"{p.src[0]}: {p.text}")
        model.train()
        return metrics

    @torch.no_grad()
    def convert_pairs(self, model: Converter, pairs: list[Pair], batch: int = 16) -> list:
        """Free-running conversions -> [(postnet log-mel (n_mels, T), alignment (T_steps, T_enc), stopped)]."""
        out = []
        for i in range(0, len(pairs), batch):
            group = pairs[i : i + batch]
            src, src_lens, _, _, _ = self.collate(model, group)
            chunks = list(model.generate(src, src_lens, chunk_steps=64, seeds=list(range(len(group)))))
            mel = torch.cat([c.mel for c in chunks], dim=-1)
            align = torch.cat([c.alignment for c in chunks], dim=1)
            last = chunks[-1]
            enc_lens = reduced_length(src_lens, model.cfg.pyramid_layers)
            for j in range(len(group)):
                n = int(last.stopped_at[j]) or align.shape[1]
                m = model.postprocess(mel[j : j + 1, :, : n * model.cfg.r])[0]
                out.append((m.float().cpu().numpy(), align[j, :n, : int(enc_lens[j])].float().cpu().numpy(),
                            bool(last.stop_fired[j])))
        return out

    def config_dict(self) -> dict:
        return {"kind": "vc", "train": self.cfg.to_dict(), "model": self.cfg.model.to_dict()}
