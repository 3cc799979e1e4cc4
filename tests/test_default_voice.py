"""The shipped default voice: it speaks held-out text to the end, and its style follows a reference."""

import shutil

import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.evaluation.style_eval import median_f0, render_reference, speech_duration, style_contrast
from engine.inference.synthesizer import Synthesizer
from engine.inference.vocoder import GriffinLimVocoder

HELD_OUT = [
    "There were stir and bustle, new faces, and fresh facts.",
    "He was quite young, though he looked older.",
]


@pytest.fixture(scope="module")
def synth():
    bundle = load_bundle("default")
    assert bundle.kind == "tacotron"
    assert "Steps" in bundle.card and "Wall time" in bundle.card
    return Synthesizer(bundle, device="cpu")


def test_default_voice_speaks_held_out_sentences_to_the_end(synth):
    result = synth.synthesize(" ".join(HELD_OUT))
    assert len(result.segments) == 2
    for seg in result.segments:
        assert seg.stop_reached, seg.text
        assert seg.alignment_complete, seg.text
        seconds = seg.frames / synth.audio.frames_per_second
        assert 1.0 < seconds < 8.0, seconds


@pytest.mark.skipif(shutil.which("text2wave") is None or shutil.which("sox") is None,
                    reason="festival slt voice and sox are needed for the reference clips")
def test_style_follows_a_high_fast_versus_low_slow_reference(synth, tmp_path):
    ref_text = "I will read this sentence so that the style can be heard."
    clips = {
        "high_fast": render_reference(ref_text, tmp_path / "high.wav", pitch_semitones=3.0, rate=1.25),
        "low_slow": render_reference(ref_text, tmp_path / "low.wav", pitch_semitones=-3.0, rate=0.8),
    }
    vocoder = GriffinLimVocoder(synth.audio)
    figures = style_contrast(synth, vocoder, "The boats were coming home one by one in the evening light.", clips)
    print("GST style figures:", figures)
    assert figures["high_fast"]["f0_hz"] > figures["low_slow"]["f0_hz"]
    assert figures["high_fast"]["duration_s"] < figures["low_slow"]["duration_s"]


def test_style_weights_change_the_output(synth):
    n = synth.n_style_tokens
    assert n > 0
    from engine.inference.synthesizer import Style

    a = synth.synthesize("A short test.", style=Style(weights=[1.0] + [0.0] * (n - 1))).mel
    b = synth.synthesize("A short test.", style=Style(weights=[0.0] * (n - 1) + [1.0])).mel
    assert a.shape != b.shape or not np.allclose(a, b, atol=1e-3)
