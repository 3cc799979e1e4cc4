"""The bad-input catalogue: every case is either refused with one plain line on stderr, exit 2, no
traceback and no output file, or (inputs that are odd but valid) handled and written.

One parametrized test per family: text, audio, numbers, models, training, disk and devices. The CLI runs
in-process (engine.cli.main), so the whole catalogue costs seconds, not a process start per case.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.cli import main

REFUSED, WORKS = "refused", "works"


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return int(code or 0), out, err


def check(outcome: str, argv: list[str], output: Path, capsys, words: tuple[str, ...] = ()) -> None:
    code, out, err = run_cli(argv, capsys)
    assert "Traceback" not in err
    if outcome == REFUSED:
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, err
        assert len(lines) == 1, err
        for w in words:
            assert w.lower() in lines[0].lower(), lines[0]
        assert not output.exists(), "a refused request wrote its output"
        assert not [p for p in output.parent.iterdir() if p.name.startswith(".")], "a temporary file was left"
    else:
        assert code == 0, err
        info = sf.info(str(output))
        assert info.frames > 0


# ---------------------------------------------------------------------------------------------- text
TEXT_CASES = [
    ("empty", "", REFUSED, ("empty",)),
    ("whitespace", "   \n\t  ", REFUSED, ("empty",)),
    ("control characters", "\x01\x02\x07\x1b", REFUSED, ("nothing to speak",)),
    ("emoji only", "\U0001F600\U0001F680\U0001F44D", REFUSED, ("english",)),
    ("right-to-left only (Arabic)", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", REFUSED,
     ("english",)),
    ("right-to-left only (Hebrew)", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", REFUSED, ("english",)),
    ("punctuation only", "!!! ??? ... ;;", REFUSED, ("nothing to speak",)),
    ("digits only", "1234567", WORKS, ()),
    ("100,000 characters", "All work and no play makes a dull voice. " * 2500, REFUSED, ("at most",)),
]


@pytest.mark.parametrize("name,text,outcome,words", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text(name, text, outcome, words, tmp_path, capsys):
    out = tmp_path / "out.wav"
    check(outcome, ["say", text, "-o", out], out, capsys, words)


def test_text_file_cases(tmp_path, capsys):
    out = tmp_path / "out.wav"
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    check(REFUSED, ["say", "--file", latin1, "-o", out], out, capsys, ("utf-8",))
    check(REFUSED, ["say", "--file", tmp_path / "missing.txt", "-o", out], out, capsys, ("not found",))
    check(REFUSED, ["say", "text", "--file", latin1, "-o", out], out, capsys, ("not both",))


# ---------------------------------------------------------------------------------------------- audio
def _write_audio_cases(root: Path) -> dict[str, Path]:
    sr = 16000
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * sr)) / sr
    voiced = (0.3 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
    voiced += 0.01 * rng.standard_normal(len(t)).astype(np.float32)
    files = {}

    def put(name, data, rate, subtype="PCM_16", fmt=None):
        path = root / name
        sf.write(str(path), data, rate, subtype=subtype, format=fmt)
        files[name] = path

    (root / "zero.wav").write_bytes(b"")
    files["zero.wav"] = root / "zero.wav"
    put("good.wav", voiced, sr)
    raw = (root / "good.wav").read_bytes()
    (root / "truncated_header.wav").write_bytes(raw[:30])
    files["truncated_header.wav"] = root / "truncated_header.wav"
    (root / "truncated_data.wav").write_bytes(raw[: len(raw) // 2])
    files["truncated_data.wav"] = root / "truncated_data.wav"
    (root / "text.wav").write_text("this is not audio, only text with a .wav name\n")
    files["text.wav"] = root / "text.wav"
    (root / "noise.flac").write_bytes(b"fLaC" + bytes(rng.integers(0, 256, 400, dtype=np.uint8)))
    files["noise.flac"] = root / "noise.flac"
    (root / "unknown.xyz").write_bytes(bytes(rng.integers(0, 256, 4000, dtype=np.uint8)))
    files["unknown.xyz"] = root / "unknown.xyz"
    put("8k.wav", voiced[::2], 8000)
    import librosa

    put("96k.wav", librosa.resample(voiced, orig_sr=sr, target_sr=96000), 96000)
    put("6ch.wav", np.stack([voiced * (0.5 + 0.1 * c) for c in range(6)], axis=1), sr)
    hour = np.tile(voiced[::2], int(3600 / 1.5) + 1)[: 3600 * 8000]
    put("hour.wav", hour, 8000)
    put("silence.wav", np.zeros(sr * 2, dtype=np.float32), sr)
    put("clipped.wav", np.clip(voiced * 8, -1, 1), sr)
    nan = voiced.copy()
    nan[100:200] = np.nan
    nan[300] = np.inf
    put("nan.wav", nan, sr, subtype="FLOAT")
    put("50ms.wav", voiced[: sr // 20], sr)
    put("unscaled_float.wav", voiced * 32767.0, sr, subtype="FLOAT")  # int16 values stored as float
    (root / "folder.wav").mkdir()
    files["folder.wav"] = root / "folder.wav"
    return files


@pytest.fixture(scope="module")
def audio_cases(tmp_path_factory):
    return _write_audio_cases(tmp_path_factory.mktemp("audio-cases"))


AUDIO_CASES = [
    ("missing.wav", REFUSED, ("not found",)),
    ("zero.wav", REFUSED, ("empty",)),
    ("truncated_header.wav", REFUSED, ()),
    ("truncated_data.wav", REFUSED, ("truncated",)),
    ("text.wav", REFUSED, ("decode",)),
    ("noise.flac", REFUSED, ("decode",)),
    ("unknown.xyz", REFUSED, ("decode",)),
    ("folder.wav", REFUSED, ("folder",)),
    ("8k.wav", WORKS, ()),
    ("96k.wav", WORKS, ()),
    ("6ch.wav", WORKS, ()),
    ("hour.wav", WORKS, ()),
    ("silence.wav", REFUSED, ("sound",)),
    ("clipped.wav", WORKS, ()),
    ("nan.wav", REFUSED, ("nan",)),
    ("unscaled_float.wav", WORKS, ()),
    ("50ms.wav", REFUSED, ("shorter",)),
]


@pytest.mark.parametrize("name,outcome,words", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_audio_as_style_reference(name, outcome, words, audio_cases, tmp_path, capsys):
    src = audio_cases.get(name, tmp_path / name)
    out = tmp_path / "out.wav"
    check(outcome, ["say", "A short test.", "--style-ref", src, "-o", out], out, capsys, words)


# The same files as conversion sources (an hour converts in pieces: minutes, not a test). The converter
# words two refusals its own way: a silent file, and one too short to hold speech.
CONVERT_WORDS = {"silence.wav": ("silent",), "50ms.wav": ("no speech",)}
CONVERT_CASES = [(name, outcome, CONVERT_WORDS.get(name, words)) for name, outcome, words in AUDIO_CASES
                 if name != "hour.wav"]


@pytest.mark.parametrize("name,outcome,words", CONVERT_CASES, ids=[c[0] for c in CONVERT_CASES])
def test_audio_as_conversion_source(name, outcome, words, audio_cases, tmp_path, capsys):
    src = audio_cases.get(name, tmp_path / name)
    out = tmp_path / "out.wav"
    check(outcome, ["convert", src, "-o", out], out, capsys, words)


# ---------------------------------------------------------------------------------------------- numbers
NUMBER_CASES = [
    ("seed negative", ["say", "Hi there.", "--seed", "-1"], ("seed",)),
    ("seed too large", ["say", "Hi there.", "--seed", str(2**40)], ("seed",)),
    ("seed not a number", ["say", "Hi there.", "--seed", "abc"], ("seed",)),
    ("style weight nan", ["say", "Hi there.", "--style-weights", "nan" + ",0" * 9], ("finite",)),
    ("style weight inf", ["say", "Hi there.", "--style-weights", "inf" + ",0" * 9], ("finite",)),
    ("style weight huge", ["say", "Hi there.", "--style-weights", "1e9" + ",0" * 9], ("finite",)),
    ("style weights wrong count", ["say", "Hi there.", "--style-weights", "0.5,0.5"], ("10 values",)),
    ("style weights not numbers", ["say", "Hi there.", "--style-weights", "a,b"], ("numbers",)),
    ("max steps negative", ["train", "tacotron", "--data", ".", "--out", "RUN", "--max-steps", "-5"], ("step",)),
    ("threads negative", ["train", "tacotron", "--data", ".", "--out", "RUN", "--threads", "-1"], ("thread",)),
    ("nproc zero", ["train", "tacotron", "--data", ".", "--out", "RUN", "--nproc", "0"], ("process",)),
    ("corpus jobs zero", ["corpus", "build", "--out", "RUN", "--jobs", "0"], ("job",)),
    ("corpus sample rate tiny", ["corpus", "build", "--out", "RUN", "--sample-rate", "100"], ("sample rate",)),
    ("bench repeats zero", ["bench", "--repeats", "0"], ("repeat",)),
    ("eval limit zero", ["eval", "tts", "--limit", "0"], ("sentence count",)),
]


@pytest.mark.parametrize("name,argv,words", NUMBER_CASES, ids=[c[0] for c in NUMBER_CASES])
def test_numbers(name, argv, words, tmp_path, capsys):
    out = tmp_path / "out.wav"
    argv = [str(tmp_path / "run") if a == "RUN" else a for a in argv]
    if argv[0] == "say":
        argv += ["-o", out]
    check(REFUSED, argv, out, capsys, words)
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------- models
def _default_bundle() -> Path:
    from engine.bundle import resolve

    return resolve("default")


def _copy_bundle(dst: Path) -> Path:
    shutil.copytree(_default_bundle(), dst)
    return dst


def _model_case(name: str, root: Path) -> Path:
    d = root / name
    if name == "missing folder":
        return root / "no-such-model"
    if name == "empty folder":
        d.mkdir()
        return d
    _copy_bundle(d)
    cfg_path = d / "config.json"
    cfg = json.loads(cfg_path.read_text())
    if name == "missing weights":
        (d / "model.safetensors").unlink()
    elif name == "corrupt safetensors":
        (d / "model.safetensors").write_bytes(b"\x00\x01 this is not safetensors" * 10)
    elif name == "truncated safetensors":
        data = (d / "model.safetensors").read_bytes()
        (d / "model.safetensors").write_bytes(data[: len(data) // 3])
    elif name == "config not JSON":
        cfg_path.write_text("{kind: tacotron, this is not json")
    elif name == "config a JSON list":
        cfg_path.write_text("[1, 2, 3]")
    elif name == "future format_version":
        cfg["format_version"] = 99
        cfg_path.write_text(json.dumps(cfg))
    elif name == "unknown kind":
        cfg["kind"] = "transformer-xl"
        cfg_path.write_text(json.dumps(cfg))
    elif name == "shape mismatch":
        cfg["decoder_dim"] = cfg["decoder_dim"] // 2
        cfg_path.write_text(json.dumps(cfg))
    elif name == "unknown config field":
        cfg["frobnicate"] = 3
        cfg_path.write_text(json.dumps(cfg))
    elif name == "pickle weights":
        import pickle

        (d / "model.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    elif name == "pickle only":
        (d / "model.safetensors").unlink()
        (d / "model.pt").write_bytes(b"\x80\x04\x95 pickle bytes")
    elif name == "wrong kind":
        cfg["kind"] = "wavenet"
        cfg_path.write_text(json.dumps(cfg))
    return d


MODEL_CASES = [
    ("missing folder", ("unknown model",)),
    ("empty folder", ("config.json",)),
    ("missing weights", ("model.safetensors",)),
    ("corrupt safetensors", ("cannot be read",)),
    ("truncated safetensors", ("cannot be read",)),
    ("config not JSON", ("json",)),
    ("config a JSON list", ("kind",)),
    ("future format_version", ("newer",)),
    ("unknown kind", ("unknown model kind",)),
    ("shape mismatch", ("do not match",)),
    ("unknown config field", ("frobnicate",)),
    ("pickle weights", ("cannot be read",)),
    ("pickle only", ("model.safetensors",)),
    ("wrong kind", ("not a tacotron",)),
]


@pytest.mark.parametrize("name,words", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_models(name, words, tmp_path, capsys):
    model = _model_case(name, tmp_path)
    out = tmp_path / "out.wav"
    check(REFUSED, ["say", "Hello.", "--model", model, "-o", out], out, capsys, words)


VOCODER_CASES = [
    ("a voice as the vocoder", "default", ("not a vocoder",)),
    ("unknown vocoder", "no-such-vocoder", ("unknown model",)),
]


@pytest.mark.parametrize("name,spec,words", VOCODER_CASES, ids=[c[0] for c in VOCODER_CASES])
def test_vocoder_choice(name, spec, words, tmp_path, capsys):
    out = tmp_path / "out.wav"
    check(REFUSED, ["say", "Hello.", "--vocoder", spec, "-o", out], out, capsys, words)


def test_polisher_for_another_partner(tmp_path, capsys, monkeypatch):
    """An explicit polisher trained for another model is refused (engine.inference.polisher)."""
    from engine.bundle import save_bundle
    from engine.errors import BadInput
    from engine.inference.polisher import load_polisher

    models = tmp_path / "data" / "models"
    save_bundle(models / "p-other", {"kind": "polisher", "partner": "someone-else"}, {}, "# p\n")
    monkeypatch.setenv("PRUFROCK_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(BadInput, match="trained for 'someone-else'"):
        load_polisher("default", str(models / "p-other"))
    with pytest.raises(BadInput, match="no polisher is installed"):
        load_polisher("a-voice-without-polisher")


# ---------------------------------------------------------------------------------------------- training
def _training_case(name: str, root: Path) -> list[str]:
    data = root / "data"
    if name == "data folder missing":
        return ["train", "tacotron", "--data", root / "nowhere", "--out", root / "run"]
    data.mkdir()
    if name == "no usable file":
        (data / "metadata.csv").write_text("a|hello there|hello there\n")
        (data / "wavs").mkdir()
        return ["train", "tacotron", "--data", data, "--out", root / "run"]
    if name == "empty folder":
        return ["train", "tacotron", "--data", data, "--out", root / "run"]
    if name == "resume without checkpoints":
        return ["train", "tacotron", "--data", data, "--out", root / "run", "--resume"]
    if name == "config file not JSON":
        (root / "cfg.json").write_text("{not json")
        return ["train", "tacotron", "--data", data, "--out", root / "run", "--config", root / "cfg.json"]
    if name == "config file unknown field":
        (root / "cfg.json").write_text('{"batch_sizee": 3}')
        return ["train", "tacotron", "--data", data, "--out", root / "run", "--config", root / "cfg.json"]
    if name == "unknown preset":
        return ["train", "tacotron", "--data", data, "--out", root / "run", "--preset", "gigantic"]
    raise AssertionError(name)


TRAINING_CASES = [
    ("data folder missing", ("not found",)),
    ("no usable file", ()),
    ("empty folder", ()),
    ("resume without checkpoints", ()),
    ("config file not JSON", ("json",)),
    ("config file unknown field", ("batch_sizee",)),
    ("unknown preset", ("preset",)),
]


@pytest.mark.parametrize("name,words", TRAINING_CASES, ids=[c[0] for c in TRAINING_CASES])
def test_training(name, words, tmp_path, capsys):
    argv = _training_case(name, tmp_path)
    code, out, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("features:")]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    for w in words:
        assert w.lower() in lines[0].lower()
    assert not (tmp_path / "run" / "checkpoints").exists()


# ---------------------------------------------------------------------------------------------- disk and devices
def test_output_folder_missing(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "folder" / "out.wav"
    code, _, err = run_cli(["say", "Hello.", "-o", out], capsys)
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_output_format_unknown(tmp_path, capsys):
    out = tmp_path / "out.mp4"
    check(REFUSED, ["say", "Hello.", "-o", out], out, capsys, (".wav",))


def test_full_disk_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    """A disk that fills up while writing: one line, the previous export intact, no temp file."""
    import errno

    out = tmp_path / "out.wav"
    sf.write(str(out), np.zeros(1600, dtype=np.float32), 16000)
    before = out.read_bytes()

    def full_disk(path, *args, **kwargs):
        Path(path).write_bytes(b"RIFF partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sf, "write", full_disk)
    code, _, err = run_cli(["say", "Hello.", "-o", out], capsys)
    assert code == 2 and "No space left" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_cuda_requested_but_absent(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out.wav"
    check(REFUSED, ["say", "Hello.", "--device", "cuda", "-o", out], out, capsys, ("cuda",))


def test_riff_size_check_is_exact(tmp_path):
    """The truncated-data case above relies on the header's declared size: a complete file passes."""
    from engine.audio.io import load_audio

    path = tmp_path / "ok.wav"
    sf.write(str(path), np.zeros(3200, dtype=np.float32), 16000)
    wav, sr = load_audio(path)
    assert sr == 16000 and len(wav) == 3200
    raw = path.read_bytes()
    assert struct.unpack("<I", raw[40:44])[0] == 6400


def test_cuda_out_of_memory_during_synthesis_retries_on_the_cpu(tmp_path, capsys, monkeypatch):
    """The first render runs out of CUDA memory: the take is made on the CPU, with a one-line notice."""
    import torch

    from engine.inference import cpu_fallback
    from engine.inference.pipeline import Pipeline

    real_render, calls = Pipeline.render, []

    def render(self, request, cancel=None, segments=None):
        calls.append(self.source.device.type)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_render(self, request, cancel=cancel, segments=segments)

    monkeypatch.setattr(Pipeline, "render", render)
    monkeypatch.setattr(cpu_fallback, "on_cuda", lambda pipeline: len(calls) == 1)  # as if the first were on CUDA
    out = tmp_path / "out.wav"
    code, _, err = run_cli(["say", "A short test.", "-o", out], capsys)
    assert code == 0 and sf.info(str(out)).frames > 0, err
    assert len(calls) == 2 and calls[1] == "cpu"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2 and "CUDA ran out of memory" in lines[0] and "Traceback" not in err


def test_out_of_memory_on_the_cpu_is_not_retried():
    import torch

    from engine.inference.cpu_fallback import render_with_cpu_fallback

    class Source:
        device = torch.device("cpu")

    class Failing:
        source = Source()

        def render(self, request, cancel=None, segments=None):
            raise torch.OutOfMemoryError("out of memory")

    built = []
    with pytest.raises(torch.OutOfMemoryError):
        render_with_cpu_fallback(lambda device: (built.append(device) or Failing(), None, None), notice=built.append)
    assert built == [None]


def test_engine_process_moves_to_the_cpu_after_cuda_out_of_memory(monkeypatch):
    """The studio's engine process: a synthesis that runs out of CUDA memory is made again on the CPU,
    the window gets a notice and the take, not a failure."""
    import torch

    from engine.inference.pipeline import Pipeline
    from engine.paths import BUNDLED_MODELS
    from studio.engine_process import Engine

    class Events:
        def __init__(self):
            self.sent = []

        def send(self, msg):
            self.sent.append(msg)

    class Control:
        def poll(self):
            return False

    events = Events()
    engine = Engine(None, events, Control())
    engine.do_load_voice(str(BUNDLED_MODELS / "default"), "cpu")
    engine.do_load_vocoder("griffinlim")
    assert engine.source is not None and engine.vocoder is not None, events.sent
    engine.source.device = torch.device("cuda")  # as if the voice had loaded on a GPU
    real_stream, calls = Pipeline.stream, []

    def stream(self, request, cancel=None, **kw):
        calls.append(self.source.device.type)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        yield from real_stream(self, request, cancel=cancel, **kw)

    monkeypatch.setattr(Pipeline, "stream", stream)
    events.sent.clear()
    engine.do_speak({"id": 1, "text": "Hello there."})
    kinds = [m[0] for m in events.sent]
    assert calls == ["cuda", "cpu"] and "failed" not in kinds and "take" in kinds, kinds
    notice = [m for m in events.sent if m[0] == "notice"]
    assert len(notice) == 1 and "CUDA ran out of memory" in notice[0][1]
    assert engine.source.device.type == "cpu"


def test_training_skips_and_counts_unreadable_files(multispeaker_corpus, tmp_path, capsys, monkeypatch):
    """A corpus where some recordings are empty or not audio: they are skipped and counted, and the run
    trains on the rest."""
    data = Path(shutil.copytree(multispeaker_corpus, tmp_path / "data"))
    wavs = sorted(data.rglob("*.wav"))
    wavs[0].write_bytes(b"")
    wavs[1].write_text("not audio at all\n")
    monkeypatch.setenv("PRUFROCK_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"loop": {"val_every": 1000, "checkpoint_every": 1000}}))
    code, _, err = run_cli(["train", "tacotron", "--data", data, "--out", tmp_path / "run", "--preset", "tiny",
                            "--max-steps", "2", "--config", cfg], capsys)
    assert code == 0, err
    assert f"skipped 2 of {len(wavs)} recordings" in err and "Traceback" not in err
    events = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "end" and events[-1]["step"] == 2


def test_export_into_a_read_only_folder(tmp_path, capsys, monkeypatch):
    """A folder the user may not write: one line, exit 2, nothing left behind. As root (CI) a chmod does
    not stop a write, so there the refusal of the file system is simulated."""
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "out.wav"
    if os.geteuid() == 0:
        def denied(*a, **k):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(sf, "write", denied)
    else:
        folder.chmod(0o555)
    try:
        code, _, err = run_cli(["say", "Hello.", "-o", out], capsys)
    finally:
        folder.chmod(0o755)
    assert code == 2 and "Permission denied" in err and len(err.strip().splitlines()) == 1, err
    assert list(folder.iterdir()) == []
