"""Endurance (issue 14): 100 syntheses in a row in the studio, engine process included, after a warm-up
of 10; the resident memory of the studio process (this one) and of the engine process may grow by
less than 50 MB each. Both figures are printed (run with -s to see them)."""

import gc
import os
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from engine.paths import BUNDLED_MODELS  # noqa: E402

SENTENCES = ["Please call Stella.", "Bring the books.", "Open the door now.", "Five small boxes.",
             "We will go home.", "The sun is warm."]
WARM_UP, RUNS, LIMIT_MB = 10, 100, 50.0


def rss_mb(pid: int) -> float:
    """Resident set size of process `pid` in MB (psutil when installed, else /proc/PID/status VmRSS)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@pytest.mark.slow
def test_100_syntheses_keep_memory_flat(qtbot, qapp, tmp_path, monkeypatch):
    if not (BUNDLED_MODELS / "default" / "config.json").exists():
        pytest.skip("no bundled default voice")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to read resident memory")
    monkeypatch.setenv("PRUFROCK_DATA_DIR", str(tmp_path / "data"))
    from studio import create_window
    from studio.bench import wait_until

    w = create_window(settings=tmp_path / "studio.ini")
    try:
        assert wait_until(lambda: w.can_speak() or w.last_error, 120), "the voice did not load"
        assert w.can_speak(), w.last_error
        engine_pid = w.engine.process.pid
        # The engine measures what the style tokens do between takes once a voice loads: let it finish,
        # so it is not counted as growth.
        assert wait_until(lambda: w.style.effects.get(w.voice.name) or not w.voice.n_style_tokens, 180)

        def one(i: int) -> None:
            with qtbot.waitSignal(w.jobEnded, timeout=60_000) as ended:
                assert w.speak(SENTENCES[i % len(SENTENCES)]) is not None
            assert ended.args == ["take"], w.last_error
            w.take_vm.flush()

        for i in range(WARM_UP):
            one(i)
        qtbot.wait(200)
        gc.collect()
        studio0, engine0 = rss_mb(os.getpid()), rss_mb(engine_pid)
        start = time.perf_counter()
        for i in range(RUNS):
            one(WARM_UP + i)
        elapsed = time.perf_counter() - start
        qtbot.wait(200)
        gc.collect()
        studio1, engine1 = rss_mb(os.getpid()), rss_mb(engine_pid)
        grow_studio, grow_engine = studio1 - studio0, engine1 - engine0
        print(f"\nendurance: {RUNS} syntheses in {elapsed:.1f} s after {WARM_UP} warm-up; "
              f"studio RSS {studio0:.1f} -> {studio1:.1f} MB (growth {grow_studio:+.1f} MB), "
              f"engine RSS {engine0:.1f} -> {engine1:.1f} MB (growth {grow_engine:+.1f} MB)")
        assert len(w.takes) == WARM_UP + RUNS and w.takes_list.count() == WARM_UP + RUNS
        assert grow_studio < LIMIT_MB, f"the studio grew by {grow_studio:.1f} MB over {RUNS} syntheses"
        assert grow_engine < LIMIT_MB, f"the engine process grew by {grow_engine:.1f} MB over {RUNS} syntheses"
        # Older takes keep only their metadata in memory, and still select, play and export.
        from studio.take_store import StoredTake

        first = w.takes[0]
        assert isinstance(first, StoredTake) and not isinstance(w.takes[-1], StoredTake)
        out = w.export_take(tmp_path / "first.wav", index=0)
        import soundfile as sf

        assert abs(sf.info(str(out)).duration - first.duration_s) < 1e-3
        w.takes_list.setCurrentRow(0)
        w.take_vm.flush()
        assert len(w.waveform.wav) == round(first.duration_s * first.sample_rate)
        assert first.text in w.takes_list.item(0).text()
    finally:
        w.close()
        w.shutdown()
