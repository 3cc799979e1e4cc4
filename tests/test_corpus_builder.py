"""The system-voice corpus builder: renders, resumes, records prosody, and is parallel across voices."""

import json
import shutil
import subprocess
import sys

import pytest

from engine.data import parallel_pairs, read_corpus
from engine.data.corpus_builder import build_corpus, prosody_for, CorpusSettings
from engine.data.voices import parse_voice
from engine.errors import BadInput

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def test_builds_ten_prompts_with_two_voices_parallel(tmp_path):
    out = tmp_path / "corpus"
    summary = build_corpus(out, voices=["espeak", "espeak:en-gb"], limit=10, jobs=2, prosody=True,
                           progress=lambda done, note: None)
    assert summary["rendered"] == 20 and summary["failed"] == 0
    utts = read_corpus(out)
    assert len(utts) == 20
    pairs = parallel_pairs(utts, "espeak", "espeak-en-gb")
    assert len(pairs) == 10
    assert all(a.id == b.id and a.text == b.text for a, b in pairs)
    assert all(set(u.style) == {"pitch", "rate"} for u in utts)
    assert len({u.style["pitch"] for u in utts}) > 5  # really varied
    settings = json.loads((out / "corpus.json").read_text())
    assert settings["prosody"] is True and settings["sample_rate"] == 16000
    import soundfile as sf

    info = sf.info(str(utts[0].audio_path))
    assert info.samplerate == 16000 and info.frames > 8000
    # Resuming renders nothing new.
    again = build_corpus(out, voices=["espeak", "espeak:en-gb"], limit=10, prosody=True,
                         progress=lambda done, note: None)
    assert again["rendered"] == 0 and again["skipped"] == 20


def test_prosody_draws_are_deterministic_and_in_range():
    s = CorpusSettings(prosody=True, seed=3)
    a = prosody_for(s, "slt", "arctic_a0001")
    assert a == prosody_for(s, "slt", "arctic_a0001")
    assert a != prosody_for(s, "slt", "arctic_a0002")
    assert -3 <= a["pitch"] <= 3 and 0.8 <= a["rate"] <= 1.25
    assert prosody_for(CorpusSettings(prosody=False), "slt", "x") == {}


def test_rate_variation_changes_duration(tmp_path):
    """Slow renderings are longer than fast ones of the same text."""
    from engine.data.corpus_builder import Prompt, render_one
    from engine.audio import load_audio

    voice = parse_voice("espeak")
    prompt = Prompt("x", "The quick brown fox jumps over the lazy dog.")
    settings = CorpusSettings(prosody=True)
    durations = {}
    for rate in (0.8, 1.25):
        path = tmp_path / f"{rate}.wav"
        import engine.data.corpus_builder as cb

        original = cb.prosody_for
        cb.prosody_for = lambda *a, rate=rate: {"pitch": 0.0, "rate": rate}
        try:
            render_one(voice, prompt, path, settings)
        finally:
            cb.prosody_for = original
        durations[rate] = len(load_audio(path)[0])
    assert durations[0.8] > durations[1.25] * 1.3


def test_unknown_voice_and_missing_text_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="unknown voice"):
        build_corpus(tmp_path / "c", voices=["nosuchvoice"], limit=1)
    with pytest.raises(BadInput, match="not found"):
        build_corpus(tmp_path / "c", text_path=tmp_path / "missing.tsv", voices=["espeak"])


def test_cli_corpus_build_sample(tmp_path):
    out = tmp_path / "corpus-sample"
    proc = subprocess.run([sys.executable, "-m", "engine", "corpus", "build", "--out", str(out), "--limit", "3",
                           "--voices", "espeak", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["rendered"] == 3
    assert len((out / "metadata.csv").read_text().splitlines()) == 3
