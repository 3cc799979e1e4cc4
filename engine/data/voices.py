"""The system's speech synthesisers used as corpus voices: festival, flite and espeak-ng.

Voice specs:

- `slt`, `kal`, `ked` or `festival:NAME`: festival voices (cmu_us_slt_arctic_hts, kal_diphone,
  ked_diphone); corpus speakers `slt`, `kal`, `ked`.
- `flite:NAME`: a voice built into flite (`awb`, `rms`, `slt`, `kal16`, `kal`); speaker `flite-NAME`.
- `espeak` (en-us) or `espeak:VARIANT` (any espeak-ng voice, e.g. `en-gb`, `en-us+f3`); speaker
  `espeak` / `espeak-VARIANT` with `+` and `/` written as `-`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput

FESTIVAL_VOICES = {
    # spec: (festival voice function, voice folder name, apt package)
    "slt": ("voice_cmu_us_slt_arctic_hts", "cmu_us_slt_arctic_hts", "festvox-us-slt-hts"),
    "kal": ("voice_kal_diphone", "kal_diphone", "festvox-kallpc16k"),
    "ked": ("voice_ked_diphone", "ked_diphone", "festvox-kdlpc16k"),
}
FESTIVAL_VOICE_ROOTS = [Path("/usr/share/festival/voices"), Path("/usr/local/share/festival/voices")]
FLITE_VOICES = ("awb", "rms", "slt", "kal16", "kal")
"""Voices compiled into Debian's flite binary (`flite -lv`)."""

ALL_VOICES = ("slt", "kal", "ked", "flite:awb", "flite:rms", "flite:slt", "flite:kal16",
              "espeak:en-us", "espeak:en-us+f3", "espeak:en-gb", "espeak:en-gb+f4")
"""Every English system voice the corpus builder knows (target first)."""


@dataclass(frozen=True)
class SystemVoice:
    spec: str
    """The normalised spec (`festival:slt`, `flite:awb`, `espeak:en-gb`, ...)."""
    speaker: str
    """Speaker name used in the corpus (folder names and the speaker column)."""

    @property
    def engine(self) -> str:
        """`festival`, `flite` or `espeak`."""
        return self.spec.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.spec.split(":", 1)[1] if ":" in self.spec else "en-us"

    def check(self) -> None:
        """Raise BadInput naming the apt package when the program or voice is missing."""
        if self.engine == "espeak":
            if shutil.which("espeak-ng") is None:
                raise BadInput("espeak-ng is not installed: run 'sudo apt-get install espeak-ng'")
            return
        if self.engine == "flite":
            if shutil.which("flite") is None:
                raise BadInput("flite is not installed: run 'sudo apt-get install flite'")
            return
        func, folder, package = FESTIVAL_VOICES[self.name]
        if shutil.which("text2wave") is None:
            raise BadInput(f"festival is not installed: run 'sudo apt-get install festival {package}'")
        if not any((root / sub / folder).exists() for root in FESTIVAL_VOICE_ROOTS
                   for sub in ("us", "english", "")):
            raise BadInput(f"festival voice {folder} is not installed: run 'sudo apt-get install {package}'")

    def available(self) -> bool:
        try:
            self.check()
        except BadInput:
            return False
        return True

    def render(self, text: str, out_wav: Path, timeout: float = 120.0) -> None:
        """Speak `text` into `out_wav` (the synthesiser's native sample rate)."""
        if self.engine == "espeak":
            cmd = ["espeak-ng", "-v", self.name, "-w", str(out_wav), "--stdin"]
            proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout)
        elif self.engine == "flite":
            cmd = ["flite", "-voice", self.name, "-t", text, "-o", str(out_wav)]
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        else:
            func = FESTIVAL_VOICES[self.name][0]
            cmd = ["text2wave", "-eval", f"({func})", "-o", str(out_wav)]
            proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout)
        if proc.returncode != 0 or not out_wav.exists() or out_wav.stat().st_size < 100:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{self.spec} failed on {text[:40]!r}: {err[-1] if err else proc.returncode}")


    def render_many(self, items: list[tuple[str, Path]], timeout: float = 600.0) -> None:
        """Speak several (text, out_wav) in one go: festival loads its voice once for all of them
        (its start-up costs more than a sentence); the others render one by one."""
        if self.engine != "festival" or len(items) == 1:
            for text, path in items:
                self.render(text, path)
            return
        func = FESTIVAL_VOICES[self.name][0]
        lines = [f"({func})"]
        for text, path in items:
            quoted = text.replace("\\", " ").replace('"', '\\"')
            lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{path}" \'riff)')
        proc = subprocess.run(["festival", "--pipe"], input="\n".join(lines).encode() + b"\n",
                              capture_output=True, timeout=timeout)
        missing = [(t, p) for t, p in items if not p.exists() or p.stat().st_size < 100]
        for text, path in missing:  # a sentence festival choked on: retry alone for its error message
            self.render(text, path)


def parse_voice(spec: str) -> SystemVoice:
    spec = spec.strip()
    if spec == "espeak" or spec.startswith("espeak:"):
        variant = spec.split(":", 1)[1] if ":" in spec else ""
        if ":" in spec and not variant:
            raise BadInput("espeak: needs a variant, e.g. espeak:en-gb")
        speaker = "espeak" + ("-" + variant.replace("+", "-").replace("/", "-") if variant else "")
        return SystemVoice(f"espeak:{variant or 'en-us'}", speaker)
    if spec.startswith("flite:"):
        name = spec.split(":", 1)[1]
        if name not in FLITE_VOICES:
            raise BadInput(f"unknown flite voice {name!r}: use one of {', '.join(FLITE_VOICES)}")
        return SystemVoice(spec, f"flite-{name}")
    name = spec.split(":", 1)[1] if spec.startswith("festival:") else spec
    if name in FESTIVAL_VOICES:
        return SystemVoice(f"festival:{name}", name)
    raise BadInput(f"unknown voice {spec!r}: use slt, kal, ked (festival), flite:NAME "
                   f"({', '.join(FLITE_VOICES)}) or espeak, espeak:VARIANT (e.g. espeak:en-gb)")


def default_voices() -> list[SystemVoice]:
    """All of slt, kal and espeak that are installed."""
    voices = [parse_voice(s) for s in ("slt", "kal", "espeak")]
    found = [v for v in voices if v.available()]
    if not found:
        raise BadInput("no system voice found: run 'sudo apt-get install espeak-ng' "
                       "(and festival festvox-us-slt-hts festvox-kallpc16k for better voices)")
    return found
