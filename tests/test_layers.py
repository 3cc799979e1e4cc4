"""One tiny-config test per building block in engine/layers: output shapes, padding that does not
change the unpadded outputs (where the block takes lengths or a mask), and one real property each.

Batch norm is given random running statistics first: with the fresh ones (mean 0, variance 1) a
padded zero stays zero through it, which would hide a block that forgets to mask."""

import pytest
import torch
from torch import nn

from engine.layers.attention import GMMAttention, LocationSensitiveAttention, apply_window, build_attention
from engine.layers.cbhg import CBHG
from engine.layers.conv import BatchNormConv1d
from engine.layers.conv_encoder import ConvEncoder
from engine.layers.gst import ReferenceEncoder, StyleTokenLayer
from engine.layers.highway import Highway
from engine.layers.masks import sequence_mask, time_mask
from engine.layers.postnet import CBHGPostnet, ConvPostnet
from engine.layers.prenet import Prenet
from engine.layers.reduction import decoder_inputs_from_frames, frames_from_steps
from engine.layers.rnn import run_packed


@pytest.fixture(autouse=True)
def _seed_and_no_grad():
    torch.manual_seed(0)
    with torch.no_grad():
        yield


def trained_looking(module: nn.Module) -> nn.Module:
    """Random batch-norm statistics and affine parameters, then eval mode."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-1.0, 1.0)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(0.2, 1.0)
    return module.eval()


def padded_batch(x: torch.Tensor, extra: int, time_dim: int) -> torch.Tensor:
    """Batch of two: x padded with `extra` frames of garbage, and a longer random item."""
    shape = list(x.shape)
    shape[time_dim] = extra
    padded = torch.cat([x, 5.0 + 3.0 * torch.randn(shape)], dim=time_dim)
    return torch.cat([padded, torch.randn_like(padded)], dim=0)


# ----- masks --------------------------------------------------------------------------------------
def test_masks():
    lengths = torch.tensor([3, 1, 5])
    m = sequence_mask(lengths, 6)
    assert m.shape == (3, 6) and m.dtype == torch.bool
    assert m.sum(1).tolist() == [3, 1, 5]
    assert m.tolist()[1] == [True, False, False, False, False, False]
    assert sequence_mask(lengths).shape == (3, 5)  # max_len defaults to the longest
    like = torch.zeros(3, 4, 6, dtype=torch.float64)
    t = time_mask(lengths, 6, like)
    assert t.shape == (3, 1, 6) and t.dtype == torch.float64
    assert torch.equal(t[:, 0].bool(), m)
    assert time_mask(None, 6, like) is None


# ----- rnn helper ---------------------------------------------------------------------------------
def test_run_packed_ignores_padding_in_both_directions():
    gru = nn.GRU(4, 5, batch_first=True, bidirectional=True)
    x = torch.randn(1, 7, 4)
    batch = padded_batch(x, 4, 1)
    out, h = run_packed(gru, batch, torch.tensor([7, 11]))
    alone, h_alone = run_packed(gru, x, torch.tensor([7]))
    assert out.shape == (2, 11, 10) and h.shape == (2, 2, 5)
    assert torch.allclose(out[0, :7], alone[0], atol=1e-6)
    assert torch.allclose(h[:, 0], h_alone[:, 0], atol=1e-6)  # the backward GRU started at frame 6, not 10
    assert float(out[0, 7:].abs().max()) == 0.0  # padded steps give zeros
    unpacked, _ = run_packed(gru, batch, None)  # without lengths the padding is read
    assert not torch.allclose(unpacked[0, :7], alone[0], atol=1e-3)


# ----- highway ------------------------------------------------------------------------------------
def test_highway_gate_carries_or_transforms():
    hw = Highway(6)
    x = torch.randn(3, 5, 6)
    assert hw(x).shape == (3, 5, 6)
    assert torch.allclose(hw.gate.bias, torch.full((6,), -1.0))  # starts biased towards carrying x
    with torch.no_grad():
        hw.gate.weight.zero_()
        hw.gate.bias.fill_(-float("inf"))
        assert torch.equal(hw(x), x)  # gate shut: identity
        hw.gate.bias.fill_(float("inf"))
        assert torch.allclose(hw(x), torch.relu(hw.transform(x)))  # gate open: the transform only


# ----- conv unit ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_batchnorm_conv_keeps_length_and_is_local(kernel):
    conv = trained_looking(BatchNormConv1d(3, 4, kernel, activation="tanh"))
    x = torch.randn(2, 3, 9)
    y = conv(x)
    assert y.shape == (2, 4, 9)
    x2 = x.clone()
    x2[:, :, 4] += 1.0
    changed = (conv(x2) - y).abs().amax(dim=(0, 1)) > 0
    assert changed.nonzero().flatten().tolist() == list(range(4 - (kernel - 1) + kernel // 2, 4 + kernel // 2 + 1))


# ----- CBHG ---------------------------------------------------------------------------------------
def test_cbhg_padding_and_bidirectional_context():
    cbhg = trained_looking(CBHG(5, K=4, bank_channels=6, projections=(8, 5), n_highway=2, gru_dim=7))
    x = torch.randn(1, 9, 5)
    with torch.no_grad():
        alone = cbhg(x, torch.tensor([9]))
        batch = cbhg(padded_batch(x, 6, 1), torch.tensor([9, 15]))
        assert alone.shape == (1, 9, 14) and batch.shape == (2, 15, 14) and cbhg.out_dim == 14
        assert torch.allclose(batch[0, :9], alone[0], atol=1e-5)
        x2 = x.clone()
        x2[0, -1] += 1.0  # the last frame reaches the first output through the backward GRU
        changed = cbhg(x2, torch.tensor([9]))
    assert float((changed[0, 0] - alone[0, 0]).abs().max()) > 1e-5


# ----- Tacotron 2 conv encoder --------------------------------------------------------------------
def test_conv_encoder_padding_and_dropout_only_in_training():
    enc = trained_looking(ConvEncoder(6, out_dim=8, n_convs=2, kernel=3, dropout=0.5))
    x = torch.randn(1, 7, 6)
    with torch.no_grad():
        alone = enc(x, torch.tensor([7]))
        batch = enc(padded_batch(x, 5, 1), torch.tensor([7, 12]))
        assert alone.shape == (1, 7, 8) and batch.shape == (2, 12, 8)
        assert torch.allclose(batch[0, :7], alone[0], atol=1e-5)
        assert torch.equal(enc(x, torch.tensor([7])), alone)  # eval: deterministic
        enc.train()
        assert not torch.allclose(enc(x, torch.tensor([7])), enc(x, torch.tensor([7])))


# ----- prenet -------------------------------------------------------------------------------------
def test_prenet_dropout_stays_on_in_eval_unless_cleared():
    net = Prenet(5, sizes=(16, 8), dropout=0.5).eval()
    x = torch.randn(4, 3, 5)
    assert net(x).shape == (4, 3, 8)
    assert not torch.equal(net(x), net(x))  # dropout at inference, as configured (Tacotron)
    net.always_dropout = False
    assert torch.equal(net(x), net(x))
    # Explicit keep-masks replace the random draw; kept units are scaled by 1 / (1 - p).
    masks = [(torch.rand(3, 16) > 0.5).float(), (torch.rand(3, 8) > 0.5).float()]
    h = torch.relu(net.layers[0](x)) * masks[0] * 2.0
    h = torch.relu(net.layers[1](h)) * masks[1] * 2.0
    assert torch.allclose(net(x, keep_masks=masks), h, atol=1e-6)


def test_prenet_masks_are_seeded_and_do_not_depend_on_the_length():
    net = Prenet(5, sizes=(400, 300), dropout=0.5)
    short, long = net.draw_masks(4, seed=11), net.draw_masks(40, seed=11)
    assert [m.shape for m in long] == [(40, 400), (40, 300)]
    assert all(torch.equal(a, b[:4]) for a, b in zip(short, long))
    assert not torch.equal(net.draw_masks(4, seed=12)[0], short[0])
    assert abs(float(long[0].mean()) - 0.5) < 0.03  # keep rate 1 - p
    x = torch.randn(4, 5)
    assert torch.equal(net(x, keep_masks=[m[:4] for m in short]), net(x, keep_masks=[m[:4] for m in long]))
    net.always_dropout = False
    assert all(bool(m.all()) for m in net.draw_masks(3, seed=11))


# ----- postnets -----------------------------------------------------------------------------------
def test_conv_postnet_shape_locality_and_batch_independence():
    post = trained_looking(ConvPostnet(6, channels=8, n_convs=3, kernel=3, dropout=0.5))
    mel = torch.randn(2, 6, 20)
    with torch.no_grad():
        y = post(mel)
        assert y.shape == (2, 6, 20)
        assert torch.allclose(post(mel[1:]), y[1:], atol=1e-6)  # eval: items do not see each other
        mel2 = mel.clone()
        mel2[:, :, 10] += 1.0
        changed = (post(mel2) - y).abs().amax(dim=(0, 1)) > 1e-7
    reach = 3 * (3 // 2)  # three convs of width 3: three frames each way
    assert changed.nonzero().flatten().tolist() == list(range(10 - reach, 10 + reach + 1))


def test_cbhg_postnet_shape_and_whole_utterance_context():
    post = trained_looking(CBHGPostnet(6, K=3, gru_dim=8))
    mel = torch.randn(2, 6, 15)
    with torch.no_grad():
        y = post(mel)
        assert y.shape == (2, 6, 15)
        assert torch.allclose(post(mel[:1]), y[:1], atol=1e-6)
        mel2 = mel.clone()
        mel2[:, :, -1] += 1.0
        assert float((post(mel2)[:, :, 0] - y[:, :, 0]).abs().max()) > 1e-6  # a BiGRU sees it all


# ----- attention ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["location", "gmm"])
def test_attention_shapes_masking_and_padding(kind):
    att = build_attention(kind, query_dim=7, memory_dim=5, attention_dim=6, n_filters=4, kernel=5, n_mixtures=3)
    memory = torch.randn(1, 8, 5)
    batch = padded_batch(memory, 4, 1)
    mask = sequence_mask(torch.tensor([8, 12]), 12)
    query = torch.randn(1, 7)
    queries = torch.cat([query, torch.randn(1, 7)])
    s_alone = att.init_state(memory, torch.ones(1, 8, dtype=torch.bool))
    s_batch = att.init_state(batch, mask)
    for _ in range(3):  # a few steps: the state carries the padding (or not) forward
        c_alone, w_alone, s_alone = att(query, memory, att.preprocess_memory(memory),
                                        torch.ones(1, 8, dtype=torch.bool), s_alone)
        c_batch, w_batch, s_batch = att(queries, batch, att.preprocess_memory(batch), mask, s_batch)
        queries[1] = torch.randn(7)
    assert c_batch.shape == (2, 5) and w_batch.shape == (2, 12)
    assert float(w_batch[0, 8:].abs().max()) == 0.0  # no weight on padding
    assert torch.allclose(w_batch[0, :8], w_alone[0], atol=1e-6)
    assert torch.allclose(c_batch[0], c_alone[0], atol=1e-5)
    assert torch.allclose(c_batch, torch.bmm(w_batch[:, None], batch)[:, 0], atol=1e-6)  # context = weights x memory
    if kind == "location":
        assert torch.allclose(w_batch.sum(-1), torch.ones(2), atol=1e-5)
    else:
        assert bool((w_batch.sum(-1) <= 1 + 1e-5).all())


def test_location_attention_accumulates_its_alignment():
    att = LocationSensitiveAttention(7, 5, 6, 4, 5)
    memory = torch.randn(2, 9, 5)
    mask = torch.ones(2, 9, dtype=torch.bool)
    state = att.init_state(memory, mask)
    assert torch.equal(state[0][:, 0], torch.ones(2)) and torch.equal(state[1], state[0])
    total = state[1].clone()
    for _ in range(4):
        _, w, state = att(torch.randn(2, 7), memory, att.preprocess_memory(memory), mask, state)
        total += w
        assert torch.equal(state[0], w)
    assert torch.allclose(state[1], total, atol=1e-6)
    with pytest.raises(ValueError):
        build_attention("content", 7, 5, 6, 4, 5, 3)


def test_apply_window_keeps_only_the_band_around_the_last_peak():
    energies = torch.zeros(1, 10)
    prev = torch.zeros(1, 10)
    prev[0, 4] = 1.0
    kept = torch.isfinite(apply_window(energies, prev, (1, 3)))[0]
    assert kept.nonzero().flatten().tolist() == [3, 4, 5, 6, 7]


# ----- global style tokens ------------------------------------------------------------------------
def test_style_token_layer_heads_and_slider_weights_agree():
    layer = StyleTokenLayer(query_dim=6, n_tokens=5, style_dim=12, n_heads=3)
    style, weights = layer(torch.randn(4, 6))
    assert style.shape == (4, 12) and weights.shape == (4, 3, 5)
    assert torch.allclose(weights.sum(-1), torch.ones(4, 3), atol=1e-6)
    # What a reference gives, head by head, is what the sliders give with that head's weights:
    # both read the same token values.
    for h in range(3):
        from_sliders = layer.from_weights(weights[:, h]).view(4, 3, 4)[:, h]
        assert torch.allclose(from_sliders, style.view(4, 3, 4)[:, h], atol=1e-6)
    # Sliders are linear in the weights.
    a, b = torch.rand(2, 5), torch.rand(2, 5)
    assert torch.allclose(layer.from_weights(2 * a - b), 2 * layer.from_weights(a) - layer.from_weights(b), atol=1e-5)


def test_reference_encoder_shape_and_lengths():
    enc = trained_looking(ReferenceEncoder(16, filters=(4, 4, 8), gru_dim=6))
    mel = torch.randn(3, 16, 30)
    with torch.no_grad():
        out = enc(mel)
        assert out.shape == (3, 6)
        assert torch.allclose(enc(mel[:1]), out[:1], atol=1e-6)  # eval: items do not see each other
        # With lengths the GRU stops at the last frame of each item: the tail is not read.
        short = enc(mel[:1], torch.tensor([17]))
        assert not torch.allclose(short, out[:1], atol=1e-4)


def test_reference_encoder_padding_does_not_change_the_embedding():
    enc = trained_looking(ReferenceEncoder(16, filters=(4, 4, 8), gru_dim=6))
    mel = torch.randn(1, 16, 21)
    with torch.no_grad():
        alone = enc(mel, torch.tensor([21]))
        batch = enc(padded_batch(mel, 11, 2), torch.tensor([21, 32]))
    assert torch.allclose(batch[:1], alone, atol=1e-5)


# ----- reduction factor ---------------------------------------------------------------------------
@pytest.mark.parametrize("r", [1, 2, 3])
def test_reduction_round_trip_and_teacher_forcing_frames(r):
    B, T_steps, n_mels = 2, 4, 5
    steps = torch.randn(B, T_steps, r * n_mels)
    mel = frames_from_steps(steps, r, n_mels)
    assert mel.shape == (B, n_mels, T_steps * r)
    for k in range(T_steps):
        for j in range(r):  # step k's j-th block of n_mels values is frame k * r + j
            assert torch.equal(mel[:, :, k * r + j], steps[:, k, j * n_mels:(j + 1) * n_mels])
    back = mel.transpose(1, 2).reshape(B, T_steps, r * n_mels)
    assert torch.equal(back, steps)
    fed = decoder_inputs_from_frames(mel, r)
    assert fed.shape == (B, T_steps, n_mels)
    assert torch.equal(fed, steps[:, :, (r - 1) * n_mels:])  # the last frame of each step
