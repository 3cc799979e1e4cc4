"""CPU threads of the engine's model work (torch's intra-op threads).

torch runs each operation on as many threads as the machine has cores, and every operation waits for
its slowest thread. Synthesis, conversion and vocoding are thousands of small operations in a row, so
a thread that loses its core for a moment stalls all of them. On the 2-core reference machine, with one
core taken by another program (a training started from a terminal), the default voice through
Griffin-Lim ran at RTF 0.134-0.164 on 2 threads against 0.039-0.044 on 1; in a process at niceness 10
(where the studio's engine process ran for a while, engine/priority.py) at RTF 4.2-5.4 against
0.071-0.073: a 3-second sentence took 19 s instead of 0.3 s. In the studio beside such a training, the
first WaveNet audio of a 10-word sentence came after 10.8 s on 2 threads and 0.24-0.53 s on 1. On an
idle machine 2 threads were faster where the work is large operations: a 30-word take through
Griffin-Lim 25 % (first audio 0.37 vs 0.48 s), `bench`'s griffinlim_rtf 0.015-0.022 vs 0.024-0.035 and
vc_rtf 0.026-0.030 vs 0.037-0.039; the decoder and WaveNet gained nothing. Measured with scratch scripts
over `Pipeline.stream` and the bench functions.

So the studio's engine process, which shares the machine with the window it must not stall, runs its
models on ONE thread unless `PRUFROCK_THREADS` says otherwise; the trainings it starts leave one core
free (`job_threads`); command-line runs keep torch's default unless the variable (or a command's own
--threads) is given."""

from __future__ import annotations

import logging
import os

log = logging.getLogger("prufrock")

THREADS_ENV = "PRUFROCK_THREADS"
INTERACTIVE_THREADS = 1
"""The studio's engine process: one thread (see above)."""


def threads_from_env(default: int | None = None, environ=None) -> int | None:
    """$PRUFROCK_THREADS as a positive whole number, else `default` (a bad value is ignored, with a warning)."""
    value = (os.environ if environ is None else environ).get(THREADS_ENV, "").strip()
    if not value:
        return default
    try:
        n = int(value)
        if n < 1:
            raise ValueError
    except ValueError:
        log.warning("ignoring %s=%r (not a whole number of at least 1)", THREADS_ENV, value)
        return default
    return n


def apply_from_env(default: int | None = None, environ=None) -> int:
    """Set torch's intra-op threads to $PRUFROCK_THREADS, or `default` when it is unset (None: leave
    torch's own). -> the thread count now."""
    import torch

    n = threads_from_env(default, environ)
    if n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def job_threads(nproc=None, cores: int | None = None) -> int:
    """torch threads per process of a training the studio starts: all cores but one (left for the window
    and its engine), shared among `nproc` processes, at least 1. On all cores, a training at niceness 10
    waited on its starved thread whenever the engine worked: on 2 cores beside a one-thread busy loop,
    2 threads made 1 step in 123 s, 1 thread 0.84 steps/s (`prufrock train vc ... --max-steps 80`)."""
    cores = cores or os.cpu_count() or 1
    try:
        n = max(1, int(nproc or 1))
    except (TypeError, ValueError):
        n = 1
    return max(1, (cores - 1) // n)
