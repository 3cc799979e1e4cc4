"""Shared fixtures: real speech rendered with espeak-ng, laid out as each corpus layout reads it."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tiny test models run fastest on one thread, and two busy threads on a 2-core machine starve
# each other.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SENTENCES = [
    "Author of the danger trail, Philip Steels, etc.",
    "Not at this particular case, Tom, apologized Whittemore.",
    "For the twentieth time that evening the two men shook hands.",
    "Lord, but I'm glad to see you again, Phil.",
    "Will we ever forget it.",
    "God bless them, I hope I'll go on seeing them forever.",
    "And you always want to see it in the superlative degree.",
    "Gad, your letter came just in time.",
]
ARCTIC_IDS = [f"arctic_a{i:04d}" for i in range(1, len(SENTENCES) + 1)]
VOICES = {
    "espeak_a": ["-v", "en-us"],
    "espeak_b": ["-v", "en-us+f3", "-p", "70", "-s", "190"],
}
STYLES = {"espeak_a": "pitch=+0.0;rate=1.00", "espeak_b": "pitch=+2.0;rate=1.10"}


def render(text: str, out: Path, voice_args=("-v", "en-us")) -> Path:
    """Speak `text` with espeak-ng into the WAV file `out` (22050 Hz mono 16-bit)."""
    subprocess.run(["espeak-ng", *voice_args, "-w", str(out), text], check=True, capture_output=True, timeout=60)
    return out


@pytest.fixture(scope="session")
def sentences():
    return list(SENTENCES)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """{voice: [wav path per sentence]} for the two espeak voices."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): speech fixtures need it")
    root = tmp_path_factory.mktemp("rendered")
    out = {}
    for voice, args in VOICES.items():
        (root / voice).mkdir()
        out[voice] = [render(s, root / voice / f"{i:02d}.wav", args) for i, s in enumerate(SENTENCES)]
    return out


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory):
    """One rendered sentence (22050 Hz mono 16-bit WAV)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng): speech fixtures need it")
    return render(SENTENCES[0], tmp_path_factory.mktemp("speech") / "sentence.wav")


@pytest.fixture(scope="session")
def ljspeech_corpus(tmp_path_factory, rendered):
    """Single-speaker LJSpeech: metadata.csv (ID|TEXT|NORMALIZED_TEXT) + wavs/ID.wav.

    Row 1 has a normalised text that differs ("etc." -> "et cetera"), row 2 an empty normalised
    column and double quotes inside the text (LJSpeech uses no CSV quoting)."""
    root = tmp_path_factory.mktemp("LJSpeech-1.1")
    (root / "wavs").mkdir()
    rows = []
    for i, (sentence, wav) in enumerate(zip(SENTENCES, rendered["espeak_a"]), start=1):
        uid = f"LJ001-{i:04d}"
        shutil.copy(wav, root / "wavs" / f"{uid}.wav")
        text, norm = sentence, sentence
        if i == 1:
            norm = sentence.replace("etc.", "et cetera")
        if i == 2:
            text, norm = '"Not at this particular case, Tom," apologized Whittemore.', ""
        rows.append(f"{uid}|{text}|{norm}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def multispeaker_corpus(tmp_path_factory, rendered):
    """The corpus builder's variant: ID SPEAKER/UTTID, audio wavs/SPEAKER/UTTID.wav, SPEAKER and STYLE
    columns; two speakers with the same utterance ids."""
    root = tmp_path_factory.mktemp("multispeaker")
    rows = []
    for speaker, wavs in rendered.items():
        (root / "wavs" / speaker).mkdir(parents=True)
        for uid, sentence, wav in zip(ARCTIC_IDS, SENTENCES, wavs):
            shutil.copy(wav, root / "wavs" / speaker / f"{uid}.wav")
            rows.append(f"{speaker}/{uid}|{sentence}|{sentence}|{speaker}|{STYLES[speaker]}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def arctic_corpus(tmp_path_factory, rendered):
    """CMU ARCTIC: cmu_us_esp_arctic/etc/txt.done.data + wav/ID.wav (speaker "esp")."""
    root = tmp_path_factory.mktemp("arctic") / "cmu_us_esp_arctic"
    (root / "etc").mkdir(parents=True)
    (root / "wav").mkdir()
    lines = []
    for uid, sentence, wav in zip(ARCTIC_IDS, SENTENCES, rendered["espeak_a"]):
        shutil.copy(wav, root / "wav" / f"{uid}.wav")
        lines.append(f'( {uid} "{sentence}" )')
    (root / "etc" / "txt.done.data").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def vctk_corpus(tmp_path_factory, rendered):
    """VCTK 0.92: txt/pXXX/pXXX_NNN.txt + wav48_silence_trimmed/pXXX/pXXX_NNN_mic1.flac, speakers
    p225 (voice a) and p226 (voice b)."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("VCTK-Corpus-0.92")
    for speaker, voice in (("p225", "espeak_a"), ("p226", "espeak_b")):
        (root / "txt" / speaker).mkdir(parents=True)
        (root / "wav48_silence_trimmed" / speaker).mkdir(parents=True)
        for i, (sentence, wav) in enumerate(zip(SENTENCES, rendered[voice]), start=1):
            stem = f"{speaker}_{i:03d}"
            (root / "txt" / speaker / f"{stem}.txt").write_text(sentence + "\n", encoding="utf-8")
            data, sr = sf.read(str(wav))
            sf.write(str(root / "wav48_silence_trimmed" / speaker / f"{stem}_mic1.flac"), data, sr)
    return root


@pytest.fixture(scope="session")
def list_corpus(tmp_path_factory, rendered):
    """A list file train.list of lines `audio/NAME.wav|text|speaker` (speaker left out on one line)."""
    root = tmp_path_factory.mktemp("listcorpus")
    (root / "audio").mkdir()
    lines = []
    for voice, wavs in rendered.items():
        for i, (sentence, wav) in enumerate(zip(SENTENCES[:4], wavs[:4]), start=1):
            name = f"{voice}_{i:02d}"
            shutil.copy(wav, root / "audio" / f"{name}.wav")
            lines.append(f"audio/{name}.wav|{sentence}|{voice}")
    lines[-1] = lines[-1].rsplit("|", 1)[0]  # no speaker column: "default"
    (root / "train.list").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "train.list"


@pytest.fixture(scope="module")
def user_data(tmp_path_factory, request):
    """The user data folder (kept takes, runs, installed models) of one test module's studio windows:
    $PRUFROCK_DATA_DIR points at ROOT/data, a temporary folder of that module."""
    root = tmp_path_factory.mktemp(request.module.__name__.replace("test_", "") + "-user")
    mp = pytest.MonkeyPatch()
    mp.setenv("PRUFROCK_DATA_DIR", str(root / "data"))
    yield root
    mp.undo()

