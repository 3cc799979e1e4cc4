"""Persistent studio settings (QSettings, organisation "Prufrock", application "Prufrock").

Tests and benchmarks pass an INI file of their own (``Settings.from_file(tmp_path / "s.ini")``) so
they never touch the user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "Prufrock"
APPLICATION = "Prufrock"


MAX_DRAWS = 4
"""The most draws per segment the Convert tab offers (each adds about as much decoding again)."""

class Settings:
    """Typed access to the few things the studio remembers."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Settings":
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    @classmethod
    def coerce(cls, value) -> "Settings":
        """None (the user's settings), a Settings, a QSettings or an INI file path."""
        if value is None:
            return cls()
        if isinstance(value, Settings):
            return value
        if isinstance(value, QSettings):
            return cls(value)
        return cls.from_file(value)

    # ----- generic -------------------------------------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        v = self.q.value(key, default)
        return default if v is None else str(v)

    def _bytes(self, key: str) -> QByteArray | None:
        v = self.q.value(key)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def sync(self) -> None:
        self.q.sync()

    # ----- window --------------------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.q.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self.q.setValue("window/state", value)

    def splitter_state(self, name: str) -> QByteArray | None:
        return self._bytes(f"window/splitter_{name}")

    def set_splitter_state(self, name: str, value: QByteArray) -> None:
        self.q.setValue(f"window/splitter_{name}", value)

    # ----- choices -------------------------------------------------------------------------------
    @property
    def last_voice(self) -> str:
        return self._str("models/voice")

    @last_voice.setter
    def last_voice(self, value: str) -> None:
        self.q.setValue("models/voice", value)

    @property
    def vocoder(self) -> str:
        return self._str("models/vocoder", "griffinlim")

    @vocoder.setter
    def vocoder(self, value: str) -> None:
        self.q.setValue("models/vocoder", value)

    @property
    def convert_draws(self) -> int:
        """Decodings per segment a conversion draws, the clearest kept (engine/models/vc/candidates.py)."""
        from engine.models.vc.adapter import DEFAULT_CANDIDATES

        try:
            return min(MAX_DRAWS, max(1, int(self.q.value("convert/draws", DEFAULT_CANDIDATES))))
        except (TypeError, ValueError):
            return DEFAULT_CANDIDATES

    @convert_draws.setter
    def convert_draws(self, value: int) -> None:
        self.q.setValue("convert/draws", int(value))

    @property
    def output_device(self) -> str:
        """Name of the chosen output device; "" = the system default."""
        return self._str("audio/output_device")

    @output_device.setter
    def output_device(self, value: str) -> None:
        self.q.setValue("audio/output_device", value)

    @property
    def export_folder(self) -> str:
        folder = self._str("export/folder")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @export_folder.setter
    def export_folder(self, value: str) -> None:
        self.q.setValue("export/folder", str(value))

    @property
    def export_format(self) -> str:
        return self._str("export/format", "wav")

    @export_format.setter
    def export_format(self, value: str) -> None:
        self.q.setValue("export/format", value)

    @property
    def last_folder(self) -> str:
        """The folder of the last file chosen in any file dialog (dialogs open there); else the export
        folder, else home."""
        folder = self._str("dialogs/last_folder")
        return folder if folder and Path(folder).is_dir() else self.export_folder

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.q.setValue("dialogs/last_folder", str(value))

    def remember_file(self, path: str | os.PathLike) -> None:
        """A file was chosen (opened or saved): the next dialog opens in its folder."""
        folder = Path(path).expanduser().absolute().parent
        if folder.is_dir():
            self.last_folder = str(folder)
