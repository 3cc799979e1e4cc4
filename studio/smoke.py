"""A smoke run of the studio for packaged builds: `prufrock studio --smoke OUT.wav` opens the main window
offscreen on the bundled default voice, types a sentence, presses Speak, waits for the take, exports it
and exits 0 (1 on any failure, with one line saying why). packaging/smoke.sh runs it on a frozen build.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

SMOKE_TEXT = "The packaged studio speaks this sentence."


def run_smoke(out: str | os.PathLike, text: str = SMOKE_TEXT, timeout_s: float = 180.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scratch = Path(tempfile.mkdtemp(prefix="prufrock-smoke-"))
    os.environ.setdefault("PRUFROCK_DATA_DIR", str(scratch / "data"))  # no takes or settings of the user
    from PySide6.QtWidgets import QAbstractButton, QApplication, QPlainTextEdit

    from studio.app import create_window
    from studio.bench import wait_until

    app = QApplication.instance() or QApplication(["prufrock-smoke"])
    window = create_window(settings=str(scratch / "settings.ini"))
    try:
        if not wait_until(lambda: window.can_speak() or window.last_error, timeout_s) or not window.can_speak():
            print(f"smoke: the voice did not load ({window.last_error or 'timeout'})", file=sys.stderr)
            return 1
        n = len(window.takes)
        window.findChild(QPlainTextEdit, "textInput").setPlainText(text)
        window.findChild(QAbstractButton, "speakButton").click()
        if not wait_until(lambda: len(window.takes) > n or window.last_error, timeout_s) or len(window.takes) <= n:
            print(f"smoke: no take was made ({window.last_error or 'timeout'})", file=sys.stderr)
            return 1
        window.export_take(str(out))
        print(f"smoke: take exported to {out}", file=sys.stderr)
        return 0
    finally:
        window.shutdown()
        window.deleteLater()
        app.processEvents()
