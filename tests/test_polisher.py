"""The GAN mel polisher: U-Net shapes, patch map, one step of each network, identity start,
global variance, training from a tiny partner, export and the partner check."""

import json

import numpy as np
import pytest
import torch

from engine.errors import BadInput
from engine.evaluation.global_variance import global_variance, gv_gap, log_gv_difference
from engine.models.polisher.config import PolisherConfig
from engine.models.polisher.patchgan import PatchDiscriminator
from engine.models.polisher.recipe import PolisherRecipe, preset
from engine.models.polisher.unet import UNetGenerator


def test_unet_returns_any_length_unchanged():
    torch.manual_seed(0)
    gen = UNetGenerator(PolisherConfig(channels=(8, 16, 32)))  # pads to a multiple of 4
    torch.nn.init.normal_(gen.out.weight, 0, 0.1)  # not the identity: the crop must still be right
    for T in (1, 3, 7, 17, 33, 101):
        x = torch.randn(2, 80, T)
        y = gen(x)
        assert y.shape == x.shape
        assert not torch.allclose(y, x)
    # odd band counts too
    gen = UNetGenerator(PolisherConfig(channels=(8, 16)))
    assert gen(torch.randn(1, 80, 5)).shape == (1, 80, 5)


def test_untrained_generator_is_the_identity():
    gen = UNetGenerator(PolisherConfig())
    x = torch.randn(1, 80, 45)
    assert torch.equal(gen(x), x)


def test_discriminator_returns_a_patch_map_and_features():
    disc = PatchDiscriminator((8, 16, 32))
    a, b = torch.randn(3, 80, 64), torch.randn(3, 80, 64)
    logits, feats = disc(a, b, features=True)
    assert logits.shape[:2] == (3, 1) and logits.shape[2] > 1 and logits.shape[3] > 1  # a map, not a scalar
    assert logits.shape[2:] == (20, 16)
    assert [f.shape[1] for f in feats] == [8, 16, 32]
    assert disc(a[:1, :, :5], b[:1, :, :5]).shape[0] == 1  # short inputs are padded


def test_global_variance_on_a_synthetic_case():
    t = np.arange(200)
    natural = np.stack([np.sin(t / 5.0) * (b + 1) for b in range(4)])  # var of band b: (b+1)^2 / 2
    np.testing.assert_allclose(global_variance(natural), [(b + 1) ** 2 / 2 for b in range(4)], rtol=0.02)
    smooth = natural * 0.5  # a quarter of the variance in every band
    np.testing.assert_allclose(log_gv_difference([smooth], [natural]), np.log(0.25), rtol=1e-6)
    assert gv_gap([smooth], [natural]) == pytest.approx(np.log(4.0), rel=1e-6)
    assert gv_gap([natural], [natural]) == pytest.approx(0.0, abs=1e-9)
    assert gv_gap([natural + 3.0], [natural]) == pytest.approx(0.0, abs=1e-9)  # an offset is not variance


# ----- with a tiny partner voice ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_partner(multispeaker_corpus, tmp_path_factory):
    """A tiny Tacotron trained for a few steps on the test corpus, exported as a bundle."""
    from engine.training.export import export_checkpoint
    from engine.training.tacotron_recipe import TacotronRecipe
    from engine.training.tacotron_recipe import preset as tacotron_preset
    from engine.training.trainer import Trainer

    root = tmp_path_factory.mktemp("partner")
    cfg = tacotron_preset("tiny")
    cfg.feature_cache = str(root / "cache")
    cfg.held_out = 0
    cfg.loop.max_steps = 3
    cfg.loop.val_every = cfg.loop.checkpoint_every = 1000
    Trainer(TacotronRecipe(cfg, multispeaker_corpus, log=lambda m: None), root / "run").run()
    return export_checkpoint(root / "run", root / "tiny-voice"), root / "cache"


@pytest.fixture(scope="module")
def recipe(tiny_partner, multispeaker_corpus, tmp_path_factory):
    partner, cache = tiny_partner
    cfg = preset("tiny")
    cfg.partner = str(partner)
    cfg.held_out = 0
    cfg.feature_cache = str(cache)
    run = tmp_path_factory.mktemp("polisher-run")
    return PolisherRecipe(cfg, multispeaker_corpus, run_dir=run, log=lambda m: None), run


def test_recipe_caches_aligned_partner_mels_as_npy(recipe):
    rec, run = recipe
    files = list((run / "partner_mels").rglob("*.npy"))
    assert len(files) == len(rec.train_pairs) + len(rec.val_pairs) == 16
    for p in rec.train_pairs + rec.val_pairs:
        assert p.source.shape == p.target.shape
    assert 1.0 < rec.cfg.model.input_scale < 10.0
    assert rec.cfg.model.partner == "tiny-voice"
    # GV compensation measured on the partner's free-running output: one factor per band, expanding (a
    # partner trained 3 steps is far smoother than speech)
    scale = rec.cfg.model.gv_scale
    assert len(scale) == rec.audio.n_mels and all(x > 1.0 for x in scale)
    # inputs are about [-1, 1]
    tgt = torch.cat([p.target.flatten() for p in rec.train_pairs])
    assert float((tgt.abs() <= 1.0).float().mean()) > 0.99


def test_dtw_warp_recovers_a_time_stretched_ground_truth(speech_wav):
    from engine.audio.config import AudioConfig
    from engine.data.cache import compute_log_mel, compute_waveform
    from engine.models.polisher.free_running import dtw_warp

    audio = AudioConfig()
    gt = np.asarray(compute_log_mel(compute_waveform(speech_wav, audio), audio), dtype=np.float32)
    frames = np.minimum((np.arange(int(gt.shape[1] * 1.4)) / 1.4).astype(int), gt.shape[1] - 1)
    decoded = gt[:, frames] + 0.05 * np.random.default_rng(0).standard_normal((gt.shape[0], len(frames)))
    warped = dtw_warp(gt, decoded.astype(np.float32))
    assert warped.shape == decoded.shape
    err = np.abs(warped - gt[:, frames]).mean()
    assert err < 0.1 * np.abs(gt - gt.mean()).mean()  # the stretched ground truth, recovered
    shifted = np.abs(gt[:, np.roll(frames, 10)] - gt[:, frames]).mean()
    assert err < 0.25 * shifted


def test_free_running_pairs_are_compensated_and_warped(tiny_partner, multispeaker_corpus, tmp_path):
    partner, cache = tiny_partner
    cfg = preset("tiny")
    cfg.partner, cfg.held_out, cfg.feature_cache, cfg.pair_input = str(partner), 0, str(cache), "free_running"
    cfg.limit = 6
    rec = PolisherRecipe(cfg, multispeaker_corpus, run_dir=tmp_path, log=lambda m: None)
    files = list((tmp_path / "partner_mels").rglob("free-seed*/**/*.npy"))
    assert len(files) == len(rec.train_pairs) + len(rec.val_pairs) == 6
    assert all(f.parent.parent.name.startswith("free-") for f in (tmp_path / "partner_mels").rglob("*.npy"))
    for p in rec.train_pairs + rec.val_pairs:
        assert p.source.shape == p.target.shape
    assert len(rec.cfg.model.gv_scale) == rec.audio.n_mels
    with pytest.raises(BadInput, match="pair_input"):
        cfg.pair_input = "neither"
        PolisherRecipe(cfg, multispeaker_corpus, run_dir=tmp_path, log=lambda m: None)


def test_one_step_of_each_network_lowers_its_loss(recipe):
    rec, _ = recipe
    torch.manual_seed(0)
    nets = rec.networks(torch.device("cpu"))
    gen, disc = nets["generator"], nets["discriminator"]
    batch = rec.train_batches(0, 0, 1)[0]
    src, tgt = rec.collate(batch)
    step = rec.cfg.gan_warmup_steps  # the discriminator has joined
    d_opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
    with torch.no_grad():
        fake = gen(src)
    before = rec.discriminator_loss(disc, src, tgt, fake)
    d_opt.zero_grad()
    before.backward()
    d_opt.step()
    with torch.no_grad():
        assert float(rec.discriminator_loss(disc, src, tgt, fake)) < float(before)
    g_opt = torch.optim.Adam(gen.parameters(), lr=1e-3)
    for _ in range(2):  # the first step moves only the zero-initialised output layer
        loss, _ = rec.generator_loss(disc, src, tgt, gen(src), step)
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()
    with torch.no_grad():
        after, scalars = rec.generator_loss(disc, src, tgt, gen(src), step)
    assert float(after) < float(loss.detach())
    assert "adv" in scalars
    rec.cfg.learned_similarity = 0.5
    try:
        mixed, scalars = rec.generator_loss(disc, src, tgt, gen(src), step)
        assert "feature" in scalars and torch.isfinite(mixed)
    finally:
        rec.cfg.learned_similarity = 0.0


def test_train_export_and_polish(recipe, tmp_path):
    from engine.bundle import load_bundle
    from engine.inference.polisher import Polisher, load_polisher
    from engine.models.polisher.adapter import MelPolisher
    from engine.training.export import export_checkpoint
    from engine.training.trainer import Trainer

    rec, run = recipe
    Trainer(rec, run).run()
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    types = {e["type"] for e in events}
    assert {"step", "val", "image", "sample", "checkpoint"} <= types
    assert any("d" in (e.get("losses") or {}) for e in events if e["type"] == "step")  # the GAN joined
    val = [e for e in events if e["type"] == "val"][-1]
    assert {"gv_gap", "gv_gap_before", "l1_before", "val_loss"} <= set(val)
    bundle_dir = export_checkpoint(run, tmp_path / "tiny-polisher")
    bundle = load_bundle(bundle_dir)
    assert bundle.kind == "polisher" and bundle.config["partner"] == "tiny-voice"
    polisher = load_polisher("tiny-voice", spec=str(bundle_dir))
    assert isinstance(polisher, Polisher)
    # The bundle carries the GV compensation measured at training. The tiny partner's mels are nearly
    # flat, so its factors sit at the bound: right for that partner, not for ground truth; the generator
    # alone is checked next.
    assert len(bundle.config["gv_scale"]) == 80 and polisher.model.cfg.gv_scale
    polisher.model.cfg.gv_scale = []
    # A ground-truth mel polished by the (barely trained) generator changes little: mean |diff| below
    # 0.25 nats of log-mel (the generator starts as the identity; its correction is bounded).
    p = rec.val_pairs[0]
    truth = polisher.model.from_output(p.target[None])[0].numpy()
    out = polisher.polish(truth)
    assert out.shape == truth.shape
    assert float(np.abs(out - truth).mean()) < 0.25
    for T in (1, 9, 50):
        assert polisher.polish(truth[:, :T]).shape == (80, T)
    # pairing with another model is refused
    with pytest.raises(BadInput, match="trained for 'tiny-voice'"):
        load_polisher("default", spec=str(bundle_dir))
    with pytest.raises(BadInput, match="trained for"):
        MelPolisher(bundle, partner="default")
    with pytest.raises(BadInput):
        polisher.polish(np.zeros((40, 10), dtype=np.float32))


# ----- the shipped polisher of the default voice ----------------------------------------------------
def _shipped():
    from engine.paths import BUNDLED_MODELS

    path = BUNDLED_MODELS / "default-polisher"
    if not (path / "model.safetensors").exists():
        pytest.skip("resources/models/default-polisher is not installed")
    return path


def test_shipped_polisher_changes_a_ground_truth_mel_little(speech_wav):
    from engine.audio.config import AudioConfig
    from engine.data.cache import compute_log_mel, compute_waveform
    from engine.inference.polisher import load_polisher, polishers_for

    path = _shipped()
    assert [name for name, _ in polishers_for("default")] == ["default-polisher"]
    polisher = load_polisher("default")
    assert polisher.name == "default-polisher" and polisher.partner == "default"
    truth = compute_log_mel(compute_waveform(speech_wav, AudioConfig()), AudioConfig())
    out = polisher.polish(truth)
    assert out.shape == truth.shape
    # Natural speech (espeak-ng) is already sharp: the polisher moves it by less than 0.2 nats per bin
    # on average (its corrections are bounded by max_correction x input_scale x band std).
    assert float(np.abs(out - truth).mean()) < POLISH_GT_BOUND
    with pytest.raises(BadInput, match="not for 'other-voice'"):
        load_polisher("other-voice", spec=str(path))


POLISH_GT_BOUND = 0.2
"""Mean |polished - ground truth| in nats of log-mel allowed for natural speech."""


def test_gv_compensation_restores_the_variance_it_measured():
    """A mel whose deviations were shrunk per band gets them back; band means are kept."""
    from engine.models.polisher.gv_compensation import apply_gv_scale, measure_gv_scale

    rng = np.random.default_rng(0)
    natural = [rng.normal(-4.0, 1.0, (80, 120)).astype(np.float32) for _ in range(6)]
    shrink = np.linspace(0.5, 0.9, 80, dtype=np.float32)[:, None]
    smooth = [m.mean(axis=1, keepdims=True) + shrink * (m - m.mean(axis=1, keepdims=True)) for m in natural]
    scale = measure_gv_scale(smooth, natural)
    assert np.allclose(scale, 1 / shrink[:, 0], rtol=1e-3)
    fixed = apply_gv_scale(torch.from_numpy(np.stack(smooth)), torch.from_numpy(scale)).numpy()
    assert np.allclose(fixed, np.stack(natural), atol=1e-3)
    assert np.allclose(fixed.mean(axis=-1), np.stack(smooth).mean(axis=-1), atol=1e-4)


def test_envelope_split_keeps_the_envelope_and_scales_the_detail(speech_wav):
    """With envelope_gain 0 the polished mel keeps each frame's mel-cepstrum c1..c_{order-1} exactly as the
    partner made it, while the finer detail the polisher adds is applied detail_gain times; order 0 is
    the plain polisher."""
    from engine.audio.config import AudioConfig
    from engine.data.cache import compute_log_mel, compute_waveform
    from engine.inference.polisher import load_polisher
    from engine.models.polisher.envelope_split import split_matrix
    from engine.models.polisher.evaluate import _mel_cepstrum

    _shipped()
    polisher = load_polisher("default")
    net = polisher.model
    # A smooth input (what the voice's decoder makes): a natural mel blurred across bands and time.
    truth = compute_log_mel(compute_waveform(speech_wav, AudioConfig()), AudioConfig())
    kernel = np.ones(5) / 5
    blurred = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 0, truth)
    blurred = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 1, blurred).astype(np.float32)
    net.cfg.envelope_order = 0
    plain = polisher.polish(blurred)
    net.cfg.envelope_order, net.cfg.envelope_gain, net.cfg.detail_gain = 25, 0.0, 2.0
    try:
        split = polisher.polish(blurred)
    finally:
        net.cfg.envelope_order, net.cfg.envelope_gain, net.cfg.detail_gain = 0, 1.0, 1.0
    c_in, c_plain, c_split = (_mel_cepstrum(m, 24) for m in (blurred, plain, split))
    assert np.abs(c_plain - c_in).mean() > 1e-2  # the plain polisher moves the envelope
    assert np.abs(c_split - c_in).max() < 1e-4  # the split keeps it
    # Detail: the change outside c1..c24 is twice the plain polisher's.
    M = split_matrix(80, 25, 0.0, 1.0).numpy()
    detail = M @ (plain - blurred)
    assert np.allclose(split - blurred, 2.0 * detail, atol=1e-4)
    assert np.abs(detail).mean() > 1e-3
    # Identity settings change nothing.
    assert np.allclose(split_matrix(80, 25, 1.0, 1.0).numpy(), np.eye(80), atol=1e-6)
