"""The system's speech synthesisers used as corpus voices: espeak-ng variants and festival voices.

A voice spec is `espeak` (en-us), `espeak:VARIANT` (any espeak-ng voice name, e.g. `en-gb`,
`en-us+f3`), `slt` (festival cmu_us_slt_arctic_hts, the most natural) or `kal` (festival kal_diphone).
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
}
FESTIVAL_VOICE_ROOTS = [Path("/usr/share/festival/voices"), Path("/usr/local/share/festival/voices")]


@dataclass(frozen=True)
class SystemVoice:
    spec: str
    """The spec the user gave (`espeak:en-gb`, `slt`, ...)."""
    speaker: str
    """Speaker name used in the corpus (folder names and the speaker column)."""

    def check(self) -> None:
        """Raise BadInput naming the apt package when the program or voice is missing."""
        if self.spec.startswith("espeak"):
            if shutil.which("espeak-ng") is None:
                raise BadInput("espeak-ng is not installed: run 'sudo apt-get install espeak-ng'")
            return
        func, folder, package = FESTIVAL_VOICES[self.spec]
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
        if self.spec.startswith("espeak"):
            variant = self.spec.split(":", 1)[1] if ":" in self.spec else "en-us"
            cmd = ["espeak-ng", "-v", variant, "-w", str(out_wav), "--stdin"]
            proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout)
        else:
            func = FESTIVAL_VOICES[self.spec][0]
            cmd = ["text2wave", "-eval", f"({func})", "-o", str(out_wav)]
            proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout)
        if proc.returncode != 0 or not out_wav.exists() or out_wav.stat().st_size < 100:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{self.spec} failed on {text[:40]!r}: {err[-1] if err else proc.returncode}")


def parse_voice(spec: str) -> SystemVoice:
    spec = spec.strip()
    if spec == "espeak" or spec.startswith("espeak:"):
        variant = spec.split(":", 1)[1] if ":" in spec else ""
        speaker = "espeak" + ("-" + variant.replace("+", "-").replace("/", "-") if variant else "")
        return SystemVoice(spec, speaker)
    if spec in FESTIVAL_VOICES:
        return SystemVoice(spec, spec)
    raise BadInput(f"unknown voice {spec!r}: use espeak, espeak:VARIANT (e.g. espeak:en-gb), slt or kal")


def default_voices() -> list[SystemVoice]:
    """All of slt, kal and espeak that are installed."""
    voices = [parse_voice(s) for s in ("slt", "kal", "espeak")]
    found = [v for v in voices if v.available()]
    if not found:
        raise BadInput("no system voice found: run 'sudo apt-get install espeak-ng' "
                       "(and festival festvox-us-slt-hts festvox-kallpc16k for better voices)")
    return found
