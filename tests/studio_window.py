"""What the studio's test modules share: one window per module on the bundled default voice (or the
voice folder $PRUFROCK_STUDIO_TEST_MODEL names), its per-test clean-up, and speaking a take."""

import os

import pytest
from PySide6.QtCore import Qt

from engine.paths import BUNDLED_MODELS

MODEL = os.environ.get("PRUFROCK_STUDIO_TEST_MODEL") or None
TEXT = "Please call Stella."
TIMEOUT_MS = 120_000


def voice_dir():
    return MODEL or str(BUNDLED_MODELS / "default")


def open_window(settings):
    from studio import create_window
    from studio.bench import wait_until

    w = create_window(model=MODEL, settings=settings)
    assert wait_until(lambda: w.can_speak() or w.last_error, 90), "the voice did not load"
    assert w.can_speak(), w.last_error
    return w


@pytest.fixture(scope="module")
def window(qapp, user_data):
    if not os.path.exists(os.path.join(voice_dir(), "config.json")):
        pytest.skip(f"no voice at {voice_dir()}")
    w = open_window(user_data / "studio.ini")
    yield w
    w.close()
    w.shutdown()


@pytest.fixture(autouse=True)
def clean_style(request):
    yield
    if "window" in request.fixturenames:
        w = request.getfixturevalue("window")
        if w.job is not None:
            from studio.bench import wait_until

            w.stop()
            wait_until(lambda: w.job is None, 30)  # its end (a partial take) must not reach the next test
        w.reset_style()
        w.banner.hide()


def speak(qtbot, window, text=TEXT, click=True):
    """Speak `text` (by the button) and return the new take, with its views drawn."""
    n = len(window.takes)
    window.text_input.setPlainText(text)
    with qtbot.waitSignal(window.jobEnded, timeout=TIMEOUT_MS) as ended:
        if click:
            qtbot.mouseClick(window.speak_button, Qt.MouseButton.LeftButton)
        else:
            window.speak()
    assert ended.args == ["take"], window.last_error
    assert len(window.takes) == n + 1
    qtbot.waitUntil(lambda: window.takes_list.currentRow() == n, timeout=5000)
    window.take_vm.flush()
    return window.takes[-1]
