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
    from engine.data.corpus_builder import Prompt, render_chunk
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
            assert render_chunk(voice, [(prompt, path)], settings) == []
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


# ----- more voices, recording conditions, merged builds (voice conversion corpora) -----------------
def test_voice_specs_cover_festival_flite_and_espeak():
    assert parse_voice("slt").speaker == "slt" and parse_voice("festival:ked").speaker == "ked"
    assert parse_voice("flite:awb").speaker == "flite-awb" and parse_voice("flite:kal16").engine == "flite"
    assert parse_voice("espeak:en-gb+f4").speaker == "espeak-en-gb-f4"
    assert parse_voice("espeak").speaker == "espeak"
    with pytest.raises(BadInput, match="flite"):
        parse_voice("flite:nobody")


def test_augmentation_draws_are_recorded_deterministic_and_measurable():
    import numpy as np

    from engine.data.augment import active_power, apply_augment, augment_for
    from engine.data.corpus_builder import style_for

    draws = [augment_for(0, "flite-awb", f"arctic_a{i:04d}") for i in range(200)]
    assert draws[0] == augment_for(0, "flite-awb", "arctic_a0000")
    snrs = [d["snr"] for d in draws if "snr" in d]
    assert 60 < len(snrs) < 140 and min(snrs) >= 15 and max(snrs) <= 30
    assert any("rt60" in d for d in draws) and any("lowpass" in d for d in draws)
    assert all(-20 <= d["gain"] <= -1 for d in draws)
    settings = CorpusSettings(prosody=True, augment=True, clean=["slt"])
    assert style_for(settings, "slt", "arctic_a0001") == {}
    assert {"pitch", "rate", "gain"} <= set(style_for(settings, "flite-awb", "arctic_a0001"))
    # The noise really is at the drawn SNR, and the level at the drawn peak.
    sr = 16000
    t = np.arange(sr * 2) / sr
    tone = (0.5 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    noisy = apply_augment(tone, sr, {"snr": 20.0}, seed=1)
    snr = 10 * np.log10(active_power(tone, sr) / np.mean((noisy - tone) ** 2))
    assert abs(snr - 20.0) < 1.5
    quiet = apply_augment(tone, sr, {"gain": -12.0}, seed=1)
    assert abs(20 * np.log10(np.abs(quiet).max()) + 12.0) < 0.1
    muffled = apply_augment(tone + np.sin(2 * np.pi * 6000 * t).astype(np.float32) * 0.3, sr, {"lowpass": 3400.0})
    spec = np.abs(np.fft.rfft(muffled))
    assert spec[6000 * 2] < 0.01 * spec[220 * 2]


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")
def test_merged_builds_keep_earlier_voices_and_record_conditions(tmp_path):
    out = tmp_path / "vc"
    build_corpus(out, voices=["espeak"], limit=3, jobs=1, prosody=True, augment=True, clean=["espeak"],
                 progress=lambda done, note: None)
    second = build_corpus(out, voices=["flite:awb"], limit=3, jobs=1, prosody=True, augment=True,
                          clean=["espeak"], progress=lambda done, note: None)
    assert second["rendered"] == 3 and second["failed"] == 0
    utts = read_corpus(out)
    assert sorted({u.speaker for u in utts}) == ["espeak", "flite-awb"] and len(utts) == 6
    assert all(u.style == {} for u in utts if u.speaker == "espeak")
    assert all("gain" in u.style for u in utts if u.speaker == "flite-awb")
    settings = json.loads((out / "corpus.json").read_text())
    assert settings["voices"] == ["espeak:en-us", "flite:awb"] and settings["augment"] is True
    with pytest.raises(BadInput, match="augment"):
        build_corpus(out, voices=["flite:awb"], limit=3, prosody=True, augment=False, clean=["espeak"])


@pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")
def test_festival_renders_a_batch_in_one_process(tmp_path):
    voice = parse_voice("ked")
    if not voice.available():
        pytest.skip("festvox-kdlpc16k is not installed")
    items = [("Hello there.", tmp_path / "a.wav"), ('He said "yes" twice.', tmp_path / "b.wav")]
    voice.render_many(items)
    import soundfile as sf

    assert all(sf.info(str(p)).frames > 4000 for _, p in items)
