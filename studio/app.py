"""Entry points: create_window() (inside a running QApplication) and main() (the `prufrock studio` app)."""

from __future__ import annotations

import logging
import logging.handlers
import signal
import sys
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from engine.errors import BadInput, NotBuiltYet
from engine.paths import user_data_dir
from studio.settings import APPLICATION, ORGANISATION
from studio.window import ICON, MainWindow

log = logging.getLogger("prufrock.studio")


def create_window(model=None, settings=None, vocoder: str | None = None, device: str = "auto",
                  install_excepthook: bool = False) -> MainWindow:
    """Build the main window (objectName "mainWindow", not shown) on the bundled default voice, or on
    `model` (a NAME or folder). `settings`: a Settings, QSettings or INI file path (default: the
    user's QSettings "Prufrock"/"Prufrock"). The voice loads in a worker thread; the window's
    `voiceReady` signal fires when Speak can be used."""
    app = QApplication.instance()
    if app is None:
        raise RuntimeError("create_window() needs a QApplication: create one first")
    window = MainWindow(model=model, settings=settings, vocoder=vocoder, device=device)
    if install_excepthook:
        install_exception_hook(window)
    return window


def install_exception_hook(window: MainWindow) -> None:
    """Route uncaught exceptions of the GUI thread to a one-line message in the window; the traceback
    goes to the log only."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if isinstance(exc, (BadInput, NotBuiltYet)):
            message = str(exc)
        else:
            log.error("uncaught exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message = f"Unexpected error: {exc_type.__name__}{': ' + text if text else ''} (details in the log)"
        try:
            window.show_error(message)
        except Exception:  # noqa: BLE001 - the window may be gone
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = hook


def setup_logging() -> str | None:
    """Log to stderr and to studio.log in the user data folder. -> the log file path."""
    root = logging.getLogger("prufrock")
    if root.handlers:
        return None
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    err = logging.StreamHandler()
    err.setFormatter(fmt)
    err.setLevel(logging.WARNING)
    root.addHandler(err)
    try:
        folder = user_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(folder / "studio.log", maxBytes=1_000_000, backupCount=2)
        fh.setFormatter(fmt)
        root.addHandler(fh)
        return str(folder / "studio.log")
    except OSError:
        return None


def main(argv=None, model=None, vocoder: str | None = None, device: str = "auto") -> int:
    setup_logging()
    app = QApplication.instance() or QApplication(list(sys.argv[:1] if argv is None else argv))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Prufrock Studio")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    window = create_window(model=model, vocoder=vocoder, device=device, install_excepthook=True)
    app.aboutToQuit.connect(window.shutdown)
    # Ctrl+C in the terminal closes the window (Python sees signals only while it runs: tick it).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer(window)
    tick.start(250)
    tick.timeout.connect(lambda: None)
    window.show()
    return app.exec()
