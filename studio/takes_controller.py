"""The takes: the list the window keeps (row i = take i), kept on disk as they are made
(studio/take_store.py) and listed again at startup; selecting one shows it and restores its text and
style; Play, Export (atomic, by engine.audio.io.save_audio), Delete and Clear.

Memory stays flat over a long session: only the latest KEEP_IN_MEMORY takes hold their arrays; older
ones, and those listed at startup, are StoredTakes read back from disk when selected, played or exported;
the list keeps at most the store's limit (the oldest go, from the list and the disk).

The GUI thread never reads or writes a take's files: read-backs and exports run on the store's thread
(studio/take_store.py) and come back as a queued signal; what asked for them (show, play, export)
happens then, if it still applies (the take is still listed and selected, no job has started). The
script API (`get`, `export`) reads and writes where it is called."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.errors import BadInput
from studio.audio_io import NO_DEVICE_MESSAGE
from studio.take_store import StoredTake, TakeStore, full, stored

log = logging.getLogger("prufrock.studio")
FILTERS = {"wav": "WAV audio (*.wav)", "flac": "FLAC audio (*.flac)"}
KEEP_IN_MEMORY = 8
"""The latest takes whose audio, mels and alignments stay in memory."""
RECENTLY_READ = 2
"""Older takes read back from disk that stay in memory too (selecting a take, then playing or
exporting it, reads its arrays once)."""


class TakesController(QObject):
    _arrived = Signal(object, object)  # callback, Future: a job of the store's thread is done (queued here)

    def __init__(self, window, store: TakeStore | None = None) -> None:
        super().__init__(window)
        self.w = window
        self.store = store if store is not None else TakeStore()
        self.takes: list = []
        self._read_back: OrderedDict[str, object] = OrderedDict()  # folder -> Take, the latest RECENTLY_READ
        self._reading: set[str] = set()  # folders being read back on the store's thread
        self._wanted = None  # (listed take, callback): the latest read-back something waits for
        self._arrived.connect(lambda callback, future: callback(future))
        pane = window.speak_tab.takes_pane
        self.pane, self.list = pane, pane.list
        self.list.currentRowChanged.connect(self._selected)
        self.list.itemDoubleClicked.connect(lambda _item: self.play())
        pane.deleteRequested.connect(self.delete)
        pane.clearRequested.connect(self._clear_asked)

    def restore(self) -> int:
        """List the takes kept from earlier sessions (their take.json: the arrays are read back when one
        is selected). -> how many."""
        for take in self.store.load_all(keep_heavy=0):
            self.takes.append(take)
            self.pane.add(take, len(self.takes) - 1, scroll=False)
        if self.takes:
            self.list.scrollToBottom()
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
        kept = self._kept(take)
        if kept is not None:
            return kept
        loaded = full(take)
        self._keep(loaded)
        return loaded

    def _kept(self, take):
        """The take's arrays if they are in memory (a heavy take, or one read back lately), else None."""
        if not isinstance(take, StoredTake):
            return take
        if take.folder in self._read_back:
            self._read_back.move_to_end(take.folder)
            return self._read_back[take.folder]
        return None

    def _keep(self, loaded) -> None:
        self._read_back[loaded.folder] = loaded
        while len(self._read_back) > RECENTLY_READ:
            self._read_back.popitem(last=False)

    def _when_read(self, index: int, then) -> None:
        """then(take) with take `index`'s arrays: now when they are in memory, else once the store's
        thread has read them (only the latest request waits: flicking through the list shows where it
        stops). A take whose files cannot be read gives a message instead."""
        listed = self.takes[index]
        kept = self._kept(listed)
        if kept is not None:
            self._wanted = None
            then(kept)
            return
        self._wanted = (listed, then)
        if listed.folder in self._reading:
            return
        self._reading.add(listed.folder)
        self.store.read_later(listed.folder).add_done_callback(
            lambda future: self._arrived.emit(lambda f: self._read_done(listed, f), future))

    def _read_done(self, listed, future) -> None:
        self._reading.discard(listed.folder)
        exc = future.exception()
        if exc is None:
            self._keep(future.result())
        wanted, listed_now = self._wanted, any(t is listed for t in self.takes)
        if wanted is None or wanted[0] is not listed or not listed_now:
            return  # nobody waits for it any more (another take asked for since, or it was deleted)
        self._wanted = None
        if exc is not None:
            index = next(i for i, t in enumerate(self.takes) if t is listed)
            self.w.show_error(f"take {index + 1} cannot be read back: {exc}", topic="takes")
            return
        wanted[1](future.result())

    def selected_index(self) -> int:
        row = self.list.currentRow()
        return row if 0 <= row < len(self.takes) else len(self.takes) - 1

    def _selected(self, row: int) -> None:
        if self.w.job is None and 0 <= row < len(self.takes):
            listed = self.takes[row]
            self.w.style.restore_take(listed)  # text and style: in the take's metadata
            self._when_read(row, lambda take: self._show_if_selected(listed, take))
        self.w.update_actions()

    def _show_if_selected(self, listed, take) -> None:
        row = self.list.currentRow()
        if self.w.job is not None or not 0 <= row < len(self.takes) or self.takes[row] is not listed:
            return
        self.w.speak_tab.spectrogram.follow(False)
        self.w.speak_tab.alignment.follow(False)
        self.w.take_vm.show_take(take)

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
        """Play a take (the selected one by default), from `start_s` seconds into it. -> whether it
        plays (True also while an older take is read back to be played)."""
        if not self.takes:
            return False
        index = self.selected_index() if index is None else index
        try:
            self.takes[index]
        except (IndexError, TypeError):
            return False
        played: list[bool] = []
        self._when_read(index, lambda take: played.append(self._play_now(take, start_s)))
        return played[0] if played else True

    def _play_now(self, take, start_s: float) -> bool:
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
        """Write take `index` to `path` here and now (the script API; the window's Export runs on the
        store's thread). Raises BadInput with a one-line message."""
        from engine.audio.io import save_audio

        self._check_index(index)
        try:
            take = self._full(self.takes[index])
        except (OSError, ValueError, KeyError) as exc:
            raise BadInput(f"take {index} cannot be read back from {self.store.root}: {exc}") from None
        path = Path(path).expanduser()
        try:
            save_audio(path, take.wav, take.sample_rate)
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
        self._exported(path)
        return path

    def _check_index(self, index) -> None:
        if not self.takes:
            raise BadInput("there is no take to export yet: speak something first")
        try:
            self.takes[index]
        except (IndexError, TypeError):
            raise BadInput(f"there is no take {index}: there are {len(self.takes)} takes") from None

    def export_later(self, path, index: int = -1):
        """Export on the store's thread (after the take's own write); the window says how it went when
        it is done. -> the Future of the path."""
        self._check_index(index)
        listed = self.takes[index]
        kept = self._kept(listed)
        take = listed if kept is None else kept  # a StoredTake is read back on the store's thread
        path = Path(path).expanduser()
        self.w.statusBar().showMessage(f"Exporting take to {path}…")
        future = self.store.export_later(take, path)
        future.add_done_callback(lambda f: self._arrived.emit(lambda done: self._export_done(path, done), f))
        return future

    def _export_done(self, path: Path, future) -> None:
        exc = future.exception()
        if exc is None:
            self._exported(path)
        elif isinstance(exc, BadInput):
            self.w.show_error(str(exc), topic="export")
        elif isinstance(exc, OSError):
            self.w.show_error(f"cannot export to {path}: {exc.strerror or exc}", topic="export")
        else:
            self.w.show_error(f"the take cannot be read back from {self.store.root}: {exc}", topic="export")

    def _exported(self, path: Path) -> None:
        s = self.w.settings
        s.export_folder = str(path.resolve().parent)
        s.remember_file(path)
        s.export_format = path.suffix.lower().lstrip(".")
        self.w.banner.clear("export")
        self.w.statusBar().showMessage(f"Exported take to {path}", 6000)

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
            self.export_later(path, index)
        except BadInput as exc:
            self.w.show_error(str(exc), topic="export")
