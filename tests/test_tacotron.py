"""Tacotron model: shapes, masks, reduction order, attention, GST, streaming vs batch,
incremental vs full-sequence decoding."""

import numpy as np
import pytest
import torch

from engine.layers.attention import GMMAttention, LocationSensitiveAttention
from engine.layers.masks import sequence_mask
from engine.layers.reduction import decoder_inputs_from_frames, frames_from_steps
from engine.models.tacotron import Tacotron
from engine.models.tacotron_config import TacotronConfig
from engine.text import SymbolSet
from engine.training.losses import guided_attention_loss, stop_targets
from engine.training.tacotron_recipe import preset

SYMBOLS = SymbolSet.create("arpabet")


def tiny_config(**overrides) -> TacotronConfig:
    cfg = preset("tiny").model
    cfg.symbols = SYMBOLS.to_dict()
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def batch_of(texts):
    ids = [SYMBOLS.encode(t) for t in texts]
    lengths = torch.tensor([len(i) for i in ids])
    symbols = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long)
    for b, i in enumerate(ids):
        symbols[b, : len(i)] = torch.tensor(i)
    return symbols, lengths


def test_sequence_mask():
    m = sequence_mask(torch.tensor([3, 1]), 4)
    assert m.tolist() == [[True, True, True, False], [True, False, False, False]]


def test_frames_from_steps_keeps_time_order():
    r, n_mels, B, T_steps = 3, 4, 2, 5
    # Step k frame j must become output frame k * r + j; encode the frame index in every band.
    frame_index = torch.arange(T_steps * r).float().reshape(T_steps, r)
    step_out = frame_index[None, :, :, None].expand(B, T_steps, r, n_mels).reshape(B, T_steps, r * n_mels)
    mel = frames_from_steps(step_out, r, n_mels)
    assert mel.shape == (B, n_mels, T_steps * r)
    assert torch.equal(mel[0, 0], torch.arange(T_steps * r).float())
    assert torch.equal(mel[1, 3], torch.arange(T_steps * r).float())
    # Teacher forcing feeds the last frame of each group.
    fed = decoder_inputs_from_frames(mel, r)
    assert fed[0, :, 0].tolist() == [2.0, 5.0, 8.0, 11.0, 14.0]


@pytest.mark.parametrize("variant", ["tacotron", "tacotron2", "gmm", "multispeaker"])
def test_forward_shapes(variant):
    if variant == "tacotron2":
        cfg = TacotronConfig.tacotron2(**{k: v for k, v in tiny_config().to_dict().items()
                                          if k in ("embedding_dim", "encoder_dim", "prenet", "attention_rnn_dim",
                                                   "attention_dim", "decoder_dim", "postnet_dim", "gst_tokens",
                                                   "gst_dim", "gst_heads", "ref_gru_dim", "symbols")},
                                       ref_filters=(8, 8, 16, 16))
    elif variant == "gmm":
        cfg = tiny_config(attention="gmm")
    else:
        cfg = tiny_config(speakers=["a", "b"] if variant == "multispeaker" else [])
    model = Tacotron(cfg)
    symbols, lengths = batch_of(["hello world.", "a much longer sentence than the first one."])
    T = cfg.r * 7
    mels = torch.randn(2, cfg.n_mels, T)
    out = model(symbols, lengths, mels, torch.tensor([T, T - cfg.r]),
                speaker_ids=torch.tensor([0, 1]) if variant == "multispeaker" else None)
    assert out["mel"].shape == (2, cfg.n_mels, T)
    assert out["mel_post"].shape == (2, cfg.n_mels, T)
    assert out["stop_logits"].shape == (2, 7)
    assert out["alignments"].shape == (2, 7, symbols.shape[1])
    # Attention never lands on padding of the shorter sentence.
    short = int(lengths.min())
    idx = int(torch.argmin(lengths))
    assert float(out["alignments"][idx, :, short:].detach().sum()) < 1e-6
    rows = out["alignments"].sum(-1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-3) or variant == "gmm"


def test_padding_does_not_change_encoder_output():
    model = Tacotron(tiny_config()).eval()
    symbols, lengths = batch_of(["hello world.", "a much longer sentence than the first one."])
    short = int(torch.argmin(lengths))
    with torch.no_grad():
        mem_batch, _ = model.encode(symbols, lengths)
        alone = symbols[short : short + 1, : lengths[short]]
        mem_alone, _ = model.encode(alone, lengths[short : short + 1])
    assert torch.allclose(mem_batch[short, : lengths[short]], mem_alone[0], atol=1e-5)


def test_streaming_equals_batch():
    torch.manual_seed(0)
    model = Tacotron(tiny_config(stop_threshold=2.0)).eval()  # untrained: never stop early
    symbols, lengths = batch_of(["first sentence here.", "and the second, longer one follows it."])
    chunks = list(model.generate(symbols, lengths, seeds=[11, 12], max_steps=40, chunk_steps=64))
    batch_mel = torch.cat([c.mel for c in chunks], -1)
    for i in range(2):
        alone = symbols[i : i + 1, : lengths[i]]
        streamed = list(model.generate(alone, lengths[i : i + 1], seeds=[11 + i], max_steps=40, chunk_steps=3))
        assert len(streamed) > 1  # really streamed in several chunks
        mel = torch.cat([c.mel for c in streamed], -1)
        n = mel.shape[-1]
        assert torch.allclose(mel[0], batch_mel[i, :, :n], atol=1e-3)


def test_incremental_decoding_matches_teacher_forced_pass():
    """Free-running generation, fed back as teacher-forcing input, must give the same frames and
    alignments as the full-sequence pass (prenet dropout switched off to compare)."""
    torch.manual_seed(0)
    model = Tacotron(tiny_config(stop_threshold=2.0)).eval()
    model.decoder.prenet.always_dropout = False
    symbols, lengths = batch_of(["incremental and full must agree."])
    chunks = list(model.generate(symbols, lengths, use_window=False, max_steps=12, chunk_steps=5))
    gen_mel = model.normalize(torch.cat([c.mel for c in chunks], -1))
    gen_align = torch.cat([c.alignment for c in chunks], 1)
    with torch.no_grad():
        out = model(symbols, lengths, gen_mel, torch.tensor([gen_mel.shape[-1]]), style=model.default_style(1))
    assert torch.allclose(out["mel"], gen_mel, atol=1e-4)
    assert torch.allclose(out["alignments"], gen_align, atol=1e-5)


def test_stop_targets_and_guided_attention():
    t = stop_targets(torch.tensor([6, 7]), 4, 3)
    assert t.tolist() == [[0, 1, 1, 1], [0, 0, 1, 1]]
    n_steps, n_text = 20, 10
    diag = torch.zeros(1, n_steps, n_text)
    anti = torch.zeros(1, n_steps, n_text)
    for s in range(n_steps):
        diag[0, s, min(n_text - 1, s * n_text // n_steps)] = 1
        anti[0, s, n_text - 1 - min(n_text - 1, s * n_text // n_steps)] = 1
    args = (torch.tensor([n_text]), torch.tensor([n_steps * 3]), 3)
    assert guided_attention_loss(diag, *args) < 0.05
    assert guided_attention_loss(anti, *args) > 0.5


def test_gst_styles_differ_by_reference_and_weights():
    model = Tacotron(tiny_config()).eval()
    with torch.no_grad():
        a, wa = model.style_from_reference(torch.randn(1, 80, 60))
        b, wb = model.style_from_reference(torch.randn(1, 80, 60) + 2)
        one_hot = torch.eye(model.cfg.gst_tokens)
        styles = model.style_from_weights(one_hot)
    assert not torch.allclose(a, b)
    assert wa.shape == (1, model.cfg.gst_heads, model.cfg.gst_tokens)
    assert torch.allclose(wa.sum(-1), torch.ones(1, model.cfg.gst_heads), atol=1e-5)
    assert styles.shape == (model.cfg.gst_tokens, model.cfg.gst_dim)
    assert not torch.allclose(styles[0], styles[1])


def test_location_attention_window_restricts_positions():
    att = LocationSensitiveAttention(8, 6, 4, 2, 3)
    memory = torch.randn(1, 10, 6)
    mask = torch.ones(1, 10, dtype=torch.bool)
    state = att.init_state(memory, mask)
    _, w, _ = att(torch.randn(1, 8), memory, att.preprocess_memory(memory), mask, state, window=(1, 3))
    w = w.detach()
    assert float(w[0, 4:].sum()) == 0.0 and abs(float(w.sum()) - 1) < 1e-5


def test_gmm_attention_moves_forward():
    torch.manual_seed(0)
    att = GMMAttention(8, 6, 3, 16)
    T = 40
    memory = torch.randn(1, T, 6)
    mask = torch.ones(1, T, dtype=torch.bool)
    # Whatever the query, every mixture mean moves forward at every step.
    state = att.init_state(memory, mask)
    for _ in range(6):
        before = state[1]
        _, w, state = att(torch.randn(1, 8), memory, None, mask, state)
        assert bool((state[1] > before).all()), (before, state[1])
    # One query held: the whole alignment slides forward, step after step.
    state, query, centers = att.init_state(memory, mask), torch.randn(1, 8), []
    for _ in range(6):
        _, w, state = att(query, memory, None, mask, state)
        w = w.detach()
        centers.append(float((w[0] * torch.arange(T)).sum() / w[0].sum().clamp(min=1e-9)))
    assert all(b > a for a, b in zip(centers, centers[1:])), centers


def test_stop_gate_waits_for_the_attention_to_reach_the_end():
    torch.manual_seed(0)
    symbols, lengths = batch_of(["a sentence long enough to need several decoder steps."])
    last = int(lengths[0]) - 1
    # GMM attention only moves forward, so even untrained it reaches the last symbol (an untrained
    # location-sensitive attention stalls and would end at the step guard instead).
    eager = Tacotron(tiny_config(attention="gmm", stop_threshold=-1.0, stop_requires_end=False)).eval()
    chunks = list(eager.generate(symbols, lengths, max_steps=200))
    assert int(chunks[-1].stopped_at[0]) == 1 and bool(chunks[-1].stop_fired[0])
    gated = Tacotron(tiny_config(attention="gmm", stop_threshold=-1.0, stop_requires_end=True, end_tolerance=0)).eval()
    gated.load_state_dict(eager.state_dict())
    chunks = list(gated.generate(symbols, lengths, max_steps=200))
    align = torch.cat([c.alignment for c in chunks], 1)[0]
    stopped = int(chunks[-1].stopped_at[0])
    assert bool(chunks[-1].stop_fired[0]), f"ended by the step guard at step {stopped}, not by the stop token"
    peaks = align[:stopped].argmax(-1)
    # The token (above threshold at every step) was obeyed at the first step whose peak is the last symbol.
    assert 1 < stopped < 200
    assert int(peaks[-1]) == last and int(peaks[:-1].max()) < last, peaks.tolist()
