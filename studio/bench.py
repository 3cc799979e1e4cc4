"""Responsiveness of the studio while it speaks (used by `prufrock bench`).

    from studio.bench import measure_gui_stall
    measure_gui_stall("Twenty or thirty words of text ...")
    -> {"gui_max_stall_ms": 12.3, "first_chunk_s": 0.21, "take_s": 1.9, ...}
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def wait_until(predicate, timeout_s: float, step_ms: int = 5) -> bool:
    """Run the Qt event loop until predicate() is true (QEventLoop, so worker threads get the GIL)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + timeout_s
    loop = QEventLoop()
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        QTimer.singleShot(step_ms, loop.quit)
        loop.exec()
    return True


def _app():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QApplication(["prufrock-bench"])
    return app


def measure_gui_stall(text: str, model=None, warmup: bool = True, tick_ms: int = 5,
                      timeout_s: float = 300.0, vocoder: str | None = "griffinlim") -> dict:
    """Open the studio (offscreen unless a display is in use), speak `text` while a `tick_ms` QTimer
    runs on the GUI thread, and wait for the take.

    Returns gui_max_stall_ms (the longest gap between two ticks, from the Speak click to the take
    being listed; ideal = tick_ms), first_chunk_s (Speak click to the first audio chunk ready to
    play, i.e. the first sentence vocoded), first_mel_chunk_s (to the first mel frames drawn),
    take_s (to the take in the list), and context (ticks, p99 gap, audio seconds, RTF, model, device).
    A warm-up take runs first (unless warmup=False) so one-off costs are not counted. `vocoder`: the
    toolbar's vocoder choice (griffinlim, or a vocoder bundle such as default-wavenet)."""
    from PySide6.QtCore import QTimer

    from engine.errors import BadInput
    from studio.app import create_window

    _app()
    with tempfile.TemporaryDirectory(prefix="prufrock-bench-") as tmp:
        window = create_window(model=model, settings=Path(tmp) / "settings.ini", vocoder=vocoder)
        try:
            window.resize(1320, 840)
            window.show()
            if not wait_until(lambda: window.can_speak() or window.last_error, timeout_s):
                raise RuntimeError("the voice did not load in time")
            if not window.can_speak():
                raise BadInput(window.last_error)
            if vocoder and window.vocoder_name != vocoder:
                raise BadInput(f"the studio did not take the vocoder {vocoder!r}: {window.last_error or 'unknown'}")
            # The engine measures what the style tokens do in its idle time after a voice loads (cached
            # per voice): let it finish so it does not delay the measured take.
            voice = window.voice
            wait_until(lambda: not voice.n_style_tokens or voice.name in window.style.effects, timeout_s)
            ended: list[str] = []
            window.jobEnded.connect(ended.append)

            def run(words: str):
                ended.clear()
                job = window.speak(words)
                if job is None:
                    raise BadInput(window.last_error or "the studio could not start speaking")
                if not wait_until(lambda: bool(ended), timeout_s):
                    window.stop()
                    raise RuntimeError("the take did not finish in time")
                if ended[0] != "take":
                    raise BadInput(window.last_error or f"the take ended as {ended[0]}")
                return job

            if warmup:
                run("Warm up.")
            ticks: list[float] = []
            timer = QTimer()
            timer.setInterval(tick_ms)
            timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
            timer.start()
            wait_until(lambda: len(ticks) >= 3, 5)  # timer running steadily
            start = time.perf_counter()
            ticks.append(start)
            job = run(text)
            ticks.append(time.perf_counter())
            timer.stop()
            marks = [t for t in ticks if t >= start]
            gaps = [b - a for a, b in zip(marks, marks[1:])]
            take = window.takes[-1]
            gaps_sorted = sorted(gaps)
            return {
                "gui_max_stall_ms": round(max(gaps) * 1000, 2),
                "gui_p99_gap_ms": round(gaps_sorted[int(0.99 * (len(gaps_sorted) - 1))] * 1000, 2),
                "first_chunk_s": round(job.first_audio_s, 4) if job.first_audio_s is not None else None,
                "first_mel_chunk_s": round(job.first_mel_s, 4) if job.first_mel_s is not None else None,
                "take_s": round(job.done_s, 4),
                "ticks": len(gaps),
                "tick_ms": tick_ms,
                "audio_s": round(take.duration_s, 3),
                "rtf": round(take.rtf, 4),
                "model": take.model,
                "device": take.device,
            }
        finally:
            window.close()
            window.shutdown()
            window.deleteLater()


def bench_figures(model: str = "default", texts: dict | None = None, **_) -> dict:
    """The studio's figures for `prufrock bench` (entry point `prufrock.bench`): responsiveness while a
    30-word text is synthesized, and Speak to the first audio chunk of a 10-word sentence; with
    Griffin-Lim, and again with the WaveNet vocoder selected when its default bundle is installed."""
    texts = texts or {}
    stall = measure_gui_stall(texts["gui"], model=model)
    first = measure_gui_stall(texts["first_chunk"], model=model)
    out = {"gui_max_stall_ms": stall["gui_max_stall_ms"], "gui_p99_gap_ms": stall.get("gui_p99_gap_ms"),
           "studio_first_chunk_s": first.get("first_chunk_s")}
    wavenet = _default_bundle("wavenet")
    if wavenet is not None:
        stall = measure_gui_stall(texts["gui"], model=model, vocoder=wavenet)
        first = measure_gui_stall(texts["first_chunk"], model=model, vocoder=wavenet)
        out.update({"wavenet_gui_max_stall_ms": stall["gui_max_stall_ms"],
                    "wavenet_gui_p99_gap_ms": stall.get("gui_p99_gap_ms"),
                    "wavenet_studio_first_chunk_s": first.get("first_chunk_s")})
    return out


def _default_bundle(kind: str) -> str | None:
    """The installed default bundle of a kind (e.g. default-wavenet), or None."""
    from engine import kinds
    from engine.bundle import installed

    name = kinds.get(kind).extra.get("default_bundle")
    return name if name and any(n == name for n, _ in installed(role=kinds.get(kind).role)) else None
