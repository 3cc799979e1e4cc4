"""Old import place of the Convert and Training tabs (both real now: studio/panes/convert_tab.py and
studio/panes/training_tab.py), kept so older imports still work."""

from __future__ import annotations

from engine.bundle import installed

from studio.panes.convert_tab import NO_CONVERTER, ConvertTab  # noqa: F401 - re-exported
from studio.panes.training_tab import TrainingTab  # noqa: F401 - re-exported


def converter_choices() -> list[str]:
    """Names of the installed models that convert speech (engine.bundle.installed(role="converter"))."""
    return [name for name, _ in installed(role="converter")]
