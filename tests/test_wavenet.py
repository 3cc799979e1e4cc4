"""WaveNet vocoder: cached generation equals the full forward pass, folded seams stay bounded, mu-law
round trip, a training step lowers the loss, streamed chunks concatenate to the batch output, speaker
conditioning matters, and a vocoder with another audio configuration is refused."""

import json

import numpy as np
import pytest
import torch

from engine.audio.config import AudioConfig
from engine.audio.mulaw import mulaw_decode, mulaw_encode
from engine.errors import BadInput
from engine.models.wavenet.config import WaveNetConfig
from engine.models.wavenet.generation import (CachedStepper, FoldConfig, cached_generate, folded_stream,
                                              naive_generate, silence_class)
from engine.models.wavenet.model import WaveNet


def toy_config(**kw) -> WaveNetConfig:
    base = dict(layers=6, cycles=2, residual_channels=8, gate_channels=8, skip_channels=8, head_channels=16,
                cond_channels=8)
    base.update(kw)
    return WaveNetConfig(**base)


def toy_model(seed=0, scale=0.3, **kw) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(toy_config(**kw)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, scale)
    return model


def test_mulaw_round_trip():
    wav = torch.linspace(-1, 1, 10001)
    classes = mulaw_encode(wav, 256)
    assert int(classes.min()) == 0 and int(classes.max()) == 255
    back = mulaw_decode(classes, 256)
    # the quantisation step of 8-bit mu-law is at most ~0.031 at full scale, ~0.0001 near zero
    assert float((back - wav).abs().max()) < 0.032
    small = wav.abs() < 0.01
    assert float((back - wav)[small].abs().max()) < 0.0005
    assert torch.equal(mulaw_encode(back, 256), classes)
    assert silence_class(256) in (127, 128)


def test_cached_steps_equal_the_full_forward_pass():
    model = toy_model()
    T = 300
    cond = torch.randn(2, 8, T)
    samples = torch.randint(0, 256, (2, T))
    prev = torch.cat([torch.full((2, 1), silence_class(256)), samples[:, :-1]], dim=1)
    with torch.no_grad():
        full = model(prev, cond).transpose(1, 2)  # (B, T, Q)
    cached = CachedStepper(model, block=64).run(cond, forced=samples)
    assert cached.shape == full.shape
    assert float((cached - full).abs().max()) < 1e-4


def test_naive_and_cached_generation_draw_the_same_samples():
    model = toy_model(seed=1)
    cond = torch.randn(2, 8, 120)
    u = torch.rand(2, 120)
    a = naive_generate(model, cond, u)
    b = cached_generate(model, cond, u)
    assert torch.equal(a, b)
    assert len(torch.unique(a)) > 5  # it really sampled
    # a sampling temperature (folded into the cached loop's last layer) draws the same samples too
    cool = naive_generate(model, cond, u, temperature=0.6)
    assert torch.equal(cool, cached_generate(model, cond, u, temperature=0.6)) and not torch.equal(cool, a)


def test_folded_seams_are_bounded():
    model = toy_model(seed=3, scale=0.2)
    mel = torch.randn(80, 30) - 4
    fold = FoldConfig(segment=400, overlap=160, crossfade=80, batch=64, seed=0)
    wav = np.concatenate(list(folded_stream(model, mel, fold)))
    assert len(wav) == 30 * 200
    d = np.abs(np.diff(wav))
    joins = [k * fold.segment - fold.crossfade for k in range(1, len(wav) // fold.segment)]
    inside = np.ones(len(d), bool)
    for j in joins:
        inside[max(0, j - 2):j + fold.crossfade + 2] = False
    # At a join the step between neighbouring samples is no larger than the biggest step the model
    # itself makes away from the joins (the cross-fade never adds a jump).
    bound = float(d[inside].max())
    for j in joins:
        assert float(d[j - 2:j + fold.crossfade + 2].max()) <= bound + 1e-6


def test_folded_without_crossfade_differs_only_by_the_fade():
    model = toy_model(seed=4)
    mel = torch.randn(80, 12) - 4
    a = np.concatenate(list(folded_stream(model, mel, FoldConfig(segment=400, overlap=160, crossfade=80))))
    b = np.concatenate(list(folded_stream(model, mel, FoldConfig(segment=400, overlap=160, crossfade=0))))
    assert a.shape == b.shape
    mask = np.ones(len(a), bool)
    for k in range(1, len(a) // 400 + 1):
        mask[k * 400 - 80:k * 400] = False
    np.testing.assert_allclose(a[mask], b[mask], atol=1e-6)


def test_streamed_chunks_concatenate_to_the_batch_output():
    model = toy_model(seed=5)
    mel = torch.randn(80, 25) - 4
    fold = FoldConfig(segment=300, overlap=120, crossfade=60, batch=64)
    batch = list(folded_stream(model, mel, fold))
    assert len(batch) == 1
    chunks = list(folded_stream(model, mel, fold, group=3))
    assert len(chunks) == 6  # 17 segments in groups of 3
    assert all(len(c) > 0 for c in chunks)
    streamed = np.concatenate(chunks)
    assert streamed.shape == batch[0].shape == (25 * 200,)
    assert np.mean(np.abs(streamed - batch[0]) < 1e-5) > 0.99
    # a ramp (1, 2, 4, 4, 4, 2 segments): a small first chunk, the same audio
    ramp = list(folded_stream(model, mel, fold, group=4, first_group=1))
    assert [len(c) for c in ramp[:3]] == [300 - 60, 2 * 300, 4 * 300]  # the first holds back a crossfade
    assert np.mean(np.abs(np.concatenate(ramp) - batch[0]) < 1e-5) > 0.99


def test_batched_utterances_equal_one_by_one():
    from engine.models.wavenet.generation import folded_batch

    model = toy_model(seed=8)
    mels = [torch.randn(80, n) - 4 for n in (7, 3, 11)]
    fold = FoldConfig(segment=300, overlap=120, crossfade=60, batch=8)
    together = folded_batch(model, mels, fold)
    for mel, wav in zip(mels, together):
        alone = np.concatenate(list(folded_stream(model, mel, fold)))
        assert wav.shape == alone.shape == (mel.shape[-1] * 200,)
        assert np.mean(np.abs(wav - alone) < 1e-5) > 0.99


def test_speaker_conditioning_changes_the_output():
    model = toy_model(seed=6, speakers=["a", "b"])
    T = 200
    cond = torch.randn(1, 8, T)
    prev = torch.randint(0, 256, (1, T))
    with torch.no_grad():
        la = model(prev, cond, torch.tensor([0]))
        lb = model(prev, cond, torch.tensor([1]))
    assert float((la - lb).abs().mean()) > 1e-2
    # and the cached path honours it the same way
    st = CachedStepper(model)
    ca = st.run(cond, forced=prev, speaker=torch.tensor([1]))
    prev_in = torch.cat([torch.full((1, 1), silence_class(256)), prev[:, :-1]], dim=1)
    with torch.no_grad():
        ref = model(prev_in, cond, torch.tensor([1])).transpose(1, 2)
    assert float((ca - ref).abs().max()) < 1e-4


@pytest.fixture(scope="module")
def wavenet_recipe(ljspeech_corpus, tmp_path_factory):
    from engine.models.wavenet.recipe import WaveNetRecipe, preset

    cfg = preset("tiny")
    cfg.held_out = 0
    cfg.feature_cache = str(tmp_path_factory.mktemp("features"))
    return WaveNetRecipe(cfg, ljspeech_corpus, log=lambda m: None)


def test_one_training_step_lowers_the_loss(wavenet_recipe):
    torch.manual_seed(0)
    recipe = wavenet_recipe
    model = recipe.build(torch.device("cpu"))
    batch = recipe.train_batches(0, 0, 1)[0]
    collated = recipe.collate(recipe.train_items, batch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = float(recipe._loss(model, collated))
    for _ in range(3):
        opt.zero_grad()
        recipe._loss(model, collated).backward()
        opt.step()
    after = float(recipe._loss(model, collated))
    assert after < before - 0.01
    assert before == pytest.approx(np.log(256), abs=1.0)


def test_train_export_and_vocode(wavenet_recipe, ljspeech_corpus, tmp_path):
    from engine.bundle import load_bundle
    from engine.inference.vocoder import load_vocoder
    from engine.models.wavenet.vocoder import WaveNetVocoder
    from engine.training.export import export_checkpoint
    from engine.training.trainer import Trainer

    recipe = wavenet_recipe
    recipe.loop.max_steps = 10
    run = tmp_path / "run"
    Trainer(recipe, run, device="cpu").run()
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "sample" for e in events)
    bundle_dir = export_checkpoint(run, tmp_path / "wn")
    bundle = load_bundle(bundle_dir)
    voc = load_vocoder(str(bundle_dir), AudioConfig())
    assert isinstance(voc, WaveNetVocoder)
    mel = np.random.default_rng(0).normal(-4, 1, (80, 15)).astype(np.float32)
    wav = voc.vocode(mel)
    assert wav.shape == (15 * 200,) and np.all(np.isfinite(wav))
    streamed = np.concatenate(list(voc.stream(mel, chunk_frames=2)))
    assert streamed.shape == wav.shape
    # the mel statistics travel inside the bundle
    assert "mel_mean" in bundle.weights() and float(bundle.weights()["mel_std"].min()) > 0
    # a voice with another audio configuration is refused
    with pytest.raises(BadInput, match="audio configuration"):
        load_vocoder(str(bundle_dir), AudioConfig(hop_length=256, win_length=1024, n_fft=1024))
    # the bundle's sampling temperature is what the vocoder samples with
    cfg_path = bundle_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["temperature"] == 1.0
    cfg_path.write_text(json.dumps(dict(cfg, temperature=0.5)))
    cool = load_vocoder(str(bundle_dir), AudioConfig())
    assert cool.fold.temperature == 0.5
    assert not np.allclose(cool.vocode(mel), wav)
    cfg_path.write_text(json.dumps(cfg))
    # training can continue from the committed bundle (--init-from)
    recipe.loop.max_steps = 2
    run2 = tmp_path / "run2"
    Trainer(recipe, run2, device="cpu", init_from=bundle_dir).run()
    events = [json.loads(line) for line in (run2 / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "init" for e in events)
    first = next(e for e in events if e["type"] == "step")
    scratch = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert first["loss"] < next(e for e in scratch if e["type"] == "step")["loss"]


def test_scripted_loop_matches_the_eager_loop():
    model = toy_model(seed=7)
    cond = torch.randn(3, 8, 150)
    u = torch.rand(3, 150)
    a = CachedStepper(model, block=64, jit=True).run(cond, u)
    b = CachedStepper(model, block=64, jit=False).run(cond, u)
    assert torch.equal(a, b)
