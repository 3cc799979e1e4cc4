"""The studio (pytest-qt, offscreen): contract widget names, speaking with live views, playback without
or losing a device, reference clips and sliders, Stop, errors shown in the window, layout and the engine
process's priority (the takes and their export: test_studio_takes.py).

The window runs on the bundled default voice (resources/models/default); PRUFROCK_STUDIO_TEST_MODEL
may name another voice folder. One window (and its engine process) serves the whole module
(tests/studio_window.py).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

import pyqtgraph as pg  # noqa: E402
import soundfile as sf  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import (QAbstractButton, QCheckBox, QComboBox, QListWidget, QPlainTextEdit,  # noqa: E402
                               QSlider, QStatusBar, QWidget)

from engine.errors import BadInput  # noqa: E402
from engine.paths import PROJECT_ROOT  # noqa: E402

from studio_window import MODEL, TEXT, TIMEOUT_MS, clean_style, speak, voice_dir, window  # noqa: E402,F401 - fixtures

LONG_TEXT = " ".join(["Ask her to bring these things with her from the store."] * 12)
def test_contract_object_names(window):
    cfg = json.loads(open(os.path.join(voice_dir(), "config.json")).read())
    assert window.objectName() == "mainWindow"
    assert not window.isVisible()  # create_window builds it; `prufrock studio` shows it
    kinds = {
        "textInput": QPlainTextEdit, "speakButton": QAbstractButton, "stopButton": QAbstractButton,
        "playButton": QAbstractButton, "exportButton": QAbstractButton, "voiceSelector": QComboBox,
        "vocoderSelector": QComboBox, "converterSelector": QComboBox, "polishToggle": QCheckBox,
        "spectrogramView": pg.PlotWidget, "alignmentView": pg.PlotWidget, "waveformView": pg.PlotWidget,
        "styleResetButton": QAbstractButton, "referenceDrop": QWidget, "takesList": QListWidget,
        "convertTab": QWidget, "sourceDrop": QWidget, "convertButton": QAbstractButton,
        "trainingTab": QWidget, "runsList": QListWidget, "startTrainingButton": QAbstractButton,
        "stopTrainingButton": QAbstractButton, "lossPlot": pg.PlotWidget, "trainingAlignmentView": pg.PlotWidget,
        "statusBar": QStatusBar,
    }
    for name, cls in kinds.items():
        found = window.findChildren(cls, name)
        assert len(found) == 1, name
    n = cfg["gst_tokens"]
    sliders = [window.findChild(QSlider, f"styleTokenSlider{i}") for i in range(n)]
    assert all(s is not None for s in sliders) and window.findChild(QSlider, f"styleTokenSlider{n}") is None
    assert window.findChild(QWidget, "referenceDrop").acceptDrops()
    assert window.statusBar() is window.findChild(QStatusBar, "statusBar")
    vocoders = window.findChild(QComboBox, "vocoderSelector")
    assert "griffinlim" in [vocoders.itemText(i) for i in range(vocoders.count())]
    # Conversion: without an installed converter the tab says so and its controls are off
    # (tests/test_studio_convert.py installs one and converts).
    from studio.convert_controller import converters

    if not converters():
        assert "No voice converter is installed" in window.convert_tab.note.text()
        for name in ("converterSelector", "sourceDrop", "convertButton", "recordButton"):
            w = window.findChild(QWidget, name)
            assert not w.isEnabled(), name
            assert "No voice converter is installed" in w.toolTip(), name
        assert window.load_source("recording.wav") is False  # a message, not an exception
    # Polish: offered only when a polisher made for this voice is installed (none is, here).
    from engine.inference.polisher import polishers_for

    polish = window.findChild(QCheckBox, "polishToggle")
    assert polish.isEnabled() == bool(polishers_for(window.voice.name))
    if not polish.isEnabled():
        assert "No mel polisher is installed for " + window.voice.name in polish.toolTip()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process niceness on this platform")
def test_the_engine_process_runs_at_the_window_priority(window):
    # Not below it: at niceness 10 other programs busy on both cores starved it (engine/priority.py). The
    # test run's own PRUFROCK_NICENESS, when it has one, passes through.
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    engine = os.getpriority(os.PRIO_PROCESS, window.engine.process.pid)
    asked = os.environ.get("PRUFROCK_NICENESS", "").strip()
    assert engine == (max(mine, int(asked)) if asked.isdigit() else mine)


def test_the_engine_process_runs_its_models_on_one_thread(window):
    # The window's own engine (the test run sets OMP_NUM_THREADS=1, so this alone proves little) ...
    assert window.voice.threads == 1
    assert "1 thread" in window.device_label.toolTip()
    # ... and the engine process's set-up where torch would use one thread per core
    code = "from studio.engine_process import configure_process\nconfigure_process()\nimport torch\nprint('T', torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "PRUFROCK_THREADS")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    for value, expected in ((None, 1), ("2", 2)):
        if value:
            env["PRUFROCK_THREADS"] = value
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert int(out.stdout.split("T")[-1]) == expected


def test_speak_draws_live_views_and_adds_a_take(qtbot, window):
    chunks = []
    window.engine.chunk.connect(lambda job_id, ev: chunks.append(ev))
    n_items = window.takes_list.count()
    window.text_input.clear()
    qtbot.keyClicks(window.text_input, TEXT)
    with qtbot.waitSignal(window.jobEnded, timeout=TIMEOUT_MS) as ended:
        qtbot.mouseClick(window.speak_button, Qt.MouseButton.LeftButton)
        assert not window.speak_button.isEnabled() and window.stop_button.isEnabled()
    assert ended.args == ["take"], window.last_error
    assert chunks, "no decoder chunk was streamed"
    assert window.last_job.first_mel_s is not None and window.last_job.first_audio_s is not None
    qtbot.waitUntil(lambda: window.take_vm.settled and window.takes_list.currentRow() == n_items, timeout=5000)
    take = window.takes[-1]
    n_mels = window.voice.audio.n_mels
    seg = take.segments[0]
    assert take.text == TEXT and len(take.segments) == 1
    assert window.spectrogram.image_data().shape == (n_mels, seg.mel.shape[-1])
    assert window.spectrogram.image.image.shape == (seg.mel.shape[-1], n_mels)  # time on x
    np.testing.assert_allclose(window.spectrogram.image_data(), seg.mel)
    assert window.alignment.image_data().shape == (seg.alignment.shape[0], len(seg.tokens))
    assert window.alignment.tokens == seg.tokens
    assert len(window.waveform.wav) == len(take.wav) > 0
    assert window.takes_list.count() == n_items + 1
    item = window.takes_list.item(window.takes_list.count() - 1).text()
    assert "Stella" in item and "RTF" in item and take.vocoder in item
    assert "RTF" in window.rtf_label.text() and window.voice.device in window.device_label.text()
    assert window.voice.name in window.model_label.text()
    assert window.speak_button.isEnabled() and window.play_button.isEnabled()


def test_play_without_audio_device_says_so(qtbot, window):
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    assert take is not None
    qtbot.waitUntil(lambda: window.audio.devices is not None, timeout=10000)
    if window.audio.available:
        pytest.skip("this machine has an audio output device")
    with qtbot.waitSignal(window.audio.unavailable, timeout=5000, raising=False):
        window.play()
    qtbot.mouseClick(window.play_button, Qt.MouseButton.LeftButton)  # says so, blocks nothing
    assert "No audio output device" in window.statusBar().currentMessage() or window.banner.isVisible()
    assert not window.findChild(QComboBox, "outputDeviceSelector").isEnabled()


class UnpluggedOutputStream:
    """A sounddevice OutputStream whose device goes away after three blocks, samples still to play."""

    opened = []

    def __init__(self, samplerate, channels, dtype, device, callback, finished_callback):
        self.samplerate, self.callback, self.finished_callback = samplerate, callback, finished_callback
        UnpluggedOutputStream.opened.append(self)

    def start(self):
        import threading

        def run():
            out = np.zeros((1024, 1), dtype=np.float32)
            for _ in range(3):
                self.callback(out, 1024, None, None)
                time.sleep(0.01)
            self.finished_callback()  # PortAudio ends a stream whose device vanished

        threading.Thread(target=run, daemon=True).start()

    def abort(self):
        pass

    def close(self):
        pass


def test_output_device_unplugged_during_playback_says_so(qtbot, window, monkeypatch):
    import sounddevice as sd

    from studio.audio_io import DEVICE_LOST_MESSAGE

    take = window.takes[-1] if window.takes else speak(qtbot, window)
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [
        {"name": "Fake speaker", "max_input_channels": 0, "max_output_channels": 2, "default_samplerate": 16000}])
    monkeypatch.setattr(sd, "OutputStream", UnpluggedOutputStream)
    try:
        with qtbot.waitSignal(window.audio.devicesChanged, timeout=10_000):
            window.audio._probe.emit()
        assert window.audio.available
        with qtbot.waitSignal(window.audio.unavailable, timeout=10_000) as lost:
            assert window.play()
        assert lost.args == [DEVICE_LOST_MESSAGE]
        assert UnpluggedOutputStream.opened and take.duration_s * 16000 > 3 * 1024
        qtbot.waitUntil(lambda: not window.audio.playing, timeout=5000)
        assert not window.banner.isHidden() and "went away" in window.banner.text.text()
        assert window.speak_button.isEnabled()  # nothing blocks: the studio carries on
    finally:
        monkeypatch.undo()
        with qtbot.waitSignal(window.audio.devicesChanged, timeout=10_000):
            window.audio._probe.emit()  # back to this machine's real devices
        window.banner.hide()


def test_reference_clip_changes_the_style(qtbot, window, speech_wav):
    base = speak(qtbot, window, click=False).mel
    with qtbot.waitSignal(window.referenceChanged, timeout=TIMEOUT_MS):
        window.load_reference(speech_wav)
    assert window.style_vm.reference is not None, window.last_error
    assert window.style_vm.reference.name == os.path.basename(speech_wav)
    assert window.style_panel.drop.spectrogram.isVisibleTo(window)
    assert window.style_panel.drop.spectrogram.image_data().shape[0] == window.voice.audio.n_mels
    assert not window.style_panel.sliders[0].isEnabled()  # the clip overrides the sliders
    styled = speak(qtbot, window)
    assert "clip" in styled.style
    assert styled.mel.shape != base.shape or not np.allclose(styled.mel, base, atol=1e-3)
    qtbot.mouseClick(window.findChild(QAbstractButton, "styleResetButton"), Qt.MouseButton.LeftButton)
    assert window.style_vm.reference is None and window.style_panel.sliders[0].isEnabled()
    again = speak(qtbot, window)
    np.testing.assert_allclose(again.mel, base, atol=1e-4)  # back to the default style


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's QPoint constructor
def test_dropping_a_clip_on_reference_drop_loads_it(qtbot, window, speech_wav):
    drop = window.findChild(QWidget, "referenceDrop")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(speech_wav))])
    enter = QDragEnterEvent(QPointF(5, 5).toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    drop.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.referenceChanged, timeout=TIMEOUT_MS):
        drop.dropEvent(event)
    assert window.style_vm.reference is not None and window.style_vm.reference.path == str(speech_wav)


def test_moving_a_slider_changes_the_next_take(qtbot, window):
    base = speak(qtbot, window, click=False)
    n = window.voice.n_style_tokens
    assert n > 0 and len(window.style_panel.sliders) == n
    slider = window.findChild(QSlider, "styleTokenSlider0")
    slider.setValue(slider.maximum())  # as a drag would
    assert window.style_vm.touched and window.style_vm.weights[0] == pytest.approx(1.0)
    moved = speak(qtbot, window)
    assert moved.token_weights[0] == pytest.approx(1.0)
    assert moved.style.startswith("sliders")
    assert moved.mel.shape != base.mel.shape or not np.allclose(moved.mel, base.mel, atol=1e-3)


def test_stop_before_any_audio_cancels_promptly_and_adds_no_take(qtbot, window):
    n = len(window.takes)
    window.text_input.setPlainText(LONG_TEXT)
    with qtbot.waitSignal(window.firstChunk, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.speak_button, Qt.MouseButton.LeftButton)
    start = time.perf_counter()
    with qtbot.waitSignal(window.jobEnded, timeout=10_000) as ended:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["cancelled"]
    assert time.perf_counter() - start < 3.0
    assert len(window.takes) == n and window.takes_list.count() == n
    assert "Stopped" in window.statusBar().currentMessage()
    assert window.speak_button.isEnabled() and not window.stop_button.isEnabled()
    speak(qtbot, window)  # still usable


def test_waveform_fills_and_stop_keeps_a_partial_take(qtbot, window, tmp_path):
    """Audio is drawn as it is vocoded (before the take is finished); a Stop after some audio keeps
    what was made as a take marked partial."""
    n = len(window.takes)
    window.text_input.setPlainText(LONG_TEXT)
    with qtbot.waitSignal(window.firstAudio, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.speak_button, Qt.MouseButton.LeftButton)
    assert window.job is not None  # still speaking: the take is not finished
    assert window.takes_list.count() == n + 1  # the in-progress row
    assert "in progress" in window.takes_list.item(n).text()
    window.take_vm.flush()
    drawn = len(window.waveform.wav)
    assert drawn > 0 and np.abs(window.waveform.wav).max() > 0.01  # real samples, not silence
    with qtbot.waitSignal(window.jobEnded, timeout=10_000) as ended:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["partial"], window.last_error
    assert len(window.takes) == n + 1 and window.takes_list.count() == n + 1
    take = window.takes[-1]
    sentences = len([s for s in LONG_TEXT.split(".") if s.strip()])
    assert take.partial and 1 <= len(take.segments) < sentences
    assert take.duration_s > 0 and len(take.wav) >= drawn
    label = window.takes_list.item(n).text()
    assert "partial" in label and "in progress" not in label
    assert "partial" in window.statusBar().currentMessage()
    out = window.export_take(tmp_path / "partial.wav", index=n)
    assert sf.info(str(out)).duration == pytest.approx(take.duration_s, abs=1e-3)


def test_errors_show_in_the_window(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS) as shown:
        window.load_reference(bad)
    assert "broken.wav" in shown.args[0]
    assert window.banner.isVisibleTo(window) and "broken.wav" in window.banner.text.text()
    assert "Traceback" not in window.banner.text.text()
    assert window.style_vm.reference is None and window.style_vm.reference_pending is None
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.load_reference(tmp_path / "missing.wav")
    window.text_input.setPlainText("   ")
    assert window.speak() is None and window.job is None
    assert "no text" in window.banner.text.text()
    speak(qtbot, window)  # still usable


def test_exception_hook_shows_a_message(window, monkeypatch):
    from studio.app import install_exception_hook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored afterwards
    install_exception_hook(window)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert "ValueError: boom" in window.banner.text.text()
    assert "Traceback" not in window.banner.text.text()
    sys.excepthook(BadInput, BadInput("a plain message"), None)
    assert window.banner.text.text().endswith("a plain message")


def test_about_names_the_models(window):
    dialog = window.show_about()
    text = dialog.browser.toPlainText()
    assert window.voice.name in text and "Griffin-Lim" in text
    card_line = window.voice.card.strip().splitlines()[0].lstrip("# ").strip()
    assert card_line and card_line in text
    dialog.close()


def test_settings_are_remembered(window):
    from studio.settings import Settings

    window.save_settings()
    s = Settings.from_file(window.settings.q.fileName())
    assert s.last_voice == window.voice.path
    assert s.vocoder == "griffinlim"


def test_studio_command_without_display_exits_2(monkeypatch, capsys):
    from engine.cli import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["studio"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "display" in err[0]


def test_measure_gui_stall_reports_its_figures(qapp):
    if not os.path.exists(os.path.join(voice_dir(), "config.json")):
        pytest.skip(f"no voice at {voice_dir()}")
    from studio.bench import measure_gui_stall

    figures = measure_gui_stall("Hello there.", model=MODEL, warmup=False)
    for key in ("gui_max_stall_ms", "first_chunk_s", "take_s"):
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["first_chunk_s"] <= figures["take_s"]


def test_banner_is_cleared_when_the_thing_succeeds(qtbot, window, tmp_path, speech_wav):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT_MS):
        window.load_reference(bad)
    assert window.banner.isVisibleTo(window) and window.banner.topic == "reference"
    with qtbot.waitSignal(window.referenceChanged, timeout=TIMEOUT_MS):
        window.load_reference(speech_wav)
    assert window.style_vm.reference is not None
    assert not window.banner.isVisibleTo(window)  # the clip now works: the complaint is gone
    window.text_input.setPlainText("  ")
    assert window.speak() is None and window.banner.isVisibleTo(window) and window.banner.topic == "text"
    speak(qtbot, window, text=TEXT, click=False)
    assert not window.banner.isVisibleTo(window)
    # A message about something else stays.
    window.show_error("something unrelated", topic="other")
    speak(qtbot, window, click=False)
    assert window.banner.isVisibleTo(window)


def test_layout_holds_at_800x600(qtbot, window):
    """Every control of the Speak tab inside the window at 800x600; the style sliders scroll rather
    than overlap; the plots keep a usable height."""
    from PySide6.QtCore import QRect

    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(100)
    try:
        assert window.width() <= 820 and window.height() <= 620
        inside = QRect(0, 0, window.width(), window.height())
        names = ["textInput", "speakButton", "stopButton", "playButton", "exportButton", "voiceSelector",
                 "vocoderSelector", "takesList", "spectrogramView", "waveformView", "alignmentView",
                 "styleResetButton", "referenceDrop"]
        for name in names:
            w = window.findChild(QWidget, name)
            assert w.isVisible(), name
            top_left = w.mapTo(window, w.rect().topLeft())
            rect = QRect(top_left, w.size())
            assert inside.contains(rect), (name, rect, inside)
            assert w.width() >= 40 and w.height() >= 20, (name, w.size())
        for name in ("spectrogramView", "waveformView", "alignmentView"):
            assert window.findChild(QWidget, name).height() >= 50, name
        sliders = window.style_panel.sliders
        assert sliders
        rects = [QRect(s.mapTo(window.style_panel.grid_host, s.rect().topLeft()), s.size()) for s in sliders]
        for a, b in zip(rects, rects[1:]):
            assert not a.intersects(b)  # stacked, not squashed onto each other
            assert b.top() >= a.bottom()
        assert all(s.height() >= 12 for s in sliders)
    finally:
        window.hide()
        window.resize(1320, 840)


def test_a_job_run_again_by_the_engine_starts_over(window, monkeypatch):
    """The engine re-runs a job from the start after CUDA ran out of memory (a second jobStarted with
    the same id): what the first attempt fed to playback is stopped, and the retry's audio opens a new
    stream instead of being appended after it."""
    from engine.inference.pipeline import AudioChunk, Started
    from studio.engine_process import SegmentLabels
    from studio.workers import SpeakJob

    calls = []
    monkeypatch.setattr(window.audio, "begin", lambda sr: calls.append("begin") or True)
    monkeypatch.setattr(window.audio, "feed", lambda wav: calls.append(len(wav)))
    monkeypatch.setattr(window.audio, "stop", lambda: calls.append("stop"))
    ctl = window.speaking
    job = SpeakJob("Run me twice.")
    monkeypatch.setattr(window, "job", job)
    monkeypatch.setattr(ctl, "_fed_segment", -1)  # as start() leaves it
    monkeypatch.setattr(ctl, "stream_open", False)
    started = Started([SegmentLabels(0, "Run me twice.", ["r", "ah", "n"])], None)
    wav = np.zeros(800, dtype=np.float32)
    ctl.started(job.id, started)
    ctl.audio_chunk(job.id, AudioChunk(0, wav, last=False))
    assert calls == ["begin", 800] and job.first_audio_s is not None
    ctl.started(job.id, started)  # the engine starts the job again
    assert calls[-1] == "stop" and not ctl.stream_open and job.first_audio_s is None
    ctl.audio_chunk(job.id, AudioChunk(0, wav[:400], last=False))
    assert calls[-2:] == ["begin", 400]  # a new stream, not the old one continued
