"""The takes: the list the window keeps (row i = take i), kept on disk as they are made
(studio/take_store.py) and listed again at startup; selecting one shows it and restores its text and
style; Play, Export (atomic, by engine.audio.io.save_audio), Delete and Clear.

Memory stays flat over a long session: only the latest KEEP_IN_MEMORY takes hold their arrays; older
ones are StoredTakes read back from disk when selected, played or exported; the list keeps at most
the store's limit (the oldest go, from the list and the disk)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.errors import BadInput
from studio.audio_io import NO_DEVICE_MESSAGE
from studio.take_store import TakeStore, full, stored

log = logging.getLogger("prufrock.studio")
FILTERS = {"wav": "WAV audio (*.wav)", "flac": "FLAC audio (*.flac)"}
KEEP_IN_MEMORY = 8
"""The latest takes whose audio, mels and alignments stay in memory."""
RECENTLY_READ = 2
"""Older takes read back from disk that stay in memory too (selecting a take, then playing or
exporting it, reads its arrays once)."""


class TakesController(QObject):
    def __init__(self, window, store: TakeStore | None = None) -> None:
        super().__init__(window)
        self.w = window
        self.store = store if store is not None else TakeStore()
        self.takes: list = []
        self._read_back: OrderedDict[str, object] = OrderedDict()  # folder -> Take, the latest RECENTLY_READ
        pane = window.speak_tab.takes_pane
        self.pane, self.list = pane, pane.list
        self.list.currentRowChanged.connect(self._selected)
        self.list.itemDoubleClicked.connect(lambda _item: self.play())
        pane.deleteRequested.connect(self.delete)
        pane.clearRequested.connect(self._clear_asked)

    def restore(self) -> int:
        """List the takes kept from earlier sessions. -> how many."""
        for take in self.store.load_all(keep_heavy=KEEP_IN_MEMORY):
            self.takes.append(take)
            self.pane.add(take, len(self.takes) - 1)
        return len(self.takes)

    def add(self, take) -> int:
        """A new take: keep it (written to disk on the store's writer thread), list it, and select it at
        the next turn of the event loop (two short pauses of the GUI thread rather than one long one)."""
        self.store.save_later(take)
        self.takes.append(take)
        self.pane.add(take, len(self.takes) - 1)
        old = len(self.takes) - 1 - KEEP_IN_MEMORY
        if old >= 0:
            self.takes[old] = stored(self.takes[old])
        while len(self.takes) > self.store.limit:  # the store has dropped the oldest from the disk
            self.takes.pop(0)
            self.pane.remove(0)
        row = len(self.takes) - 1
        QTimer.singleShot(0, lambda: self.w.job is None and self.list.setCurrentRow(row))
        return row

    def get(self, index: int):
        """Take `index` with its arrays (read back from disk for an older one); None, with a message,
        when its files are gone."""
        try:
            return self._full(self.takes[index])
        except (OSError, ValueError, KeyError) as exc:
            self.w.show_error(f"take {index + 1 if index >= 0 else len(self.takes)} cannot be read back: {exc}",
                              topic="takes")
            return None

    def _full(self, take):
        """The Take with its arrays: a StoredTake read back from disk, or from the last few read back."""
        folder = getattr(take, "folder", None)
        if folder in self._read_back:
            self._read_back.move_to_end(folder)
            return self._read_back[folder]
        loaded = full(take)
        if loaded is not take:
            self._read_back[folder] = loaded
            while len(self._read_back) > RECENTLY_READ:
                self._read_back.popitem(last=False)
        return loaded

    def selected_index(self) -> int:
        row = self.list.currentRow()
        return row if 0 <= row < len(self.takes) else len(self.takes) - 1

    def _selected(self, row: int) -> None:
        if self.w.job is None and 0 <= row < len(self.takes):
            take = self.get(row)
            if take is None:
                return
            self.w.speak_tab.spectrogram.follow(False)
            self.w.speak_tab.alignment.follow(False)
            self.w.take_vm.show_take(take)
            self.w.style.restore_take(take)
        self.w.update_actions()

    def delete(self, row: int) -> None:
        if self.w.job is not None or not 0 <= row < len(self.takes):
            return
        take = self.takes.pop(row)
        self._read_back.pop(getattr(take, "folder", None), None)
        self.store.delete(take)
        self.pane.remove(row)
        self.w.statusBar().showMessage(f"Deleted take #{row + 1}", 4000)
        self.w.update_actions()

    def _clear_asked(self) -> None:
        if self.takes and QMessageBox.question(self.w, "Clear takes", f"Delete all {len(self.takes)} takes?") \
                == QMessageBox.StandardButton.Yes:
            self.clear()

    def clear(self) -> None:
        if self.w.job is not None:
            return
        for take in self.takes:
            self.store.delete(take)
        self.takes.clear()
        self._read_back.clear()
        self.pane.clear_all()
        self.w.take_vm.clear()
        self.w.update_actions()

    # ----- play and export --------------------------------------------------------------------------
    def play(self, index: int | None = None, start_s: float = 0.0) -> bool:
        """Play a take (the selected one by default), from `start_s` seconds into it."""
        if not self.takes:
            return False
        take = self.get(self.selected_index() if index is None else index)
        if take is None:
            return False
        if self.w.job is None and start_s <= 0:
            self.w.take_vm.show_take(take)
        start = min(max(0, int(start_s * take.sample_rate)), len(take.wav))
        self.w.play_offset_s = start / take.sample_rate
        if start >= len(take.wav):
            return False
        if self.w.audio.play(take.wav[start:], take.sample_rate):
            return True
        self.w.banner.show_message(self.w.audio.message or NO_DEVICE_MESSAGE, kind="info", topic="audio")
        return False

    def export(self, path, index: int = -1) -> Path:
        from engine.audio.io import save_audio

        if not self.takes:
            raise BadInput("there is no take to export yet: speak something first")
        try:
            self.takes[index]
        except (IndexError, TypeError):
            raise BadInput(f"there is no take {index}: there are {len(self.takes)} takes") from None
        try:
            take = self._full(self.takes[index])
        except (OSError, ValueError, KeyError) as exc:
            raise BadInput(f"take {index} cannot be read back from {self.store.root}: {exc}") from None
        path = Path(path).expanduser()
        try:
            save_audio(path, take.wav, take.sample_rate)
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
        s = self.w.settings
        s.export_folder = str(path.resolve().parent)
        s.remember_file(path)
        s.export_format = path.suffix.lower().lstrip(".")
        self.w.banner.clear("export")
        self.w.statusBar().showMessage(f"Exported take to {path}", 6000)
        return path

    def export_dialog(self, index: int | None = None) -> None:
        if not self.takes:
            self.w.show_error("There is no take to export yet: speak something first.", kind="info", topic="export")
            return
        index = self.selected_index() if index is None else index
        fmt = self.w.settings.export_format if self.w.settings.export_format in FILTERS else "wav"
        start = str(Path(self.w.settings.last_folder) / f"take-{index + 1}.{fmt}")
        order = [FILTERS[fmt]] + [f for k, f in FILTERS.items() if k != fmt]
        path, chosen = QFileDialog.getSaveFileName(self.w, "Export take", start, ";;".join(order))
        if not path:
            return
        if Path(path).suffix.lower() not in (".wav", ".flac", ".ogg"):
            path += ".flac" if "FLAC" in chosen else ".wav"
        folder = Path(path).expanduser().parent
        if not folder.exists():
            answer = QMessageBox.question(self.w, "Export take", f"The folder {folder} does not exist. Create it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                self.w.show_error(f"cannot create {folder}: {exc.strerror or exc}", topic="export")
                return
        try:
            self.export(path, index)
        except BadInput as exc:
            self.w.show_error(str(exc), topic="export")
