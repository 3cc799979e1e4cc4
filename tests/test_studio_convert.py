"""The studio's Convert tab (pytest-qt, offscreen, engine process included): a tiny converter trained
here (`prufrock train vc --preset tiny --max-steps 2` on a parallel corpus of two espeak voices) and
installed into a temporary user data folder; a recording dropped on sourceDrop then convertButton adds a
take that exports; recording against a fake input stream; no input device and no converter give
messages, not errors."""

import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

import soundfile as sf  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QComboBox, QWidget  # noqa: E402

from conftest import ARCTIC_IDS, SENTENCES  # noqa: E402

TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def tiny_converter(user_data, rendered):
    """Train a tiny converter for 2 steps on a parallel corpus (tgt <- src) and install it as
    $PRUFROCK_DATA_DIR/models/tiny-vc with `prufrock models export`."""
    corpus = user_data / "corpus"
    lines = []
    for speaker, voice in (("tgt", "espeak_a"), ("src", "espeak_b")):
        (corpus / "wavs" / speaker).mkdir(parents=True)
        for uid, text, wav in zip(ARCTIC_IDS, SENTENCES, rendered[voice]):
            shutil.copy(wav, corpus / "wavs" / speaker / f"{uid}.wav")
            lines.append(f"{speaker}/{uid}|{text}|{text}|{speaker}|")
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = user_data / "vc-run"
    proc = subprocess.run([sys.executable, "-m", "engine", "train", "vc", "--data", str(corpus), "--target", "tgt",
                           "--preset", "tiny", "--max-steps", "2", "--threads", "1", "--out", str(run)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = user_data / "data" / "models" / "tiny-vc"
    proc = subprocess.run([sys.executable, "-m", "engine", "models", "export", str(run), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "model.safetensors").exists()
    return out


@pytest.fixture(scope="module")
def window(qapp, user_data, tiny_converter):
    from studio import create_window
    from studio.bench import wait_until

    w = create_window(settings=user_data / "studio.ini")
    assert wait_until(lambda: w.can_speak() or w.last_error, 120), "the voice did not load"
    selector = w.convert_tab.converter
    selector.setCurrentIndex(selector.findText("tiny-vc"))  # not a bundled default-vc, when there is one
    yield w
    w.close()
    w.shutdown()


def _drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPointF(5, 5).toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    widget.dragEnterEvent(enter)
    assert enter.isAccepted()
    widget.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def _convert(qtbot, window, click=True):
    n = len(window.takes)
    button = window.findChild(QAbstractButton, "convertButton")
    assert button.isEnabled(), button.toolTip()
    with qtbot.waitSignal(window.jobEnded, timeout=TIMEOUT_MS) as ended:
        if click:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        else:
            assert window.convert() is not None
    assert ended.args == ["take"], window.last_error
    assert len(window.takes) == n + 1
    return window.takes[-1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's QPoint constructor
def test_drop_then_convert_adds_a_take_that_exports(qtbot, window, rendered, tmp_path):
    tab = window.findChild(QWidget, "convertTab")
    selector = window.findChild(QComboBox, "converterSelector")
    assert selector.isEnabled() and selector.currentText() == "tiny-vc"
    assert not window.convert_tab.note.isVisibleTo(tab)  # the "no converter" note is gone
    assert not window.findChild(QAbstractButton, "convertButton").isEnabled()  # nothing to convert yet
    source = rendered["espeak_b"][4]
    with qtbot.waitSignal(window.sourceChanged, timeout=TIMEOUT_MS):
        _drop(window.findChild(QWidget, "sourceDrop"), source)
    src = window.converting.source
    assert src is not None and src.path == str(source), window.last_error
    info = window.converting.info
    assert info is not None and info.name == "tiny-vc"
    assert window.convert_tab.source_view.image_data().shape == (info.audio.n_mels, src.mel.shape[-1])
    assert src.duration_s == pytest.approx(sf.info(str(source)).duration, abs=0.02)
    chunks_before_take = []
    vm = window.converting.vm

    def live(_id, _ev):  # runs after the controller has added the chunk: what the views draw now
        chunks_before_take.append((vm.live, vm.alignment()[0].shape[0], vm.mel().shape[-1]))

    window.engine.chunk.connect(live)
    take = _convert(qtbot, window)
    # A take like any other: in the history, with its source, exportable.
    assert take.source == str(source) and take.model == "tiny-vc" and len(take.wav) > 0
    assert chunks_before_take, "no decoder chunk was streamed to the Convert tab"
    assert all(is_live for is_live, _, _ in chunks_before_take)
    rows = [r for _, r, _ in chunks_before_take]
    assert rows[0] > 0 and rows == sorted(rows)  # the alignment grew step by step while converting
    window.engine.chunk.disconnect(live)
    row = window.takes_list.item(window.takes_list.count() - 1).text()
    assert "converted" in row and source.name in row
    out = window.export_take(tmp_path / "converted.wav")
    assert sf.info(str(out)).duration == pytest.approx(take.duration_s, abs=1e-3)
    # The views: converted spectrogram on the source's time axis, the alignment over source time.
    window.converting.vm.flush()
    seg = take.segments[0]
    conv = window.convert_tab.converted_view
    assert conv.image_data().shape == (info.audio.n_mels, take.mel.shape[-1])
    assert conv.getViewBox().linkedView(0) is window.convert_tab.source_view.getViewBox()
    assert window.convert_tab.alignment.image_data().shape == (seg.alignment.shape[0], len(seg.tokens))
    assert window.convert_tab.alignment.tokens[0].endswith("s")  # source time labels
    assert window.findChild(QAbstractButton, "playConvertedButton").isEnabled()
    assert window.findChild(QAbstractButton, "exportConvertedButton").isEnabled()
    # Kept on disk like any take (the restart test of test_studio.py covers reloading).
    window.takes_ctl.store.flush(timeout_s=30)
    assert take.folder and os.path.isdir(take.folder)


def test_draws_per_segment_are_a_remembered_setting_the_engine_uses(qtbot, window, tiny_converter, user_data,
                                                                    rendered):
    """The Convert tab's Draws box: default 2, remembered in the settings, sent with the job, and the
    engine's converter decodes that many draws for the conversion."""
    from PySide6.QtWidgets import QSpinBox

    from engine.models.vc.adapter import DEFAULT_CANDIDATES, ConverterSource
    from studio.engine_process import Engine
    from studio.settings import Settings

    draws = window.findChild(QSpinBox, "convertDraws")
    assert draws.value() == DEFAULT_CANDIDATES == 2 and draws.toolTip()
    draws.setValue(1)
    window.settings.sync()
    assert Settings.from_file(user_data / "studio.ini").convert_draws == 1
    if window.converting.source is None:
        with qtbot.waitSignal(window.sourceChanged, timeout=TIMEOUT_MS):
            window.load_source(rendered["espeak_b"][4])
    n = len(window.takes)
    with qtbot.waitSignal(window.jobEnded, timeout=TIMEOUT_MS) as ended:
        job = window.convert()
        assert job is not None and job.command()["candidates"] == 1
    assert ended.args == ["take"], window.last_error
    assert len(window.takes) == n + 1
    draws.setValue(DEFAULT_CANDIDATES)
    # The engine side: the job's count reaches the converter (an Engine without its pipes).
    engine = Engine.__new__(Engine)
    engine.converter = ConverterSource(tiny_converter, device="cpu")
    engine.vocoder, engine.vocoder_spec, engine.convert_vocoder, engine.convert_polisher = None, None, None, None
    for asked, used in ((3, 3), (1, 1), (None, DEFAULT_CANDIDATES)):
        conv, _, _ = engine._convert_parts({"candidates": asked, "vocoder": "griffinlim"})
        assert conv.candidates == used


def test_load_source_errors_are_messages(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
        assert window.load_source(bad)
    assert "broken.wav" in shown.args[0] and "Traceback" not in shown.args[0]
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(16000, dtype=np.float32), 16000)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
        window.load_source(silent)
    assert "silent" in shown.args[0]
    from studio.engine_process import MAX_SOURCE_S

    long = tmp_path / "audiobook.wav"  # a header that says 10 min + 1 s (8 kHz, 16-bit: 9.6 MB of zeros)
    sf.write(str(long), np.zeros(int((MAX_SOURCE_S + 1) * 8000), dtype=np.int16), 8000, subtype="PCM_16")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
        window.load_source(long)
    assert "audiobook.wav is 10.0 min long" in shown.args[0] and "prufrock convert" in shown.args[0]


class FakeInputStream:
    """sounddevice.InputStream stand-in: a thread calls back with blocks of the given samples."""

    samples = np.zeros(0, dtype=np.float32)
    opened: list = []

    def __init__(self, samplerate, channels, dtype, device, callback, **_kw):
        self.samplerate, self.callback = samplerate, callback
        self.running = False
        self.thread = None
        FakeInputStream.opened.append(self)

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        block = 800
        for i in range(0, len(self.samples), block):
            if not self.running:
                return
            self.callback(self.samples[i : i + block].reshape(-1, 1), block, None, None)
            time.sleep(0.002)

    def stop(self):
        self.running = False
        if self.thread is not None:
            self.thread.join(2)

    def close(self):
        self.running = False


def test_recording_against_a_fake_input_stream(qtbot, window, rendered, monkeypatch):
    import librosa
    import sounddevice as sd

    speech, sr = sf.read(str(rendered["espeak_b"][6]), dtype="float32")
    FakeInputStream.samples = librosa.resample(speech, orig_sr=sr, target_sr=16000).astype(np.float32)
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [
        {"name": "Fake microphone", "max_input_channels": 1, "max_output_channels": 0, "default_samplerate": 16000}])
    monkeypatch.setattr(sd, "InputStream", FakeInputStream)
    with qtbot.waitSignal(window.audio_in.inputsChanged, timeout=10_000):
        window.audio_in.probe()
    record = window.findChild(QAbstractButton, "recordButton")
    assert record.isEnabled() and "Ctrl+R" in record.toolTip()
    levels = []
    window.convert_tab.level.valueChanged.connect(levels.append)
    with qtbot.waitSignal(window.audio_in.started, timeout=10_000):
        qtbot.mouseClick(record, Qt.MouseButton.LeftButton)
    assert window.converting.recording() and not record.isEnabled()
    stop = window.findChild(QAbstractButton, "stopRecordButton")
    assert stop.isEnabled()
    expected = len(FakeInputStream.samples) / 16000
    qtbot.waitUntil(lambda: window.audio_in.seconds() >= expected - 1e-3, timeout=20_000)
    qtbot.wait(100)
    assert max(levels) > 20  # the meter moved (above -40 dB) while speech came in
    with qtbot.waitSignal(window.sourceChanged, timeout=TIMEOUT_MS):
        qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    src = window.converting.source
    assert src is not None and "recordings" in src.path and src.path.endswith(".wav"), window.last_error
    assert src.duration_s == pytest.approx(expected, abs=0.05)
    assert FakeInputStream.opened[-1].samplerate == window.converting.info.audio.sample_rate
    take = _convert(qtbot, window, click=False)
    assert take.source == src.path


def test_recording_stops_at_the_length_limit(qtbot, window, monkeypatch):
    import sounddevice as sd

    FakeInputStream.samples = (0.1 * np.sin(np.arange(16000 * 3) * 0.05)).astype(np.float32)
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [
        {"name": "Fake microphone", "max_input_channels": 1, "max_output_channels": 0, "default_samplerate": 16000}])
    monkeypatch.setattr(sd, "InputStream", FakeInputStream)
    with qtbot.waitSignal(window.audio_in.inputsChanged, timeout=10_000):
        window.audio_in.probe()
    monkeypatch.setattr("studio.audio_io.RECORD_LIMIT_S", 1.0)
    with qtbot.waitSignal(window.audio_in.recorded, timeout=20_000) as done:
        assert window.record()
    wav, rate = done.args
    assert len(wav) == rate * 1  # cut at the limit, by itself
    qtbot.waitUntil(lambda: window.converting.pending_source is None, timeout=TIMEOUT_MS)


def test_no_input_device_gives_a_message(qtbot, window, monkeypatch):
    import sounddevice as sd

    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [
        {"name": "Speakers only", "max_input_channels": 0, "max_output_channels": 2, "default_samplerate": 48000}])
    with qtbot.waitSignal(window.audio_in.inputsChanged, timeout=10_000):
        window.audio_in.probe()
    record = window.findChild(QAbstractButton, "recordButton")
    assert not record.isEnabled()
    assert "No audio input device" in record.toolTip()
    window.banner.hide()
    assert window.record() is False  # what Ctrl+R does: a message, no exception
    assert window.banner.isVisibleTo(window) and window.banner.kind == "info"
    assert "No audio input device" in window.banner.text.text()


def test_without_a_converter_the_tab_says_so(qtbot, window, monkeypatch, tmp_path):
    monkeypatch.setattr("studio.convert_controller.converters", lambda: [])
    window.converting.refresh()
    try:
        assert window.convert_tab.note.isVisibleTo(window.convert_tab)
        assert "No voice converter is installed" in window.convert_tab.note.text()
        for name in ("converterSelector", "sourceDrop", "convertButton", "recordButton"):
            w = window.findChild(QWidget, name)
            assert not w.isEnabled(), name
            assert "No voice converter is installed" in w.toolTip(), name
        window.banner.hide()
        assert window.load_source(tmp_path / "anything.wav") is False
        assert window.convert() is None
        assert window.banner.isVisibleTo(window) and "No voice converter" in window.banner.text.text()
    finally:
        monkeypatch.undo()
        window.converting.refresh()
    assert window.findChild(QWidget, "converterSelector").isEnabled()


def test_convert_tab_layout_holds_at_800x600(qtbot, window):
    from PySide6.QtCore import QPoint, QRect

    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentIndex(1)
    qtbot.wait(100)
    try:
        inside = QRect(0, 0, window.width(), window.height())
        for name in ("converterSelector", "sourceDrop", "openSourceButton", "recordButton", "stopRecordButton",
                     "inputLevel", "convertButton", "stopConvertButton", "convertDraws", "playSourceButton", "playConvertedButton",
                     "exportConvertedButton", "sourceSpectrogram", "convertedSpectrogram", "convertAlignmentView"):
            w = window.findChild(QWidget, name)
            assert w.isVisible(), name
            assert inside.contains(QRect(w.mapTo(window, QPoint(0, 0)), w.size())), name
            assert w.width() >= 40 and w.height() >= 10, (name, w.size())
        for name in ("sourceSpectrogram", "convertedSpectrogram", "convertAlignmentView"):
            assert window.findChild(QWidget, name).height() >= 50, name
    finally:
        window.tabs.setCurrentIndex(0)
        window.hide()
