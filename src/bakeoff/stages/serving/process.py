"""Pinning a server and its load generators to their own cores. The process tree itself (start,
find, sample, stop) is `bakeoff.worker.processes`. Worker side: standard library only."""

from __future__ import annotations

import os
import shutil


def pinning(core: int | None) -> list[str]:
    """`taskset -c CORE` when the machine has that core and taskset exists, else nothing."""
    if core is None or core not in os.sched_getaffinity(0) or len(os.sched_getaffinity(0)) < 2:
        return []
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(core)] if taskset else []
