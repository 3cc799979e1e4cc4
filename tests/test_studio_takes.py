"""The studio's takes (pytest-qt, offscreen): export to WAV and FLAC, takes kept across a restart and
deleted, their files written, read back and exported off the GUI thread, and the take store's queue."""

import os

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

import soundfile as sf  # noqa: E402

from engine.errors import BadInput  # noqa: E402
from studio_window import clean_style, open_window, speak, window  # noqa: E402,F401 - fixtures


def test_export_wav_and_flac(qtbot, window, tmp_path):
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    for name in ("take.wav", "take.flac"):
        out = window.export_take(tmp_path / name)
        info = sf.info(str(out))
        assert info.samplerate == window.voice.audio.sample_rate == take.sample_rate
        assert info.duration == pytest.approx(take.duration_s, abs=1e-3) and info.duration > 0
    assert window.settings.export_folder == str(tmp_path.resolve())
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(BadInput):
        window.export_take(tmp_path / "take.mp4")
    with pytest.raises(BadInput):
        window.export_take(tmp_path / "missing" / "take.wav")
    with pytest.raises(BadInput):
        window.export_take(tmp_path / "x.wav", index=10_000)


def test_takes_survive_a_restart_and_can_be_deleted(qtbot, window, user_data, monkeypatch, tmp_path):
    import threading

    import studio.take_store as take_store

    writers = []
    real_savez = take_store.np.savez
    monkeypatch.setattr(take_store.np, "savez",
                        lambda *a, **k: writers.append(threading.current_thread()) or real_savez(*a, **k))
    take = speak(qtbot, window, text="Bring the books.", click=False)
    window.takes_ctl.store.flush(timeout_s=30)
    assert take.folder and os.path.isdir(take.folder)
    assert writers and threading.main_thread() not in writers  # the GUI thread never waits for the disk
    from studio.take_store import TakeStore

    n = len(TakeStore().folders())  # this window's takes, and those of other windows of this module
    assert n >= len(window.takes)
    # A second window on the same user data folder lists the takes (as a restarted studio does),
    # reading their arrays only on the store's thread (at startup only each take.json is read).
    readers = []
    real_load = TakeStore.load
    monkeypatch.setattr(TakeStore, "load",
                        lambda self, folder: readers.append((threading.current_thread(), str(folder)))
                        or real_load(self, folder))
    other = open_window(user_data / "studio-2.ini")
    try:
        assert len(other.takes) == n and other.takes_list.count() == n
        back = other.takes[-1]
        assert back.text == take.text and back.model == take.model and back.style == take.style
        assert back.vocoder == take.vocoder and back.partial == take.partial
        # The latest take is selected at startup and shown once its arrays have been read back.
        assert other.takes_list.currentRow() == n - 1
        qtbot.waitUntil(lambda: len(other.waveform.wav) == len(take.wav), timeout=10_000)
        other.take_vm.flush()
        np.testing.assert_allclose(other.waveform.wav, take.wav)
        np.testing.assert_allclose(other.spectrogram.image_data()[:, :take.segments[0].mel.shape[-1]],
                                   take.segments[0].mel)
        assert readers and threading.main_thread() not in [t for t, _ in readers]
        # Its time axis is in seconds, even when it was drawn before the voice had loaded.
        image = other.spectrogram.image
        seconds = take.mel.shape[-1] * other.voice.audio.hop_length / other.voice.audio.sample_rate
        qtbot.waitUntil(lambda: abs(image.mapRectToParent(image.boundingRect()).width() - seconds) < 0.05,
                        timeout=5000)
        # Selecting it again shows it and restores its text, from memory.
        other.text_input.setPlainText("something else")
        other.takes_list.setCurrentRow(-1)
        other.takes_list.setCurrentRow(n - 1)
        assert other.text_input.toPlainText() == take.text
        # An older take (arrays on disk) is read back once for a select, a play and an export.
        from studio.take_store import StoredTake, stored

        other.takes_ctl._read_back.clear()
        other.takes_ctl.takes[-1] = stored(other.takes_ctl.takes[-1])
        assert isinstance(other.takes[-1], StoredTake)
        readers.clear()
        other.take_vm.clear()
        other.take_vm.flush()
        other.takes_list.setCurrentRow(-1)
        other.takes_list.setCurrentRow(n - 1)
        assert other.takes_ctl.play(n - 1)  # plays once read (or says there is no device)
        qtbot.waitUntil(lambda: len(other.waveform.wav) == len(take.wav), timeout=10_000)
        assert [f for _, f in readers] == [take.folder]  # one read for the select and the play
        assert threading.main_thread() not in [t for t, _ in readers]  # never on the GUI thread
        # The window's Export writes on the store's thread too, and says so when it is done.
        exported = other.takes_ctl.export_later(tmp_path / "again.wav", index=n - 1)
        qtbot.waitUntil(lambda: "Exported take" in other.statusBar().currentMessage(), timeout=10_000)
        assert exported.result().exists() and sf.info(str(exported.result())).frames == len(take.wav)
        bad = other.takes_ctl.export_later(tmp_path / "no-such-folder" / "x.wav", index=n - 1)
        qtbot.waitUntil(lambda: bad.done() and "does not exist" in (other.last_error or ""), timeout=10_000)
        assert [f for _, f in readers] == [take.folder]  # the exports used the take read back
        # The script API reads where it is called, and the arrays are those that were written.
        back = other.takes_ctl.get(n - 1)
        np.testing.assert_allclose(back.wav, take.wav)
        np.testing.assert_allclose(back.mel, take.mel)
        assert back.segments[0].tokens == take.segments[0].tokens
        np.testing.assert_allclose(back.segments[0].alignment, take.segments[0].alignment)
        # Deleting removes it from the list and from the disk.
        other.takes_pane.deleteRequested.emit(n - 1)
        assert len(other.takes) == n - 1 and other.takes_list.count() == n - 1
        other.takes_ctl.store.flush(timeout_s=30)
        assert not os.path.exists(take.folder)
    finally:
        other.close()
        other.shutdown()


def test_take_store_writes_in_order_off_the_calling_thread(tmp_path):
    """save_later writes on the writer thread; a deletion queued right after a write removes what that
    write made (its folder is known only then); flush waits; the limit prunes the oldest."""
    import threading

    from engine.inference.pipeline import Take
    from engine.inference.synthesizer import SegmentResult
    from studio.take_store import TakeStore

    def make(i):
        seg = SegmentResult(0, f"take {i}", ["t"], np.full((4, 3), i, np.float32), np.eye(3, 1, dtype=np.float32),
                            True, True)
        return Take(text=f"take {i}", wav=np.full(160, i / 10, np.float32), sample_rate=16000, segments=[seg],
                    model="m", vocoder="griffinlim", device="cpu", style="", synthesis_s=0.1, vocoder_s=0.1,
                    created=1_700_000_000 + i)

    store = TakeStore(tmp_path, limit=2)
    writers = []
    real_save = store.save
    store.save = lambda take: writers.append(threading.current_thread()) or real_save(take)
    takes = [make(i) for i in range(3)]
    for t in takes:
        store.save_later(t)
    store.delete(takes[1])  # queued after its write
    store.flush(timeout_s=30)
    assert writers and threading.current_thread() not in writers
    assert all(t.folder for t in takes)
    left = store.folders()
    assert [str(p) for p in left] == [takes[2].folder]  # take 0 pruned (limit 2), take 1 deleted
    back = store.load(left[0])
    assert back.text == "take 2" and np.allclose(back.wav, 0.2) and np.allclose(back.mel, 2)
    store.close()
