"""engine.audio on real (espeak-ng) speech: STFT, Griffin-Lim, mel inversion, mu-law, I/O, trimming."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch

import engine.audio.io as audio_io
from engine.audio import (
    AudioConfig,
    griffin_lim,
    istft,
    linear_spectrogram,
    load_audio,
    log_mel_spectrogram,
    log_mel_to_audio,
    log_mel_to_linear,
    mulaw_decode,
    mulaw_encode,
    save_audio,
    spectral_convergence,
    stft,
    trim_silence,
)
from engine.errors import BadInput

CFG = AudioConfig()


@pytest.fixture(scope="module")
def speech(speech_wav):
    wav, sr = load_audio(speech_wav, CFG.sample_rate)
    assert sr == CFG.sample_rate and wav.dtype == np.float32 and wav.ndim == 1
    assert np.abs(wav).max() > 0.05
    return wav


def test_stft_istft_round_trip(speech):
    x = torch.from_numpy(speech)[None]
    spec = stft(x, CFG)
    assert spec.shape == (1, CFG.n_freq, len(speech) // CFG.hop_length + 1)
    y = istft(spec, CFG, length=len(speech))
    assert float((y - x).abs().max()) < 1e-4


def test_griffin_lim_converges(speech):
    mag = linear_spectrogram(speech, CFG)
    fast = griffin_lim(mag, CFG, n_iter=32, momentum=0.99, length=len(speech))
    plain = griffin_lim(mag, CFG, n_iter=32, momentum=0.0, length=len(speech))
    assert fast.shape == (len(speech),)
    sc_fast = spectral_convergence(mag, fast, CFG)
    sc_plain = spectral_convergence(mag, plain, CFG)
    assert sc_fast < 0.08
    assert sc_fast < sc_plain
    # reproducible from the seed
    assert torch.equal(griffin_lim(mag, CFG, n_iter=2, seed=3), griffin_lim(mag, CFG, n_iter=2, seed=3))


def test_log_mel_to_audio_length(speech):
    logmel = log_mel_spectrogram(speech, CFG)
    frames = len(speech) // CFG.hop_length + 1
    assert logmel.shape == (CFG.n_mels, frames)
    lin = log_mel_to_linear(logmel[None], CFG)
    assert lin.shape == (1, CFG.n_freq, frames) and float(lin.min()) >= 0
    wav = log_mel_to_audio(logmel[None], CFG, n_iter=4)
    assert wav.shape == (1, (frames - 1) * CFG.hop_length)
    assert torch.isfinite(wav).all() and float(wav.abs().max()) > 0
    assert log_mel_to_audio(logmel[None], CFG, n_iter=2, length=len(speech)).shape == (1, len(speech))


def test_mulaw_round_trip():
    x = torch.linspace(-1, 1, 20001)
    classes = mulaw_encode(x)
    assert classes.dtype == torch.long
    assert int(classes.min()) == 0 and int(classes.max()) == 255
    y = mulaw_decode(classes)
    # within half a quantisation step (the step is measured in the companded domain, then expanded)
    half = torch.maximum(mulaw_decode(classes.float() + 0.5) - y, y - mulaw_decode(classes.float() - 0.5))
    assert bool(((y - x).abs() <= half + 1e-6).all())
    assert torch.equal(mulaw_encode(mulaw_decode(torch.arange(256))), torch.arange(256))
    assert int(mulaw_encode(torch.tensor([2.0]))) == 255  # out-of-range input is clipped


def test_load_audio_resamples(speech_wav):
    native, sr = load_audio(speech_wav)
    assert sr == 22050
    wav, sr16 = load_audio(speech_wav, 16000)
    assert sr16 == 16000
    assert abs(len(wav) - len(native) * 16000 / 22050) <= 1


def test_load_audio_downmixes_stereo(tmp_path, speech):
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([speech, 0.5 * speech], axis=1), CFG.sample_rate, subtype="FLOAT")
    mono, sr = load_audio(path)
    assert sr == CFG.sample_rate and mono.ndim == 1
    np.testing.assert_allclose(mono, 0.75 * speech, atol=1e-6)


def test_load_audio_bad_files(tmp_path, speech_wav):
    with pytest.raises(BadInput, match="not found"):
        load_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="empty"):
        load_audio(empty)
    data = speech_wav.read_bytes()
    for n in (20, 44):  # cut inside the header, and right after it (no samples)
        cut = tmp_path / f"cut{n}.wav"
        cut.write_bytes(data[:n])
        with pytest.raises(BadInput) as err:
            load_audio(cut)
        assert "\n" not in str(err.value)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(BadInput, match="cannot decode"):
        load_audio(garbage)
    with pytest.raises(BadInput, match="folder"):
        load_audio(tmp_path)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_save_audio_round_trip(tmp_path, speech, suffix):
    out = save_audio(tmp_path / f"out{suffix}", speech, CFG.sample_rate)
    back, sr = load_audio(out)
    assert sr == CFG.sample_rate and len(back) == len(speech)
    assert np.abs(back - speech).max() <= 1.0 / 32768 + 1e-6  # PCM_16
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    # a torch tensor is accepted, and out-of-range values are clipped
    save_audio(out, torch.from_numpy(speech) * 10, CFG.sample_rate)
    assert np.abs(load_audio(out)[0]).max() <= 1.0


def test_save_audio_is_atomic(tmp_path, speech, monkeypatch):
    target = tmp_path / "take.wav"
    save_audio(target, speech, CFG.sample_rate)
    before = target.read_bytes()

    def failing_write(file, *args, **kwargs):
        with open(file, "wb") as f:
            f.write(b"RIFF half written")
        raise RuntimeError("disk full")

    monkeypatch.setattr(audio_io.sf, "write", failing_write)
    with pytest.raises(RuntimeError, match="disk full"):
        save_audio(target, np.zeros(100), CFG.sample_rate)
    assert target.read_bytes() == before  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["take.wav"]  # and no temp file is left
    with pytest.raises(BadInput):
        save_audio(tmp_path / "out.mp3", speech, CFG.sample_rate)
    with pytest.raises(BadInput):
        save_audio(tmp_path / "nope" / "out.wav", speech, CFG.sample_rate)


def test_trim_silence_keeps_margin(speech):
    import librosa

    # the speech proper: the voiced region without any margin
    _, (start, end) = librosa.effects.trim(speech, top_db=CFG.trim_top_db, frame_length=1024, hop_length=256)
    voiced = speech[start:end]
    margin = int(CFG.trim_margin_s * CFG.sample_rate)
    pad = np.zeros(CFG.sample_rate, dtype=np.float32)
    padded = np.concatenate([pad, voiced, pad])
    trimmed = trim_silence(padded, CFG)
    tolerance = 1024  # one analysis frame of librosa's trim
    assert len(voiced) + 2 * margin - tolerance <= len(trimmed) <= len(voiced) + 2 * margin + tolerance
    # nothing of the speech is lost
    assert np.sum(trimmed.astype(np.float64) ** 2) >= 0.999 * np.sum(voiced.astype(np.float64) ** 2)
    # where the result lies in the padded input: it is one contiguous piece of it
    offset = (len(pad) + np.flatnonzero(voiced)[0]) - np.flatnonzero(trimmed)[0]
    assert np.array_equal(padded[offset : offset + len(trimmed)], trimmed)
    before = len(pad) - offset
    after = offset + len(trimmed) - (len(pad) + len(voiced))
    hop = 256  # librosa's trim decides per frame of this hop
    assert margin - hop <= before <= margin + tolerance
    assert margin - hop <= after <= margin + tolerance
    # silence and empty input come back unchanged
    assert trim_silence(np.zeros(1000, np.float32), CFG).shape == (1000,)
    assert trim_silence(np.zeros(0, np.float32), CFG).shape == (0,)


class _Stream:
    """A PortAudio stream stand-in that records what was done to it."""

    def __init__(self, rate, fail_start=False):
        self.rate, self.fail_start, self.started, self.closed = rate, fail_start, False, False

    def start(self):
        if self.fail_start:
            raise OSError("Device unavailable [PaErrorCode -9985]\nmore detail")
        self.started = True

    def close(self):
        self.closed = True


class _SD:
    def query_devices(self, device, kind):
        assert kind in ("input", "output")
        return {"default_samplerate": 48000}


def test_open_started_stream_falls_back_to_the_device_rate_and_closes_what_does_not_start():
    from studio.audio_io import open_started_stream

    made = []

    def make(rate, fail_start=False):
        if rate != 48000:
            raise ValueError("Invalid sample rate")
        made.append(_Stream(rate, fail_start))
        return made[-1]

    stream, rate = open_started_stream(_SD(), make, 16000, None, "input")
    assert rate == 48000 and stream.started and not stream.closed
    with pytest.raises(RuntimeError, match=r"^Device unavailable \[PaErrorCode -9985\]$"):
        open_started_stream(_SD(), lambda r: make(r, fail_start=True), 16000, None, "output")
    assert made[-1].closed  # opened, failed to start, closed again

    def never(rate):
        raise ValueError("no such device")

    with pytest.raises(RuntimeError, match="no such device"):
        open_started_stream(_SD(), never, 16000, 3, "output")


def test_mono_at_rate_averages_channels_checks_and_resamples():
    from engine.audio.io import mono_at_rate
    from engine.errors import BadInput

    t = np.arange(4410) / 44100
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)
    wav, sr = mono_at_rate(np.stack([left, right], axis=1), 44100, 16000)
    assert sr == 16000 and wav.dtype == np.float32 and abs(len(wav) - 1600) <= 1
    assert abs(np.abs(wav).max() - 0.75) < 0.02  # the mean of the two channels
    same, sr = mono_at_rate(left, 44100)
    assert sr == 44100 and np.allclose(same, left, atol=1e-6)
    bad = left.copy()
    bad[10] = np.nan
    with pytest.raises(BadInput, match="the microphone holds invalid samples"):
        mono_at_rate(bad, 44100, what="the microphone")
    # Float samples stored unscaled (int16 values) come back at full scale; a loud but sane file (+20 dB
    # over full scale, a clipped float export) is left as it is.
    unscaled, _ = mono_at_rate(left * 32767.0, 44100)
    assert np.allclose(unscaled, left, atol=1e-5)
    loud, _ = mono_at_rate(left * 10.0, 44100)
    assert np.allclose(loud, left * 10.0, atol=1e-5)


def test_recognizer_hypotheses_do_not_depend_on_the_previous_clip(speech_wav):
    """WER figures compare renderings transcribed in different orders: one clip's hypothesis must not
    change with what was transcribed before it (pocketsphinx adapts its feature normalisation)."""
    pytest.importorskip("pocketsphinx")
    from engine.audio.io import load_audio
    from engine.evaluation.asr import Recognizer

    wav, sr = load_audio(speech_wav, 16000)
    rng = np.random.default_rng(0)
    noisy = (np.convolve(wav, np.ones(8) / 8, "same") + 0.05 * rng.standard_normal(len(wav))).astype(np.float32)
    rec = Recognizer()
    first = rec.transcribe(wav, sr)
    after_noise = []
    for _ in range(3):
        rec.transcribe(noisy, sr)
        after_noise.append(rec.transcribe(wav, sr))
    assert first and all(h == first for h in after_noise), (first, after_noise)
