"""Issue 13's views, style tokens, keyboard, banners, dialogs and layout (pytest-qt, offscreen, engine
process included): a colour bar in dB; empty plots show a hint, not numbers; zoom, pan, one time
cursor and the playhead across spectrogram, waveform and alignment; click to play from a point; the
alignment's full symbol label on hover; sliders that say what their token does (measured in the engine
process, cached by voice name) with a per-token preview; a reference-clip take that states the F0 and
rate it aimed for; every action with its shortcut in menus and tooltips; a banner that moves nothing;
file dialogs in the last folder used; the training tab's legend off the curves; 1920x1080."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QPoint, QPointF, QRect, Qt  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QWidget  # noqa: E402

from engine.paths import BUNDLED_MODELS  # noqa: E402

TIMEOUT_MS = 120_000
TEXT = "Please call Stella. Ask her to bring these things."


@pytest.fixture(scope="module")
def window(qapp, user_data):
    if not (BUNDLED_MODELS / "default" / "config.json").exists():
        pytest.skip("no bundled default voice")
    from studio import create_window
    from studio.bench import wait_until

    w = create_window(settings=user_data / "studio.ini")
    assert wait_until(lambda: w.can_speak() or w.last_error, 120), "the voice did not load"
    assert w.can_speak(), w.last_error
    w.resize(1320, 840)
    w.show()
    yield w
    w.close()
    w.shutdown()


def speak(qtbot, w, text=TEXT):
    with qtbot.waitSignal(w.jobEnded, timeout=TIMEOUT_MS) as ended:
        assert w.speak(text) is not None
    assert ended.args == ["take"], w.last_error
    qtbot.waitUntil(lambda: w.takes_list.currentRow() == len(w.takes) - 1, timeout=5000)
    w.take_vm.flush()
    return w.takes[-1]


def _scene_point(view, x, y):
    return view.getViewBox().mapViewToScene(QPointF(x, y))


def test_empty_plots_show_a_hint_not_numbers(window):
    # A fresh user data folder: no take yet, nothing shown.
    assert not window.takes
    for view in (window.spectrogram, window.waveform, window.alignment):
        assert view.placeholder.label.isVisibleTo(window), view.objectName()
        assert view.placeholder.label.text()
        for name in ("left", "bottom"):
            assert view.getPlotItem().getAxis(name).style["showValues"] is False, (view.objectName(), name)
    # The training tab's empty plots too.
    tab = window.training_tab
    assert tab.findChild(QWidget, "lossPlot").placeholder.label.isVisibleTo(tab)


def test_colour_bar_in_db_and_views_after_a_take(qtbot, window):
    take = speak(qtbot, window)
    spec = window.spectrogram
    for view in (spec, window.waveform, window.alignment):
        assert not view.placeholder.label.isVisibleTo(window), view.objectName()
        assert view.getPlotItem().getAxis("bottom").style["showValues"] is True
    bar = spec.colorbar
    assert bar is not None and "dB" in (bar.getAxis("left").labelText, bar.getAxis("right").labelText)
    db = 20 / np.log(10)
    lo, hi = bar.levels()
    assert lo == pytest.approx(np.log(window.voice.audio.log_floor) * db, abs=0.01)  # -100 dB
    assert hi > 0
    np.testing.assert_allclose(spec.image.image, spec.image_data().T * db, rtol=1e-5, atol=1e-4)  # drawn in dB
    n0 = take.segments[0].mel.shape[-1]
    np.testing.assert_allclose(spec.image_data()[:, :n0], take.segments[0].mel)
    # The time axes of the spectrogram and the waveform line up (the waveform reserves the bar's width).
    a = spec.getViewBox().sceneBoundingRect()
    b = window.waveform.getViewBox().sceneBoundingRect()
    assert abs(a.left() - b.left()) <= 2 and abs(a.width() - b.width()) <= 2


def test_after_a_take_the_views_fit_it_and_a_redraw_keeps_their_drawn_axes(qtbot, window):
    """The views stop following the stream and fit the take when they draw it (refitting all of them
    the moment the job ended was the longest pause of the GUI thread), and redrawing data in the same
    range reuses each axis's drawn ticks (restyling the axes on every update threw them away: 2-3 ms of
    tick layout per axis per frame while streaming)."""
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    spec, align, wave = window.spectrogram, window.alignment, window.waveform
    qtbot.waitUntil(lambda: not spec.live and not align.live, timeout=2000)
    (s0, s1), _ = align.getViewBox().viewRange()
    steps = sum(s.alignment.shape[0] for s in take.segments)
    assert s0 <= 0.5 and s1 >= steps - 1  # the whole take, not the last live page
    axes = [v.getPlotItem().getAxis(name) for v in (spec, align, wave) for name in ("left", "bottom")]
    # Paint until the layout has settled (a first take can widen an axis's labels once): every axis
    # has drawn its ticks.
    qtbot.waitUntil(lambda: window.grab() is not None and all(a.picture is not None for a in axes), timeout=5000)
    spec.set_mel(spec.image_data())
    align.set_alignment(align.image_data(), align.tokens)
    wave.set_wave(wave.wav, wave.sample_rate)
    assert [a.picture is not None for a in axes] == [True] * len(axes)
    # A view whose data does not change after its job (a cancelled one) fits it a moment later.
    spec.follow(True)
    spec.setXRange(0, 100, padding=0)
    spec.follow(False)
    assert spec.getViewBox().viewRange()[0][1] == pytest.approx(100)  # not in this turn
    qtbot.waitUntil(lambda: spec.getViewBox().viewRange()[0][1] < take.duration_s + 1, timeout=3000)


def test_zoom_pan_and_one_time_cursor_across_the_views(qtbot, window):
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    link = window.speak_tab.time_link
    assert len(link.map.pieces) == len(take.segments) == 2
    frames0 = take.segments[0].mel.shape[-1]
    steps0 = take.segments[0].alignment.shape[0]
    hop_s = window.voice.audio.hop_length / window.voice.audio.sample_rate
    assert link.map.step(frames0 * hop_s) == pytest.approx(steps0, abs=0.01)  # end of sentence 1
    # Zooming the spectrogram zooms the waveform (seconds) and the alignment (mapped to steps).
    window.spectrogram.setXRange(0.4, 1.2, padding=0)
    qtbot.wait(50)
    (w0, w1), _ = window.waveform.getViewBox().viewRange()
    assert (w0, w1) == (pytest.approx(0.4, abs=1e-3), pytest.approx(1.2, abs=1e-3))
    (s0, s1), _ = window.alignment.getViewBox().viewRange()
    assert s0 == pytest.approx(link.map.step(0.4), abs=0.05) and s1 == pytest.approx(link.map.step(1.2), abs=0.05)
    # Panning the alignment moves the time views.
    window.alignment.setXRange(steps0 + 2, steps0 + 12, padding=0)
    qtbot.wait(50)
    (t0, t1), _ = window.spectrogram.getViewBox().viewRange()
    assert t0 == pytest.approx(link.map.seconds(steps0 + 2), abs=1e-3)
    assert t0 > frames0 * hop_s  # in the second sentence, past the gap
    # The mouse over the waveform puts one cursor in all three views at the same time.
    t = (t0 + t1) / 2
    window.waveform.scene().sigMouseMoved.emit(_scene_point(window.waveform, t, 0.0))
    cursors = link.cursors
    assert all(line.isVisible() for line in cursors.values())
    assert cursors[window.spectrogram].value() == pytest.approx(t)
    assert cursors[window.alignment].value() == pytest.approx(link.map.step(t))
    # Ctrl+0 shows everything again.
    window.actions["fitViews"].trigger()
    (t0, t1), _ = window.spectrogram.getViewBox().viewRange()
    assert t0 <= 0.01 and t1 >= take.duration_s - 0.05


def test_alignment_names_the_symbol_under_the_mouse(qtbot, window):
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    view = window.alignment
    tokens = view.tokens
    i = len(take.segments[0].tokens) // 2
    assert tokens[i] in view.hover_text(3.0, i + 0.5) and f"{i + 1}/{len(tokens)}" in view.hover_text(3.0, i + 0.5)
    window.actions["fitViews"].trigger()
    view.scene().sigMouseMoved.emit(_scene_point(view, 3.0, i + 0.5))
    assert view.hover.isVisible() and tokens[i] in view.hover.textItem.toPlainText()
    # The axis thins its labels to fit: at this height not every symbol is labelled, the hover names each.
    ticks = view.token_axis.tickValues(0, len(tokens), 120)[0][1]
    assert len(ticks) < len(tokens)


def test_click_plays_from_that_point_with_a_playhead(qtbot, window, monkeypatch):
    take = window.takes[-1] if window.takes else speak(qtbot, window)
    played = []
    monkeypatch.setattr(window.audio, "play", lambda wav, sr: played.append((np.asarray(wav), sr)) or True)
    window.actions["fitViews"].trigger()
    qtbot.wait(50)
    spec = window.spectrogram
    t = 1.0
    pos = spec.mapFromScene(_scene_point(spec, t, 40.0))
    qtbot.mouseClick(spec.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))
    assert played, "a click in the spectrogram did not play"
    wav, sr = played[-1]
    start = len(take.wav) - len(wav)
    assert start / sr == pytest.approx(t, abs=0.05)
    np.testing.assert_allclose(wav, take.wav[start:])
    assert window.play_offset_s == pytest.approx(t, abs=0.05)
    # During playback the playhead is drawn in all three views at offset + position.
    monkeypatch.setattr(window.audio, "position_s", lambda: 0.5)
    window._move_playhead()
    link = window.speak_tab.time_link
    assert window.waveform.playhead.isVisible()
    assert window.waveform.playhead.value() == pytest.approx(window.play_offset_s + 0.5)
    assert link.heads[spec].value() == pytest.approx(window.play_offset_s + 0.5)
    assert link.heads[window.alignment].value() == pytest.approx(link.map.step(window.play_offset_s + 0.5))
    window._playing_changed(False)
    assert not window.waveform.playhead.isVisible() and not link.heads[spec].isVisible()


def test_sliders_say_what_their_token_does_and_preview_it(qtbot, window):
    from studio.token_effects import EMPHASIS, PHRASE, token_cache_path

    n = window.voice.n_style_tokens
    if not window.style.effects.get(window.voice.name):
        with qtbot.waitSignal(window.tokensMeasured, timeout=TIMEOUT_MS * 2):
            pass
    effects = window.style.effects[window.voice.name]
    assert len(effects) == n
    words = {"higher", "lower", "faster", "slower", "louder", "softer", "little change"}
    for e, label, slider in zip(effects, window.style_panel.labels, window.style_panel.sliders):
        assert label.text().startswith(f"{e.token} · ") and set(e.words.split(", ")) <= words
        assert "Hz" in label.toolTip() and "semitones" in label.toolTip() and e.words in slider.toolTip()
        assert e.base_f0_hz > 50 and e.f0_hz > 50 and e.rate > 0  # measured, not made up
    assert any(e.words != "little change" for e in effects)
    cache = token_cache_path(window.voice.name)
    data = json.loads(cache.read_text())
    assert data["voice"] == window.voice.name and len(data["effects"]) == n and data["phrase"] == PHRASE
    # ▶ speaks the fixed phrase with that token emphasised; the sliders and the text stay.
    text_before = window.text_input.toPlainText()
    button = window.findChild(QAbstractButton, "styleTokenPreview2")
    with qtbot.waitSignal(window.jobEnded, timeout=TIMEOUT_MS) as ended:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert ended.args == ["take"], window.last_error
    take = window.takes[-1]
    defaults = window.style_vm.default_weights
    assert take.style.startswith("preview of token 2")
    assert take.text == PHRASE and take.token_weights[2] == pytest.approx(min(1.0, defaults[2] + EMPHASIS))
    assert not window.style_vm.touched
    qtbot.wait(50)
    assert window.text_input.toPlainText() == text_before


def test_reference_clip_take_states_what_it_aimed_for(qtbot, window, speech_wav):
    with qtbot.waitSignal(window.referenceChanged, timeout=TIMEOUT_MS):
        window.load_reference(speech_wav)
    ref = window.style_vm.reference
    assert ref is not None and 60 < ref.f0_hz < 400 and 1 < ref.rate_sps < 12
    take = speak(qtbot, window, "Bring the books.")
    assert f"aimed for F0 {ref.f0_hz:.0f} Hz" in take.style and "syllables/s" in take.style
    window.reset_style()


def test_every_action_has_a_shortcut_in_menus_and_tooltips(qtbot, window):
    for name, act in window.actions.items():
        assert not act.shortcut().isEmpty(), name
    menus = [a.menu() for a in window.menuBar().actions() if a.menu()]
    listed = {a.objectName() for m in menus for a in m.actions() if a.objectName()}
    assert {f"{n}Action" for n in window.actions} <= listed
    for name in ("speakButton", "stopButton", "playButton", "exportButton", "deleteTakeButton", "styleResetButton",
                 "referenceDrop", "convertButton", "stopConvertButton", "playSourceButton", "playConvertedButton",
                 "openSourceButton", "startTrainingButton", "stopTrainingButton", "resumeTrainingButton",
                 "followRunButton", "useAsModelButton", "openRunFolderButton"):
        tip = window.findChild(QWidget, name).toolTip()
        assert "Ctrl+" in tip or "Esc" in tip or "Del" in tip, (name, tip)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 2
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0


def test_a_banner_moves_nothing(qtbot, window):
    window.banner.hide()
    qtbot.wait(20)
    before = {name: window.findChild(QWidget, name).geometry() for name in
              ("mainTabs", "textInput", "spectrogramView", "takesList")}
    window.show_error("A long message that wraps: " + "something went wrong and this says how to fix it. " * 4)
    qtbot.wait(20)
    assert window.banner.isVisible()
    inside = QRect(0, 0, window.width(), window.height())
    banner = QRect(window.banner.mapTo(window, QPoint(0, 0)), window.banner.size())
    assert inside.contains(banner) and banner.height() < 120
    for name, rect in before.items():
        assert window.findChild(QWidget, name).geometry() == rect, name
    window.banner.hide()
    for name, rect in before.items():
        assert window.findChild(QWidget, name).geometry() == rect, name


def test_file_dialogs_open_in_the_last_folder_used(qtbot, window, tmp_path, monkeypatch, speech_wav):
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "clips"
    folder.mkdir()
    clip = folder / "clip.wav"
    clip.write_bytes(speech_wav.read_bytes())
    asked = []

    def fake_open(parent, title, start, filters=""):
        asked.append(start)
        return str(clip), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda p, t, start, f="": (asked.append(start)
                                                                                            or ("", ""))))
    with qtbot.waitSignal(window.referenceChanged, timeout=TIMEOUT_MS):
        window.style_panel.drop.open_dialog()
    window.reset_style()
    window.takes_ctl.export_dialog()  # opens where the clip was chosen
    assert os.path.dirname(asked[-1]) == str(folder)
    window.settings.remember_file(tmp_path / "elsewhere.wav")
    window.style_panel.drop.open_dialog()
    assert asked[-1] == str(tmp_path)
    qtbot.waitUntil(lambda: window.style_vm.reference_pending is None, timeout=TIMEOUT_MS)
    window.reset_style()


def test_layout_holds_at_1920x1080(qtbot, window):
    window.resize(1920, 1080)
    qtbot.wait(100)
    try:
        inside = QRect(0, 0, window.width(), window.height())
        for name in ("textInput", "speakButton", "stopButton", "playButton", "exportButton", "voiceSelector",
                     "vocoderSelector", "takesList", "spectrogramView", "waveformView", "alignmentView",
                     "styleResetButton", "referenceDrop"):
            w = window.findChild(QWidget, name)
            assert w.isVisible(), name
            assert inside.contains(QRect(w.mapTo(window, QPoint(0, 0)), w.size())), name
        spec = window.spectrogram
        assert spec.width() >= 1100 and spec.height() >= 250  # the plots get the room
        assert window.style_panel.sliders[-1].isVisible()
        window.tabs.setCurrentIndex(1)
        qtbot.wait(50)
        for name in ("sourceDrop", "convertButton", "recordButton", "converterSelector", "sourceSpectrogram",
                     "convertedSpectrogram", "convertAlignmentView"):
            w = window.findChild(QWidget, name)
            assert w.isVisible() and inside.contains(QRect(w.mapTo(window, QPoint(0, 0)), w.size())), name
    finally:
        window.tabs.setCurrentIndex(0)
        window.resize(1320, 840)


def test_training_legend_does_not_cover_the_curves(qapp):
    from studio.views.loss_plot import LossPlot

    plot = LossPlot()
    plot.resize(600, 300)
    plot.show()
    x = np.arange(300)
    plot.set_series({"total": (x, 3 * np.exp(-x / 80) + 0.3), "mel": (x, 2 * np.exp(-x / 90)),
                     "stop": (x, 0.4 * np.exp(-x / 40)), "val": (x[::30], 3 * np.exp(-x[::30] / 80) + 0.4)})
    qapp.processEvents()
    legend = plot.legend.sceneBoundingRect()
    area = plot.getViewBox().sceneBoundingRect()
    assert plot.legend.isVisible() and legend.height() > 5
    assert not legend.intersects(area), (legend, area)
    plot.close()


def test_polished_take_shows_its_mel_before_and_after(qtbot, window, user_data):
    """Polish on: the take is polished, and the spectrogram toggles between the mel before and after
    polishing; the before-mel survives a restart with the take."""
    from studio.bench import wait_until
    from studio.take_store import TakeStore

    toggle = window.speak_tab.before_polish
    assert window.polish_toggle.isEnabled(), window.polish_toggle.toolTip()  # default-polisher is bundled
    window.polish_toggle.setChecked(True)
    try:
        assert wait_until(lambda: window.polisher_name == "default-polisher" or window.last_error, 60), \
            window.last_error
        take = speak(qtbot, window, "Bring the books.")
        assert take.polished and take.mels_before_polish is not None
        assert toggle.isEnabled()
        after = np.array(window.spectrogram._data)
        toggle.setChecked(True)
        before = np.array(window.spectrogram._data)
        assert before.shape == after.shape and not np.allclose(before, after)
        np.testing.assert_allclose(before[:, : take.mels_before_polish[0].shape[-1]], take.mels_before_polish[0])
        toggle.setChecked(False)
        np.testing.assert_allclose(window.spectrogram._data, after)
        window.takes_ctl.store.flush(timeout_s=30)
        back = TakeStore().load(take.folder)
        np.testing.assert_allclose(back.mels_before_polish[0], take.mels_before_polish[0])
    finally:
        toggle.setChecked(False)
        window.polish_toggle.setChecked(False)
    speak(qtbot, window, "Bring the books.")  # an unpolished take: nothing to compare
    assert not toggle.isEnabled()
