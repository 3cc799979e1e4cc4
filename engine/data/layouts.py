"""Corpus readers: LJSpeech (and the corpus builder's multi-speaker variant), CMU ARCTIC, VCTK, and
plain list files. Each returns a list of Utterance; problems the user can fix raise BadInput with one
line that says which file is wrong."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from engine.data.utterance import Utterance
from engine.errors import BadInput

log = logging.getLogger(__name__)

LAYOUTS = ("ljspeech", "arctic", "vctk", "list")
LIST_SUFFIXES = (".txt", ".list", ".csv")
VCTK_AUDIO_DIRS = ("wav48_silence_trimmed", "wav48")
ACCEPTED = (
    "an LJSpeech folder (metadata.csv + wavs/), a CMU ARCTIC folder (etc/txt.done.data + wav/), "
    "a VCTK folder (txt/ + wav48/ or wav48_silence_trimmed/) or a list file (.txt/.list/.csv with "
    "lines path|text|speaker)"
)

_ARCTIC_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)\s*$')
_ARCTIC_FOLDER = re.compile(r"^cmu_us_(.+?)_arctic$")


def parse_style(spec: str, where: str = "") -> dict:
    """"pitch=+2.0;rate=1.10" -> {"pitch": 2.0, "rate": 1.1}; "" -> {}."""
    style: dict = {}
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            style[name.strip()] = float(value)
        except ValueError:
            raise BadInput(
                f"bad style {spec!r}{' in ' + where if where else ''}: write it as name=number;name=number"
            ) from None
    return style


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the non-blank lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text (re-save it as UTF-8)") from None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = [(n, line.rstrip("\r\n")) for n, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line.strip()]
    if not lines:
        raise BadInput(f"{path} is empty: it lists no utterances")
    return lines


def _check_audio(utts: list[Utterance], where: Path) -> list[Utterance]:
    missing = [u.audio_path for u in utts if not u.audio_path.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise BadInput(f"audio file missing: {missing[0]}{more}, listed in {where}")
    return utts


# --------------------------------------------------------------------------------------------- LJSpeech


def read_ljspeech(root: str | os.PathLike) -> list[Utterance]:
    """metadata.csv (ID|TEXT|NORMALIZED_TEXT[|SPEAKER[|STYLE]]) + wavs/ID.wav.

    An ID of the form SPEAKER/UTTID (the corpus builder's multi-speaker variant) gives Utterance.id
    UTTID and, when the SPEAKER column is empty, speaker SPEAKER.
    """
    root = Path(root)
    if root.is_file():
        meta, root = root, root.parent
    else:
        meta = root / "metadata.csv"
    if not meta.is_file():
        raise BadInput(f"{root} has no metadata.csv: expected {ACCEPTED}")
    utts = []
    for n, line in _read_lines(meta):
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 2 or not cols[0]:
            raise BadInput(f"{meta} line {n}: expected ID|TEXT|NORMALIZED_TEXT, got {line[:60]!r}")
        full_id = cols[0]
        text = cols[2] if len(cols) > 2 and cols[2] else cols[1]
        prefix, _, utt_id = full_id.rpartition("/")
        speaker = cols[3] if len(cols) > 3 and cols[3] else (prefix.replace("/", "_") or "default")
        style = parse_style(cols[4], f"{meta} line {n}") if len(cols) > 4 else {}
        utts.append(Utterance(utt_id, root / "wavs" / f"{full_id}.wav", text, speaker, style))
    return _check_audio(utts, meta)


# ------------------------------------------------------------------------------------------- CMU ARCTIC


def arctic_speaker(folder: Path) -> str:
    """cmu_us_slt_arctic -> "slt"; any other folder name is used as it is."""
    name = folder.resolve().name
    m = _ARCTIC_FOLDER.match(name)
    return m.group(1) if m else name


def read_arctic(root: str | os.PathLike) -> list[Utterance]:
    """etc/txt.done.data lines `( arctic_a0001 "Text." )` + wav/ID.wav; speaker from the folder name."""
    root = Path(root)
    meta = root / "etc" / "txt.done.data"
    if not meta.is_file():
        raise BadInput(f"{root} has no etc/txt.done.data: expected {ACCEPTED}")
    speaker = arctic_speaker(root)
    utts = []
    for n, line in _read_lines(meta):
        m = _ARCTIC_LINE.match(line.strip())
        if not m:
            raise BadInput(f'{meta} line {n}: expected ( ID "text" ), got {line[:60]!r}')
        utt_id, text = m.group(1), m.group(2).strip()
        utts.append(Utterance(utt_id, root / "wav" / f"{utt_id}.wav", text, speaker))
    return _check_audio(utts, meta)


# ------------------------------------------------------------------------------------------------- VCTK


def _vctk_audio(audio_dirs: list[Path], speaker: str, stem: str) -> Path | None:
    for d in audio_dirs:
        for name in (f"{stem}.wav", f"{stem}_mic1.flac", f"{stem}_mic2.flac", f"{stem}.flac"):
            p = d / speaker / name
            if p.is_file():
                return p
    return None


def read_vctk(root: str | os.PathLike) -> list[Utterance]:
    """txt/pXXX/pXXX_YYY.txt + wav48/pXXX/pXXX_YYY.wav or wav48_silence_trimmed/pXXX/pXXX_YYY_mic1.flac.

    Speaker "pXXX", id "YYY" (the sentence number, shared across speakers). The published corpus has
    a few texts without recordings: those are skipped with a warning; no recording at all is BadInput.
    """
    root = Path(root)
    txt_dir = root / "txt"
    audio_dirs = [root / d for d in VCTK_AUDIO_DIRS if (root / d).is_dir()]
    if not txt_dir.is_dir() or not audio_dirs:
        raise BadInput(f"{root} is not a VCTK folder: expected {ACCEPTED}")
    utts, skipped = [], []
    for spk_dir in sorted(p for p in txt_dir.iterdir() if p.is_dir()):
        speaker = spk_dir.name
        for txt in sorted(spk_dir.glob("*.txt")):
            stem = txt.stem
            text = txt.read_text(encoding="utf-8", errors="replace").strip()
            if not text:
                continue
            audio = _vctk_audio(audio_dirs, speaker, stem)
            if audio is None:
                skipped.append(txt)
                continue
            utt_id = stem[len(speaker) + 1 :] if stem.startswith(speaker + "_") else stem
            utts.append(Utterance(utt_id, audio, text, speaker))
    if skipped:
        log.warning("VCTK: %d texts have no recording and were skipped (first: %s)", len(skipped), skipped[0])
    if not utts:
        first = f" (no recording for {skipped[0]})" if skipped else ""
        raise BadInput(f"{root}: no VCTK utterance has both a text and a recording{first}")
    return utts


# -------------------------------------------------------------------------------------------- list file


def read_list(path: str | os.PathLike) -> list[Utterance]:
    """A text file of lines `path|text|speaker` (speaker optional, an optional 4th column STYLE);
    relative paths are relative to the list file's folder; the id is the audio file's stem."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"list file not found: {path}")
    utts = []
    for n, line in _read_lines(path):
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 2 or not cols[0]:
            raise BadInput(f"{path} line {n}: expected path|text|speaker, got {line[:60]!r}")
        audio = Path(cols[0]).expanduser()
        if not audio.is_absolute():
            audio = path.parent / audio
        speaker = cols[2] if len(cols) > 2 and cols[2] else "default"
        style = parse_style(cols[3], f"{path} line {n}") if len(cols) > 3 else {}
        utts.append(Utterance(audio.stem, audio, cols[1], speaker, style))
    return _check_audio(utts, path)


# ------------------------------------------------------------------------------------------- detection

READERS = {"ljspeech": read_ljspeech, "arctic": read_arctic, "vctk": read_vctk, "list": read_list}


def detect_layout(path: str | os.PathLike) -> str:
    """"ljspeech" | "arctic" | "vctk" | "list" for a corpus folder (or a list / metadata.csv file)."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"corpus not found: {path} (check the path)")
    if path.is_file():
        if path.name == "metadata.csv" and (path.parent / "wavs").is_dir():
            return "ljspeech"
        if path.suffix.lower() in LIST_SUFFIXES:
            return "list"
        raise BadInput(f"{path} is in no known corpus layout: expected {ACCEPTED}")
    if (path / "metadata.csv").is_file():
        return "ljspeech"
    if (path / "etc" / "txt.done.data").is_file():
        return "arctic"
    if (path / "txt").is_dir() and any((path / d).is_dir() for d in VCTK_AUDIO_DIRS):
        return "vctk"
    raise BadInput(f"{path} is in no known corpus layout: expected {ACCEPTED}")


def read_corpus(path: str | os.PathLike, layout: str | None = None) -> list[Utterance]:
    """Read a corpus in the given layout, or the detected one when `layout` is None."""
    if layout is None:
        layout = detect_layout(path)
    elif layout not in READERS:
        raise BadInput(f"unknown corpus layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    elif not Path(path).exists():
        raise BadInput(f"corpus not found: {path} (check the path)")
    return READERS[layout](path)
