"""Voice conversion: pyramid, CTC head, training step, streaming == batch, the adapter end to end, the
teacher kept out of checkpoints, the convert CLI and MCD (tiny models, real espeak-ng speech)."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.errors import BadInput
from engine.layers.ctc_head import CTCHead, ctc_loss, greedy_decode, phoneme_classes, phoneme_targets
from engine.layers.pyramidal_lstm import PyramidalBLSTM, reduced_length
from engine.text import SymbolSet

from conftest import ARCTIC_IDS, SENTENCES


# ----- blocks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_pyramid_halves_time_per_layer_and_ignores_padding(layers):
    torch.manual_seed(0)
    net = PyramidalBLSTM(8, 6, layers).eval()
    x = torch.randn(2, 37, 8)
    lengths = torch.tensor([37, 21])
    out, out_len = net(x, lengths)
    assert out.shape == (2, -(-37 // 2**layers), 12)
    assert out_len.tolist() == reduced_length(lengths, layers).tolist() == [-(-37 // 2**layers), -(-21 // 2**layers)]
    alone, _ = net(x[1:, :21], lengths[1:])
    assert torch.allclose(alone[0], out[1, : out_len[1]], atol=1e-5)


def test_ctc_head_shapes_loss_and_decoding():
    symbols = SymbolSet.create("arpabet")
    classes = phoneme_classes(symbols)
    assert classes[0] == "<blank>" and "AH" in classes and "AH0" not in classes
    targets = [torch.tensor(phoneme_targets(symbols, classes, s)) for s in SENTENCES[:2]]
    assert all(len(t) > 10 and int(t.min()) > 0 and int(t.max()) < len(classes) for t in targets)
    head = CTCHead(16, len(classes))
    feats = torch.randn(2, 60, 16, requires_grad=True)
    log_probs = head(feats)
    assert log_probs.shape == (2, 60, len(classes))
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 60), atol=1e-4)
    loss = ctc_loss(log_probs, torch.tensor([60, 50]), targets)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert feats.grad is not None and torch.isfinite(feats.grad).all()
    # A perfect path decodes back to the target.
    t = targets[0]
    perfect = torch.full((1, 2 * len(t), len(classes)), -20.0)
    for i, c in enumerate(t.tolist()):
        perfect[0, 2 * i, c] = 0.0
        perfect[0, 2 * i + 1, 0] = 0.0
    assert greedy_decode(perfect, torch.tensor([2 * len(t)]))[0] == t.tolist()


# ----- a parallel corpus of two espeak voices ------------------------------------------------------
@pytest.fixture(scope="module")
def vc_corpus(tmp_path_factory, rendered):
    """Builder layout: wavs/SPEAKER/ID.wav; 'tgt' (espeak_a) and 'src' (espeak_b) say every sentence."""
    root = tmp_path_factory.mktemp("vc-corpus")
    lines = []
    for speaker, voice in (("tgt", "espeak_a"), ("src", "espeak_b")):
        (root / "wavs" / speaker).mkdir(parents=True)
        for uid, text, wav in zip(ARCTIC_IDS, SENTENCES, rendered[voice]):
            shutil.copy(wav, root / "wavs" / speaker / f"{uid}.wav")
            lines.append(f"{speaker}/{uid}|{text}|{text}|{speaker}|")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def tiny_recipe(corpus, tmp_path, **overrides):
    from engine.models.vc.recipe import VCRecipe, preset

    cfg = preset("tiny")
    cfg.target = "tgt"
    cfg.feature_cache = str(tmp_path / "cache")
    cfg.val_count = 1
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return VCRecipe(cfg, corpus, log=lambda msg: None)


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory, vc_corpus):
    """An (untrained) tiny converter bundle with the corpus' normalisation statistics."""
    from engine.bundle import save_bundle

    tmp = tmp_path_factory.mktemp("tiny-vc")
    recipe = tiny_recipe(vc_corpus, tmp)
    torch.manual_seed(0)
    model = recipe.build(torch.device("cpu"))
    return save_bundle(tmp / "tiny-vc", recipe.config_dict()["model"], model.state_dict(), "# tiny-vc\n")


def test_recipe_pairs_and_one_step_lowers_the_loss(vc_corpus, tmp_path):
    recipe = tiny_recipe(vc_corpus, tmp_path)
    assert {p.src[0] for p in recipe.train_pairs} == {"src"}
    assert all(p.tgt == ("tgt", p.src[1]) for p in recipe.train_pairs)
    torch.manual_seed(0)
    nets = recipe.networks(torch.device("cpu"))
    model = nets["model"]
    opt = recipe.make_optimizer("model", model)
    pairs = recipe.train_pairs[:4]

    def loss_now():
        torch.manual_seed(1)
        model.eval()  # no dropout outside the prenet; same prenet masks through the seed
        with torch.no_grad():
            return recipe._loss(model, pairs, step=0)[0].item()

    before = loss_now()
    for _ in range(5):
        model.train()
        torch.manual_seed(1)
        loss, scalars = recipe._loss(model, pairs, step=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert {"mel", "stop", "guided_attention", "ctc"} <= set(scalars)
    assert loss_now() < before


def test_context_loss_is_zero_at_its_target_and_masks_what_has_none():
    from engine.models.vc.context_targets import context_loss

    torch.manual_seed(0)
    align = torch.softmax(torch.randn(2, 5, 7), dim=-1)
    memory = torch.randn(2, 7, 12)
    own = torch.bmm(align, memory[..., :8])
    lengths = torch.tensor([5, 3])
    assert context_loss(align, memory, [own[0], own[1, :3]], lengths).item() < 1e-10
    assert context_loss(align, memory, [None, None], lengths) is None
    wrong = context_loss(align, memory, [own[0] + 1.0, None], lengths)
    assert abs(wrong.item() - 1.0) < 1e-5  # only the item with a target counts
    # steps past an item's length are left out: a target wrong only there costs nothing
    tail = own[1].clone()
    tail[3:] += 5.0
    assert context_loss(align, memory, [None, tail], lengths).item() < 1e-10


def test_context_targets_come_from_the_default_voice_and_train(vc_corpus, tmp_path):
    recipe = tiny_recipe(vc_corpus, tmp_path, context_weight=1.0)
    dim, r = recipe.cfg.model.encoder_dim, recipe.cfg.model.r
    assert recipe.contexts, "the default voice aligns these espeak sentences"
    for uid, ctx in recipe.contexts.items():
        frames = recipe.mels[("tgt", uid)].shape[-1]
        assert ctx.shape == ((frames + r - 1) // r, dim)
        assert float(ctx.float().abs().max()) <= 1.0 + 1e-3  # tanh/GRU outputs weighted by attention rows
    torch.manual_seed(0)
    model = recipe.networks(torch.device("cpu"))["model"]
    opt = recipe.make_optimizer("model", model)
    pairs = [p for p in recipe.train_pairs if p.tgt[1] in recipe.contexts][:4]
    values = []
    for _ in range(6):
        torch.manual_seed(1)
        loss, scalars = recipe._loss(model, pairs, step=0)
        values.append(scalars["context"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert values[-1] < values[0]


def test_vtlp_warps_only_training_sources_reproducibly(vc_corpus, tmp_path):
    recipe = tiny_recipe(vc_corpus, tmp_path)
    assert recipe.warps(3, 4) is None  # off by default
    recipe.cfg.vtlp_range, recipe.cfg.vtlp_prob = 0.1, 1.0
    warps = recipe.warps(3, 4)
    assert warps == recipe.warps(3, 4) and warps != recipe.warps(4, 4)
    assert all(0.9 <= a <= 1.1 and a != 1.0 for a in warps)
    model = recipe.build(torch.device("cpu"))
    pairs = recipe.train_pairs[:4]
    plain, lens, tgt, _, _ = recipe.collate(model, pairs)
    warped, lens_w, tgt_w, _, _ = recipe.collate(model, pairs, warps=warps)
    assert torch.equal(lens, lens_w) and torch.equal(tgt, tgt_w)  # targets are never warped
    assert warped.shape == plain.shape and not torch.allclose(warped, plain)


def test_eval_vc_without_a_corpus_says_what_it_needs(tiny_bundle):
    proc = subprocess.run([sys.executable, "-m", "engine", "eval", "vc", "--model", str(tiny_bundle)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--data CORPUS" in proc.stderr and "Traceback" not in proc.stderr


def test_unseen_voices_and_held_out_prompts_stay_out_of_training(vc_corpus, tmp_path):
    recipe = tiny_recipe(vc_corpus, tmp_path, held_out=0)
    assert len(recipe.train_pairs) + len(recipe.val_pairs) == len(SENTENCES)
    assert recipe.cfg.model.held_out == 0  # saved with the converter, so eval vc holds out the same prompts
    with pytest.raises(BadInput, match="too few parallel pairs"):
        tiny_recipe(vc_corpus, tmp_path, unseen=["src"])
    with pytest.raises(BadInput, match="target speaker"):
        tiny_recipe(vc_corpus, tmp_path, target="nobody")


@pytest.mark.parametrize("candidates", [1, 3])
def test_streaming_equals_batch_conversion(tiny_bundle, rendered, tmp_path, candidates):
    from engine.inference.synthesizer import SegmentDone
    from engine.models.vc.adapter import ConverterSource, ConvertRequest

    # Two sentences with a pause between them: two segments.
    a, sr = sf.read(str(rendered["espeak_b"][0]))
    b, _ = sf.read(str(rendered["espeak_b"][4]))
    path = tmp_path / "two.wav"
    sf.write(str(path), np.concatenate([a, np.zeros(int(0.6 * sr)), b]), sr)
    src = ConverterSource(tiny_bundle, device="cpu", max_segment_s=3.0, candidates=candidates)
    request = ConvertRequest(path)
    segments = src.prepare(request)
    assert len(segments) == 2
    batch = src.render_mels(request)
    streamed = [ev.result for ev in src.decode_stream(request, segments=segments, chunk_steps=3)
                if isinstance(ev, SegmentDone)]
    assert len(batch.segments) == len(streamed) == 2
    for x, y in zip(batch.segments, streamed):
        assert x.mel.shape == y.mel.shape
        assert np.allclose(x.mel, y.mel, atol=1e-3)
        assert np.allclose(x.alignment, y.alignment, atol=1e-4)


def test_the_draw_kept_is_a_complete_one_with_the_best_score():
    from engine.models.vc.candidates import pick

    assert pick([2.0, 1.0, 3.0], [True, True, True]) == 1
    assert pick([2.0, 1.0, 3.0], [True, False, True]) == 0  # an incomplete alignment loses to any complete one
    assert pick([2.0, 1.0, 3.0], [False, False, False]) == 1
    assert pick([float("inf"), float("inf")], [True, True]) == 0


def test_the_encoder_hears_which_conversion_says_the_source_words(rendered):
    """The score that chooses among draws measures what is said: each conversion of the bundled converter
    scores best against its own source's phonemes, and candidates=1 leaves conversion as one draw."""
    from engine.models.vc.adapter import ConverterSource, ConvertRequest
    from engine.models.vc.candidates import consistency_scores, source_phonemes
    from engine.paths import BUNDLED_MODELS

    if not (BUNDLED_MODELS / "default-vc" / "model.safetensors").exists():
        pytest.skip("resources/models/default-vc is not installed")
    src = ConverterSource("default-vc", device="cpu", candidates=1)
    mels, labels = [], []
    for path in rendered["espeak_b"][:4]:
        request = ConvertRequest(path)
        segments = src.prepare(request)
        assert len(segments) == 1
        mels.append(torch.from_numpy(src.render_mels(request, segments=segments).segments[0].mel))
        x, lengths = src._batch(segments)
        labels.append(source_phonemes(src.model, x, lengths)[0])
        assert len(labels[-1]) > 10
    for i, own in enumerate(labels):
        scores = consistency_scores(src.model, mels, own)
        assert int(np.argmin(scores)) == i, scores
        assert np.isfinite(scores[i])


def test_adapter_converts_any_file_end_to_end(tiny_bundle, rendered, tmp_path):
    from engine.inference.pipeline import Pipeline
    from engine.inference.vocoder import load_vocoder
    from engine.models.vc.adapter import ConverterSource, ConvertRequest

    wav, sr = sf.read(str(rendered["espeak_b"][1]))
    stereo = tmp_path / "stereo.flac"  # another format, rate and channel count
    import librosa

    wav44 = librosa.resample(wav.astype(np.float32), orig_sr=sr, target_sr=44100)
    sf.write(str(stereo), np.stack([wav44, 0.5 * wav44], axis=1), 44100)
    src = ConverterSource(tiny_bundle, device="cpu")
    take = Pipeline(src, load_vocoder("griffinlim", src.audio)).render(ConvertRequest(stereo))
    assert take.sample_rate == 16000 and len(take.wav) > 1600 and np.isfinite(take.wav).all()
    assert take.source == str(stereo) and len(take.segments) == 1
    assert take.segments[0].alignment.shape[1] == len(take.segments[0].tokens)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(16000), 16000)
    with pytest.raises(BadInput, match="silent"):
        src.prepare(ConvertRequest(silent))
    with pytest.raises(BadInput, match="not found"):
        src.prepare(ConvertRequest(tmp_path / "missing.wav"))


def test_convert_cli_json_and_bad_input(tiny_bundle, rendered, tmp_path):
    out = tmp_path / "out.wav"
    proc = subprocess.run([sys.executable, "-m", "engine", "convert", str(rendered["espeak_b"][4]), "-o", str(out),
                           "--model", str(tiny_bundle), "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["rtf"] > 0 and summary["segments"] and "alignment_complete" in summary["segments"][0]
    assert sf.info(str(out)).samplerate == 16000
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    proc = subprocess.run([sys.executable, "-m", "engine", "convert", str(bad), "-o", str(out), "--model",
                           str(tiny_bundle)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_convert_cli_analyses_the_recording_once(tiny_bundle, rendered, tmp_path, monkeypatch, capsys):
    """The segments `prepare` made to check the input are the ones decoded (no second analysis)."""
    from engine.cli import main
    from engine.models.vc.adapter import ConverterSource

    real, calls = ConverterSource.prepare, []

    def prepare(self, request):
        calls.append(request)
        return real(self, request)

    monkeypatch.setattr(ConverterSource, "prepare", prepare)
    out = tmp_path / "once.wav"
    assert main(["convert", str(rendered["espeak_b"][4]), "-o", str(out), "--model", str(tiny_bundle)]) == 0
    assert len(calls) == 1 and sf.info(str(out)).frames > 0


def test_teacher_distils_and_is_never_saved(vc_corpus, tiny_bundle, tmp_path):
    from engine.training.trainer import Trainer

    recipe = tiny_recipe(vc_corpus, tmp_path, teacher=str(tiny_bundle))
    recipe.loop.max_steps = 2
    recipe.loop.val_every = 1000
    result = Trainer(recipe, tmp_path / "run", device="cpu").run()
    assert result["step"] == 2
    ckpt = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1]
    files = sorted(p.name for p in ckpt.iterdir())
    assert files == ["model.optimizer.safetensors", "model.safetensors", "state.json"]
    state = json.loads((ckpt / "state.json").read_text())
    assert "teacher" not in json.dumps(state.get("networks", state.get("optimizers", "")))
    steps = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    losses = [e["losses"] for e in steps if e["type"] == "step"]
    assert losses and all("distill" in x and x["distill"] >= 0 for x in losses)
    start = next(e for e in steps if e["type"] == "start")
    assert start["frozen"] == ["teacher"] and start["networks"] == ["model"]


def test_mcd_dtw_is_zero_for_identity_and_grows_with_difference(rendered):
    from engine.audio.io import load_audio
    from engine.evaluation.mcd import mcd_dtw

    a, sr = load_audio(rendered["espeak_a"][0], 16000)
    b, _ = load_audio(rendered["espeak_b"][0], 16000)
    assert mcd_dtw(a, a, sr) < 1e-6
    same_voice_louder = mcd_dtw(a, 0.5 * a, sr)
    other_voice = mcd_dtw(a, b, sr)
    assert same_voice_louder < 0.5 and other_voice > 2.0


def test_polisher_pairs_for_a_converter_partner(vc_corpus, tiny_bundle, tmp_path):
    """A converter partner: the polisher's inputs are its teacher-forced mels of the target's prompts,
    read from a source voice's recording, frame-aligned with the target's ground truth."""
    from engine.inference.polisher import load_polisher
    from engine.models.polisher.recipe import PolisherRecipe
    from engine.models.polisher.recipe import preset as polisher_preset

    partner = shutil.copytree(tiny_bundle, tmp_path / "tiny-vc")
    cfg = json.loads((partner / "config.json").read_text())
    cfg["sources"] = ["src"]
    (partner / "config.json").write_text(json.dumps(cfg))
    pcfg = polisher_preset("tiny")
    pcfg.partner = str(partner)
    pcfg.held_out = 0
    pcfg.feature_cache = str(tmp_path / "cache")
    rec = PolisherRecipe(pcfg, vc_corpus, run_dir=tmp_path / "run", log=lambda m: None)
    pairs = rec.train_pairs + rec.val_pairs
    assert len(pairs) == len(SENTENCES)  # one per target utterance, none of the source's own
    for p in pairs:
        assert p.source.shape == p.target.shape
        assert not torch.allclose(p.source, p.target)  # an untrained converter is far from the truth
    assert rec.cfg.model.partner == "tiny-vc"
    assert len(rec.cfg.model.gv_scale) == rec.audio.n_mels  # measured on free-running conversions
    assert len(list((tmp_path / "run" / "partner_mels").rglob("*.npy"))) == len(pairs)
    with pytest.raises(BadInput, match="no polisher is installed"):
        load_polisher("tiny-vc")


def test_default_converter_converts_and_polishes_with_its_own_polisher(rendered, tmp_path):
    """The bundled default-vc converts a voice it never heard (espeak-ng) with a complete alignment, and
    --polish finds the polisher made for it (default-vc-polisher), which changes the mel."""
    from engine.inference.polisher import polishers_for
    from engine.paths import BUNDLED_MODELS

    if not (BUNDLED_MODELS / "default-vc" / "model.safetensors").exists():
        pytest.skip("resources/models/default-vc is not installed")
    assert [name for name, _ in polishers_for("default-vc")] == ["default-vc-polisher"]
    outs = {}
    for polish in (False, True):
        out = tmp_path / f"out-{polish}.wav"
        proc = subprocess.run([sys.executable, "-m", "engine", "convert", str(rendered["espeak_b"][4]), "-o", str(out),
                               "--json"] + (["--polish"] if polish else []), capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        assert summary["polished"] is polish and summary["model"] == "default-vc"
        assert all(s["alignment_complete"] for s in summary["segments"])
        outs[polish], _ = sf.read(str(out))
    assert len(outs[True]) == len(outs[False]) and not np.allclose(outs[True], outs[False])
