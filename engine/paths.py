"""Where the project's resources and the user's data live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# A PyInstaller build unpacks the bundled data files (resources/) under sys._MEIPASS.
PROJECT_ROOT = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
RESOURCES = PROJECT_ROOT / "resources"
BUNDLED_MODELS = RESOURCES / "models"
ARCTIC_PROMPTS = RESOURCES / "data" / "arctic_prompts.tsv"


def user_data_dir() -> Path:
    """The platform's user data folder, as Qt's QStandardPaths.AppDataLocation names it.

    Computed without importing Qt (the engine never does): $PRUFROCK_DATA_DIR overrides it.
    """
    override = os.environ.get("PRUFROCK_DATA_DIR")
    if override:
        return Path(override)
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
        return base / "Prufrock" / "Prufrock"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Application Support" / "Prufrock" / "Prufrock"
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "Prufrock" / "Prufrock"


def user_models_dir() -> Path:
    return user_data_dir() / "models"
