"""Synthesizer API: reproducible, streaming equals batch, cancel is prompt; the trainer's NaN guard."""

import json

import numpy as np
import pytest
import torch

from engine.bundle import load_bundle, save_bundle
from engine.inference.synthesizer import ChunkEvent, SegmentDone, Style, Synthesizer
from engine.models.tacotron import Tacotron
from engine.text import SymbolSet
from engine.training.tacotron_recipe import preset
from engine.training.trainer import LoopConfig, Recipe, Trainer


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    cfg = preset("tiny").model
    cfg.symbols = SymbolSet.create("arpabet").to_dict()
    cfg.stop_threshold = 2.0  # untrained: decode to the guard
    cfg.max_steps_per_symbol = 1.5
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("voice") / "tiny"
    return save_bundle(path, cfg.to_dict(), Tacotron(cfg).state_dict(), "# tiny\n")


TEXT = "The first sentence is here. And a second one follows it."


def test_same_seed_same_output_other_seed_differs(tiny_bundle):
    a = Synthesizer(tiny_bundle, device="cpu", seed=1).synthesize(TEXT).mel
    b = Synthesizer(tiny_bundle, device="cpu", seed=1).synthesize(TEXT).mel
    c = Synthesizer(tiny_bundle, device="cpu", seed=2).synthesize(TEXT).mel
    assert np.array_equal(a, b)
    assert a.shape == c.shape and not np.allclose(a, c)


def test_stream_equals_batch(tiny_bundle):
    synth = Synthesizer(tiny_bundle, device="cpu", seed=3)
    batch = synth.synthesize(TEXT)
    events = list(synth.stream(TEXT, chunk_steps=4))
    chunks = [e for e in events if isinstance(e, ChunkEvent)]
    done = [e for e in events if isinstance(e, SegmentDone)]
    assert len(done) == 2 and len(chunks) > 4
    for seg_done, seg_batch in zip(done, batch.segments):
        np.testing.assert_allclose(seg_done.result.mel, seg_batch.mel, atol=1e-3)
        np.testing.assert_allclose(seg_done.result.alignment, seg_batch.alignment, atol=1e-4)
    # Sentence by sentence: all of sentence 0's chunks, its SegmentDone, then sentence 1's.
    order = [(e.segment, 0) if isinstance(e, ChunkEvent) else (e.result.index, 1) for e in events]
    assert order == sorted(order) and order[-1] == (1, 1)
    # The live chunks are the pre-postnet frames of the final result, in order: joined and put
    # through the postnet they give the final mel, and their alignment rows are its alignment.
    r = synth.cfg.r
    for seg in done:
        res = seg.result
        live = np.concatenate([c.mel for c in chunks if c.segment == res.index], axis=-1)
        steps = res.alignment.shape[0]
        assert live.shape[-1] >= steps * r
        post = synth.model.postprocess(torch.from_numpy(live[:, : steps * r])[None])[0].numpy()
        np.testing.assert_allclose(post, res.mel, atol=1e-4)
        live_align = np.concatenate([c.alignment for c in chunks if c.segment == res.index], axis=0)
        np.testing.assert_allclose(live_align[:steps, : res.alignment.shape[1]], res.alignment, atol=1e-6)


def test_cancel_stops_within_one_chunk(tiny_bundle):
    synth = Synthesizer(tiny_bundle, device="cpu")
    seen = []

    def cancel():
        return len(seen) >= 2

    for event in synth.stream(TEXT, chunk_steps=3, cancel=cancel):
        seen.append(event)
    assert len(seen) <= 3
    assert not any(isinstance(e, SegmentDone) for e in seen)


def test_style_sources(tiny_bundle, speech_wav):
    synth = Synthesizer(tiny_bundle, device="cpu")
    n = synth.n_style_tokens
    default = synth.synthesize("Hello there.").mel
    weighted = synth.synthesize("Hello there.", style=Style(weights=[1.0] + [0.0] * (n - 1))).mel
    ref = synth.synthesize("Hello there.", style=synth.reference_from_file(speech_wav))
    assert not np.allclose(default, weighted)
    assert not np.allclose(default, ref.mel)
    assert len(ref.token_weights) == n and abs(sum(ref.token_weights) - 1) < 1e-4


class _NanRecipe(Recipe):
    """A linear model whose loss is NaN at one step: the trainer must skip it and go on."""

    name = "nan-test"

    def __init__(self):
        self.loop = LoopConfig(max_steps=5, log_every=1, checkpoint_every=100, val_every=100, warmup_steps=1)
        self.calls = 0

    def build(self, device):
        return torch.nn.Linear(2, 1)

    def train_batches(self, epoch, rank, world):
        return [torch.randn(4, 2) for _ in range(3)]

    def loss(self, model, batch, step):
        self.calls += 1
        out = model(batch).pow(2).mean()
        if self.calls == 2:
            out = out * float("nan")
        return out, {}

    def validate(self, model, step, run_dir, events):
        return {}

    def config_dict(self):
        return {"kind": "nan-test"}


def test_nan_guard_skips_the_step(tmp_path):
    result = Trainer(_NanRecipe(), tmp_path, device="cpu").run()
    events = [json.loads(l) for l in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e for e in events if e["type"] == "nan_skip"]
    assert result["step"] == 5
