"""One recorded sentence of a corpus."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Utterance:
    id: str
    """Utterance id shared across speakers (e.g. "arctic_a0001"): parallel pairs match on it."""
    audio_path: Path
    """The recording (any format soundfile reads)."""
    text: str
    """What is said (the normalised text where the corpus gives one)."""
    speaker: str = "default"
    """Speaker name; "default" for single-speaker corpora."""
    style: dict = field(default_factory=dict, hash=False, compare=False)
    """Rendering style of the recording, e.g. {"pitch": 2.0, "rate": 1.1}; {} when unknown."""
