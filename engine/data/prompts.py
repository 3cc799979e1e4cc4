"""Prompt lists: `ID<TAB>TEXT` files such as the bundled CMU ARCTIC prompts, and the held-out split.

One reader serves the corpus builder (strict: every line needs an id) and the evaluation commands
(lenient: plain lines are numbered `line N`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput
from engine.paths import ARCTIC_PROMPTS

HELD_OUT_DEFAULT = 100
"""Prompts held out from training and used by `prufrock eval tts`: the last 100 ARCTIC ids."""


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str


def read_prompts(path: str | Path, strict: bool = True) -> list[Prompt]:
    """Read a prompt file, blank lines skipped.

    strict: every line must be `ID<TAB>TEXT`; otherwise a line without a tab is a sentence whose id
    is `lineN` (N counted from 1).
    """
    path = Path(path)
    if not path.exists():
        raise BadInput(f"text file not found: {path}")
    prompts = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if "\t" in line:
            uid, text = line.split("\t", 1)
        elif strict:
            raise BadInput(f"{path}:{n}: expected 'ID<TAB>TEXT'")
        else:
            uid, text = f"line{n}", line
        if text.strip():
            prompts.append(Prompt(uid.strip(), text.strip()))
    if not prompts:
        raise BadInput(f"{path} has no sentences")
    return prompts


def held_out_prompts(n: int = HELD_OUT_DEFAULT) -> list[Prompt]:
    """The last n ARCTIC prompts in id order (arctic_b0440..arctic_b0539 for n = 100)."""
    if n <= 0:
        return []
    return sorted(read_prompts(ARCTIC_PROMPTS), key=lambda p: p.id)[-n:]


def held_out_ids(n: int = HELD_OUT_DEFAULT) -> set[str]:
    return {p.id for p in held_out_prompts(n)}
