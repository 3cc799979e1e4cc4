"""Work the studio runs as separate processes (never threads of the GUI), one job per module:

    process.py       the `prufrock` command line and environment of a child process, runs_dir()
    follower.py      EventFollower: the appended part of a run's events.jsonl, a chunk per timer tick;
                     peek_state: a run folder's state from its log's tail
    training_run.py  TrainingRun: one run folder, the fold of its log, its `prufrock train` process
    command.py       CliJob: any other `prufrock ...` command (corpus build, model export)

The log is read through engine.training.events (read_events, RunState), checkpoints through
engine.training.checkpoint.list_checkpoints.
"""

from studio.jobs.command import CliJob
from studio.jobs.follower import IDLE_S, EventFollower, peek_state
from studio.jobs.process import last_line, prufrock_command, runs_dir
from studio.jobs.training_run import (ACTIVE, DEFAULT_RECIPE, DEVICES, LAUNCH_FILE, LOG_FILE, RESUME_CONFIG,
                                      STOP_TIMEOUT_MS, TrainingRun, is_training_process)

__all__ = ["ACTIVE", "DEFAULT_RECIPE", "DEVICES", "IDLE_S", "LAUNCH_FILE", "LOG_FILE", "RESUME_CONFIG",
           "STOP_TIMEOUT_MS", "CliJob", "EventFollower", "TrainingRun", "is_training_process", "last_line",
           "peek_state", "prufrock_command", "runs_dir"]
