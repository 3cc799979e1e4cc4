"""engine/threads.py: torch's thread count from PRUFROCK_THREADS (the studio's engine process runs on one
thread: on 2 cores with one busy elsewhere, 2 threads made synthesis 3-4x slower, 60x at niceness 10)."""

import os
import subprocess
import sys

from engine import threads
from engine.paths import PROJECT_ROOT


def test_the_thread_count_comes_from_the_environment_or_the_default():
    assert threads.threads_from_env(1, {}) == 1
    assert threads.threads_from_env(None, {}) is None
    assert threads.threads_from_env(1, {threads.THREADS_ENV: " 3 "}) == 3
    for bad in ("0", "-2", "two", "1.5"):
        assert threads.threads_from_env(1, {threads.THREADS_ENV: bad}) == 1  # ignored, not a crash


def test_the_command_line_takes_its_threads_from_the_environment():
    code = ("from engine.cli import main\ntry:\n    main(['no-such-command'])\nexcept SystemExit:\n    pass\n"
            "import torch; print('THREADS', torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != threads.THREADS_ENV}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env[threads.THREADS_ENV] = "3"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split("THREADS")[-1]) == 3
