"""The window's menus: every action of the studio with its keyboard shortcut, which the menus show
beside each entry and the matching buttons repeat in their tooltips.

    File      Load reference clip Ctrl+O · Open recording to convert Ctrl+Shift+O · Export take Ctrl+S
              · Delete take Del · Quit Ctrl+Q
    Speak     Speak Ctrl+Return · Stop Esc · Play take Ctrl+P · Reset style Ctrl+Shift+R · Edit text Ctrl+L
              · Previous / next take Alt+Up / Alt+Down
    Convert   Convert Ctrl+Shift+Return · Record / stop recording Ctrl+R · Play source Ctrl+Shift+1
              · Play converted Ctrl+Shift+2
    Training  Start Ctrl+Shift+T · Stop Ctrl+Shift+X · Resume Ctrl+Shift+E · Follow a run folder Ctrl+Shift+F
              · Open its folder Ctrl+Shift+D · Use as model Ctrl+Shift+U · Play sample Ctrl+Shift+3
    View      Speak / Convert / Training tab Ctrl+1/2/3 · Fit the views Ctrl+0 · Before polish Ctrl+B
    Help      About F1

Menu mnemonics (Alt+F, Alt+K, Alt+N, Alt+R, Alt+V, Alt+H) leave Alt+S, Alt+C and Alt+T to the tabs.
Speak, Stop and Play take keep the shortcuts their widgets own (the text pane's Ctrl+Return, the
window's Esc and Ctrl+P): their menu entries show the keys without a second, clashing shortcut.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut


def _native(keys: str) -> str:
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


def build_menus(w) -> dict[str, QAction]:
    """Fill the window's menu bar; -> the actions by name (objectName `NAMEAction`)."""
    actions: dict[str, QAction] = {}

    def add(menu, name: str, text: str, keys: str | None, slot, owned_elsewhere: bool = False) -> QAction:
        act = QAction(text, w, objectName=f"{name}Action")
        if keys:
            act.setShortcut(QKeySequence(keys))
            if owned_elsewhere:  # shown in the menu; a widget's own shortcut does the work
                act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        actions[name] = act
        return act

    bar = w.menuBar()
    m = bar.addMenu("&File")
    add(m, "loadReference", "Load reference clip…", "Ctrl+O", lambda: w.style_panel.drop.open_dialog())
    add(m, "openSource", "Open recording to convert…", "Ctrl+Shift+O", lambda: w.converting.open_dialog())
    add(m, "exportTake", "Export take…", "Ctrl+S", lambda: w.takes_ctl.export_dialog())
    add(m, "deleteTake", "Delete take", "Del", lambda: w.takes_pane._delete_selected(), owned_elsewhere=True)
    m.addSeparator()
    add(m, "quit", "Quit", QKeySequence(QKeySequence.StandardKey.Quit).toString() or "Ctrl+Q", w.close)

    m = bar.addMenu("Spea&k")  # Alt+S, Alt+C and Alt+T are the tabs
    add(m, "speak", "Speak", "Ctrl+Return", lambda: w.speak(), owned_elsewhere=True)
    add(m, "stop", "Stop", "Escape", w.stop, owned_elsewhere=True)
    add(m, "playTake", "Play take", "Ctrl+P", lambda: w.play(), owned_elsewhere=True)
    add(m, "resetStyle", "Reset style", "Ctrl+Shift+R", w.reset_style)
    add(m, "editText", "Edit text", "Ctrl+L", lambda: (w.tabs.setCurrentIndex(0), w.text_input.setFocus()))
    m.addSeparator()
    add(m, "previousTake", "Previous take", "Alt+Up", lambda: _step_take(w, -1))
    add(m, "nextTake", "Next take", "Alt+Down", lambda: _step_take(w, +1))

    m = bar.addMenu("Co&nvert")
    add(m, "convert", "Convert", "Ctrl+Shift+Return", lambda: w.convert())
    add(m, "record", "Record / stop recording", "Ctrl+R",
        lambda: w.stop_recording() if w.converting.recording() else w.record())
    add(m, "playSource", "Play source", "Ctrl+Shift+1", lambda: w.converting.play_source())
    add(m, "playConverted", "Play converted", "Ctrl+Shift+2", lambda: w.converting.play_converted())

    m = bar.addMenu("T&raining")
    tt = w.training_tab
    training_keys: list = []
    for name, text, keys, button in (
            ("startTraining", "Start training", "Ctrl+Shift+T", tt.form.start_button),
            ("stopTraining", "Stop training", "Ctrl+Shift+X", tt.panel.stop_button),
            ("resumeTraining", "Resume training", "Ctrl+Shift+E", tt.panel.resume_button),
            ("followRun", "Follow a run folder…", "Ctrl+Shift+F", tt.panel.follow_button),
            ("openRunFolder", "Open the run's folder", "Ctrl+Shift+D", tt.panel.open_button),
            ("useAsModel", "Use the run as a model", "Ctrl+Shift+U", tt.panel.use_button),
            ("playSample", "Play the latest sample", "Ctrl+Shift+3", tt.monitor.sample_play)):
        add(m, name, text, keys, lambda _=False, b=button: (w.tabs.setCurrentIndex(2), b.click()))
        training_keys.append((button, keys))

    m = bar.addMenu("&View")
    for i, (name, title) in enumerate((("speakTab", "Speak tab"), ("convertTab", "Convert tab"),
                                       ("trainingTab", "Training tab"))):
        add(m, name, title, f"Ctrl+{i + 1}", lambda _=False, i=i: w.tabs.setCurrentIndex(i))
    add(m, "fitViews", "Fit the views", "Ctrl+0", lambda: fit_views(w))
    add(m, "beforePolish", "Show the mel before polishing", "Ctrl+B",
        lambda: w.speak_tab.before_polish.isEnabled() and w.speak_tab.before_polish.toggle())

    m = bar.addMenu("&Help")
    add(m, "about", "About Prufrock…", "F1", w.show_about)

    QShortcut(QKeySequence("Escape"), w, activated=w.stop)
    QShortcut(QKeySequence("Ctrl+P"), w, activated=lambda: w.play())
    _tooltips(w, training_keys)
    return actions


def _step_take(w, step: int) -> None:
    n = w.takes_list.count()
    if n:
        row = w.takes_list.currentRow()
        w.takes_list.setCurrentRow(min(max(0, (row if row >= 0 else n) + step), n - 1))


def fit_views(w) -> None:
    """Show the whole take again in every view (after zooming)."""
    for view in (w.spectrogram, w.waveform, w.alignment, w.convert_tab.source_view, w.convert_tab.converted_view,
                 w.convert_tab.alignment):
        view.follow(False) if hasattr(view, "follow") else None
        view.getViewBox().autoRange(padding=0)
        if hasattr(view, "user_moved"):
            view.user_moved = False
    w.waveform.setYRange(-1.0, 1.0, padding=0.02)
    for view in (w.spectrogram, w.convert_tab.source_view, w.convert_tab.converted_view):
        if view.audio is not None:
            view.setYRange(0, view.audio.n_mels, padding=0)


def _tooltips(w, more=()) -> None:
    """Buttons without their shortcut in the tooltip get it (the text says what; the keys, how)."""
    t = w.convert_tab
    for button, keys in ((w.stop_button, "Escape"), (w.play_button, "Ctrl+P"), (w.export_button, "Ctrl+S"),
                         (w.takes_pane.delete_button, "Del"), (w.style_panel.reset, "Ctrl+Shift+R"),
                         (w.style_panel.drop, "Ctrl+O"), (t.convert, "Ctrl+Shift+Return"), (t.record, "Ctrl+R"),
                         (t.stop, "Escape"), (t.play_source, "Ctrl+Shift+1"), (t.play_converted, "Ctrl+Shift+2"),
                         (t.open, "Ctrl+Shift+O"), (t.export, "Ctrl+S"), *more):
        tip = button.toolTip()
        native = _native(keys)
        if native not in tip and keys not in tip:
            button.setToolTip(f"{tip} ({native})" if tip else native)
