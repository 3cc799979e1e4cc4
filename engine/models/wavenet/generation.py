"""Sample-by-sample WaveNet generation: naive (the reference), cached (Paine et al., "Fast WaveNet
generation": per-layer input queues, O(layers) per sample) and folded (the utterance cut into
overlapping segments generated as one batch and cross-faded).

Every function is device-agnostic (CPU or CUDA: the device of the model). Sampling is by inverse CDF
from uniforms drawn per segment from a seeded generator, so a segment's samples do not depend on which
other segments share its batch: streaming groups of segments gives the same audio as one batch.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from engine.audio.mulaw import mulaw_decode, mulaw_encode
from engine.models.wavenet.fast_step import scripted
from engine.models.wavenet.model import WaveNet


@contextmanager
def torch_threads(n: int | None):
    """Run a block with n intra-op threads (None: unchanged), restoring the previous count after. The
    per-sample matrices are tiny: on a busy 2-core CPU two threads were measured 5-10x slower than one
    (threads spin-waiting for a core), so generation uses 1 by default."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    if old == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def silence_class(q: int) -> int:
    """The mu-law class of a zero sample."""
    return int(mulaw_encode(torch.zeros(1), q)[0])


def _sample(logits: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, Q) logits, (B, 1) uniforms -> (B, 1) classes by inverse CDF."""
    if temperature != 1.0:
        logits = logits / temperature
    cdf = torch.softmax(logits, dim=-1).cumsum_(-1)
    return torch.searchsorted(cdf, u).clamp_(max=logits.shape[-1] - 1)


class CachedStepper:
    """Fused one-sample weights of a WaveNet as plain matrices, and the per-sample loop over a batch.

    cond (B, cond_channels, T) is the sample-rate conditioning of each row (from the upsampler, in one
    pass); its per-layer gate projections are computed block by block (`block` samples at once).
    """

    def __init__(self, model: WaveNet, block: int = 256, jit: bool = True, threads: int | None = 1) -> None:
        cfg = model.cfg
        self.model, self.block, self.jit, self.threads = model, block, jit, threads
        self.L, self.G, self.R = cfg.layers, cfg.gate_channels, cfg.residual_channels
        self.Q = cfg.quantization_channels
        self.dilations = cfg.dilations
        with torch.no_grad():
            steps = [b.step_weights() for b in model.blocks]
            self.past = [s["past"] for s in steps]
            self.now = [s["now"] for s in steps]
            self.taps = [torch.cat([s["now"], s["past"]], dim=0).contiguous() for s in steps]  # (2R, 2G)
            self.res = [s["res"] if "res" in s else torch.zeros(self.G, self.R, device=s["past"].device)
                        for s in steps]
            self.skip = torch.cat([s["skip"] for s in steps], dim=0).contiguous()  # (L*G, S)
            self.skip_bias = model.skip_bias.detach().clone()
            self.cond_w = model.cond_proj.weight[:, :, 0].t().contiguous()  # (Cc, L*2G)
            self.gate_bias = model.cond_proj.bias.detach() + torch.cat([s["bias"] for s in steps])
            self.w1 = model.head.fc1.weight[:, :, 0].t().contiguous()
            self.b1 = model.head.fc1.bias.detach().clone()
            self.w2 = model.head.fc2.weight[:, :, 0].t().contiguous()
            self.b2 = model.head.fc2.bias.detach().clone()
            self.embed = model.embed.weight.detach().clone()
            # the scripted loop's one-tanh gate (engine.models.wavenet.fast_step): sigmoid halves of the
            # taps and gate offsets halved, residual and skip weights halved
            G = self.G
            self.gate_half = torch.cat([torch.ones(G), torch.full((G,), 0.5)]).to(self.taps[0].device)
            self.taps_half = [(w * self.gate_half).contiguous() for w in self.taps]
            self.res_half = [(w * 0.5).contiguous() for w in self.res]
            self.skip_half = (self.skip * 0.5).contiguous()
        self.scale = math.sqrt(0.5)

    def _gates(self, cond: torch.Tensor, t0: int, t1: int, spk: torch.Tensor | None) -> torch.Tensor:
        """-> (t1 - t0, L, B, 2G) gate offsets of every layer."""
        c = cond[:, :, t0:t1].permute(2, 0, 1)  # (Tb, B, Cc)
        g = torch.matmul(c, self.cond_w) + self.gate_bias
        if spk is not None:
            g = g + spk[None]
        Tb, B = g.shape[0], g.shape[1]
        return g.view(Tb, B, self.L, 2 * self.G).permute(0, 2, 1, 3).contiguous()

    def run(self, cond, uniforms=None, speaker=None, forced=None, temperature: float = 1.0) -> torch.Tensor:
        """See _run; with the stepper's thread count (CPU)."""
        with torch_threads(self.threads if cond.device.type == "cpu" else None):
            return self._run(cond, uniforms, speaker, forced, temperature)

    @torch.no_grad()
    def _run(self, cond: torch.Tensor, uniforms: torch.Tensor | None = None, speaker: torch.Tensor | None = None,
            forced: torch.Tensor | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Generate T = cond.shape[-1] samples for each of the B rows.

        uniforms (B, T) in [0, 1) drive the sampling; forced (B, T) classes instead feed the given
        previous samples (teacher forcing) and the (B, T, Q) logits are returned. Otherwise returns
        (B, T) long classes.
        """
        B, _, T = cond.shape
        dev = cond.device
        L, G, R = self.L, self.G, self.R
        spk = self.model.speaker_bias(speaker, B, dev) if speaker is not None or self.model.speaker_embed is not None else None
        queues = [torch.zeros(d, B, R, device=dev) for d in self.dilations]
        Z = torch.zeros(B, L, G, device=dev)  # gate outputs of every layer: one (B, L*G) matrix for the skips
        Zl = list(Z.unbind(1))
        prev = torch.full((B,), silence_class(self.Q), dtype=torch.long, device=dev)
        out = torch.empty(T, B, 1, dtype=torch.long, device=dev)
        logits_all = [] if forced is not None else None
        if uniforms is not None:
            u_all = uniforms.t().unsqueeze(-1).contiguous().to(dev)  # (T, B, 1)
        past, now, res, dil = self.past, self.now, self.res, self.dilations
        last = L - 1
        fast = scripted() if (self.jit and forced is None) else None
        if fast is not None:  # views made once: the loop only writes through them
            rings = [torch.zeros(B, (d + 2) * R, device=dev) for d in self.dilations]
            qv = [[r[:, i * R:(i + 1) * R] for i in range(d + 2)] for r, d in zip(rings, self.dilations)]
            pv = [[r[:, i * R:(i + 2) * R] for i in range(d + 1)] for r, d in zip(rings, self.dilations)]
            H = [torch.zeros(B, 2 * G, device=dev) for _ in range(L)]
            Ha, Hb = [h[:, :G] for h in H], [h[:, G:] for h in H]
            w2, b2 = self.w2, self.b2  # the temperature folded into the last layer: one op less per sample
            if temperature != 1.0:
                w2, b2 = w2 / temperature, b2 / temperature
        for t0 in range(0, T, self.block):
            t1 = min(T, t0 + self.block)
            gates = self._gates(cond, t0, t1, spk)
            if fast is not None:
                gates.mul_(self.gate_half)
                prev = fast(gates, qv, pv, dil, self.taps_half, self.res_half, H, Ha, Hb, Zl, Z, self.skip_half, self.skip_bias,
                            self.w1, self.b1, w2, b2, self.embed, prev, u_all, out, t0, t1, self.scale, 1.0)
                continue
            for t in range(t0, t1):
                tl = t - t0
                x = self.embed.index_select(0, prev)
                for l in range(L):
                    slot = queues[l][t % dil[l]]
                    h = torch.addmm(gates[tl, l], slot, past[l])
                    h.addmm_(x, now[l])
                    slot.copy_(x)
                    z = Zl[l]
                    torch.mul(torch.tanh(h[:, :G]), torch.sigmoid(h[:, G:]), out=z)
                    if l < last:
                        x = torch.addmm(x, z, res[l], beta=self.scale)
                s = torch.addmm(self.skip_bias, Z.view(B, L * G), self.skip).relu_()
                hid = torch.addmm(self.b1, s, self.w1).relu_()
                logits = torch.addmm(self.b2, hid, self.w2)
                if forced is not None:
                    logits_all.append(logits)
                    prev = forced[:, t]
                else:
                    c = _sample(logits, u_all[t], temperature)
                    out[t] = c
                    prev = c.view(B)
        if forced is not None:
            return torch.stack(logits_all, dim=1)
        return out.view(T, B).t()


@torch.no_grad()
def naive_generate(model: WaveNet, cond: torch.Tensor, uniforms: torch.Tensor, speaker=None,
                   temperature: float = 1.0) -> torch.Tensor:
    """The reference: a full forward pass over the receptive field for every sample.
    cond (B, Cc, T), uniforms (B, T) -> (B, T) classes."""
    B, _, T = cond.shape
    rf = model.cfg.receptive_field
    sil = silence_class(model.cfg.quantization_channels)
    classes = torch.full((B, T + 1), sil, dtype=torch.long, device=cond.device)  # classes[:, t + 1] = sample t
    for t in range(T):
        a = max(0, t - rf + 1)
        logits = model(classes[:, a:t + 1], cond[:, :, a:t + 1], speaker)[:, :, -1]
        classes[:, t + 1] = _sample(logits, uniforms[:, t:t + 1].to(cond.device), temperature)[:, 0]
    return classes[:, 1:]


@torch.no_grad()
def cached_generate(model: WaveNet, cond: torch.Tensor, uniforms: torch.Tensor, speaker=None,
                    temperature: float = 1.0, stepper: CachedStepper | None = None) -> torch.Tensor:
    """Fast generation with per-layer queues: cond (B, Cc, T), uniforms (B, T) -> (B, T) classes."""
    stepper = stepper or CachedStepper(model)
    return stepper.run(cond, uniforms, speaker, temperature=temperature)


# ------------------------------------------------------------------------------------------- folding
@dataclass
class FoldConfig:
    segment: int = 400
    """Samples each segment contributes (its stride)."""
    overlap: int = 160
    """Warm-up samples generated before a segment's own span (they overlap the previous segment)."""
    crossfade: int = 80
    """Samples over which adjacent segments are cross-faded (the end of the overlap); <= overlap."""
    batch: int = 64
    """Segments generated together at most (one group per streamed chunk)."""
    seed: int = 0
    """Seed of the per-segment sampling uniforms."""
    temperature: float = 1.0
    """Softmax temperature of the sampling (1 = the model's distribution)."""


def _fade(n: int, device) -> torch.Tensor:
    """Raised-cosine fade-in of n samples (0 -> 1)."""
    if n <= 0:
        return torch.ones(0, device=device)
    t = (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n
    return 0.5 - 0.5 * torch.cos(math.pi * t)


def segment_uniforms(seed: int, k: int, length: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + k)
    return torch.rand(length, generator=g) * (1.0 - 1e-6)


@torch.no_grad()
def folded_stream(model: WaveNet, log_mel: torch.Tensor, fold: FoldConfig, speaker=None,
                  group: int | None = None, stepper: CachedStepper | None = None,
                  first_group: int | None = None) -> Iterator[np.ndarray]:
    """(n_mels, T_frames) natural-log mel -> float32 waveform chunks (concatenated: T_frames * hop
    samples). Segment k spans samples [k*segment - overlap, (k+1)*segment); each chunk is one group of
    `group` (default fold.batch) segments generated as a batch; joins are cross-faded.
    first_group: the first chunk's segments (then doubling up to `group`), so playback can start after a
    small batch; every segment has its own uniforms, so the audio does not depend on the grouping."""
    cfg = model.cfg
    dev = next(model.parameters()).device
    stepper = stepper or CachedStepper(model)
    S, xf = fold.segment, min(fold.crossfade, fold.overlap)
    group = max(1, group or fold.batch)
    mel = torch.as_tensor(log_mel, dtype=torch.float32, device=dev)
    N = mel.shape[-1] * cfg.audio.hop_length
    if N == 0:
        return
    threads = stepper.threads if dev.type == "cpu" else None
    with torch_threads(threads):
        U = model.upsample(model.normalize(mel[None]))[0]  # (Cc, N), the whole utterance in one pass
    K = (N + S - 1) // S
    fade = _fade(xf, dev)
    tail = None  # previous segment's last xf samples
    emitted = 0
    spk = None if speaker is None else torch.as_tensor([int(speaker)], device=dev)
    k0, size = 0, max(1, min(group, first_group or group))
    while k0 < K:
        k1 = min(K, k0 + size)
        with torch_threads(threads):
            chunk, tail = _fold_group(model, stepper, U, fold, k0, k1, K, N, spk, fade, tail)
        k0, size = k1, min(group, size * 2)
        end = min(N, emitted + len(chunk))
        chunk = chunk[: end - emitted]
        emitted = end
        yield chunk.float().cpu().numpy()


def _segment_cond(U: torch.Tensor, fold: FoldConfig, ks: range, N: int) -> torch.Tensor:
    """(Cc, N) utterance conditioning -> (len(ks), Cc, segment + overlap) of segments ks (edge-clamped)."""
    dev = U.device
    k = torch.as_tensor(list(ks), device=dev)
    idx = (k[:, None] * fold.segment - fold.overlap
           + torch.arange(fold.segment + fold.overlap, device=dev)[None]).clamp_(0, N - 1)
    return U[:, idx].permute(1, 0, 2)


def _join(segs: list[torch.Tensor], k0: int, K: int, fold: FoldConfig, fade: torch.Tensor, tail):
    """Decoded segments k0.. (each (segment + overlap,)) -> (their audio, cross-faded onto `tail`, the
    previous segment's last crossfade samples; the new tail)."""
    ov, xf = fold.overlap, min(fold.crossfade, fold.overlap)
    pieces = []
    for j, seg in enumerate(segs):
        k = k0 + j
        if k == 0:
            body = seg[ov:]
        else:
            head = (1 - fade) * tail + fade * seg[ov - xf:ov]
            body = torch.cat([head, seg[ov:]])
        if k < K - 1:
            tail = body[len(body) - xf:]
            body = body[: len(body) - xf]
        pieces.append(body)
    return torch.cat(pieces), tail


def _fold_group(model, stepper, U, fold, k0, k1, K, N, spk, fade, tail):
    """Generate segments k0..k1-1 as one batch and join them -> (audio, the last segment's tail)."""
    cond = _segment_cond(U, fold, range(k0, k1), N)
    u = torch.stack([segment_uniforms(fold.seed, k, fold.segment + fold.overlap) for k in range(k0, k1)])
    classes = stepper.run(cond, u, None if spk is None else spk.expand(k1 - k0), temperature=fold.temperature)
    wav = mulaw_decode(classes, model.cfg.quantization_channels)  # (B, segment + overlap)
    return _join(list(wav.unbind(0)), k0, K, fold, fade, tail)


@torch.no_grad()
def folded_batch(model: WaveNet, log_mels: list, fold: FoldConfig, stepper: CachedStepper | None = None) -> list[np.ndarray]:
    """Several utterances' mels -> their waveforms, every segment of every utterance in shared batches
    of up to fold.batch (each utterance's audio equals folded_stream's: same segments, same uniforms)."""
    dev = next(model.parameters()).device
    stepper = stepper or CachedStepper(model)
    threads = stepper.threads if dev.type == "cpu" else None
    hop, S = model.cfg.audio.hop_length, fold.segment
    fade = _fade(min(fold.crossfade, fold.overlap), dev)
    with torch_threads(threads):
        Us, plan = [], []
        for i, m in enumerate(log_mels):
            mel = torch.as_tensor(np.asarray(m, dtype=np.float32), device=dev)
            N = mel.shape[-1] * hop
            Us.append(model.upsample(model.normalize(mel[None]))[0] if N else None)
            plan += [(i, k) for k in range((N + S - 1) // S)]
        decoded: dict[tuple[int, int], torch.Tensor] = {}
        for g in range(0, len(plan), fold.batch):
            group = plan[g:g + fold.batch]
            cond = torch.cat([_segment_cond(Us[i], fold, [k], Us[i].shape[-1]) for i, k in group])
            u = torch.stack([segment_uniforms(fold.seed, k, S + fold.overlap) for _, k in group])
            wav = mulaw_decode(stepper.run(cond, u, temperature=fold.temperature), model.cfg.quantization_channels)
            decoded.update({key: w for key, w in zip(group, wav.unbind(0))})
        out = []
        for i, U in enumerate(Us):
            if U is None:
                out.append(np.zeros(0, np.float32))
                continue
            N = U.shape[-1]
            K = (N + S - 1) // S
            audio, _ = _join([decoded[(i, k)] for k in range(K)], 0, K, fold, fade, None)
            out.append(audio[:N].float().cpu().numpy())
    return out
