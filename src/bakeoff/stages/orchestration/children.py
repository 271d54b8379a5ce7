"""Processes a tool starts on its own (an ephemeral API server, step subprocesses, executor
workers): marked so that `close()` can end every one of them, however far they detach.

`ToolChildren()` puts a marker variable into this process's environment before the tool is
used; every process the tool then starts inherits it, and `end()` ends them all through
`bakeoff.worker.processes.end_marked`. Servers the adapter starts itself are ProcessTrees.
Also: waiting for a loopback HTTP endpoint. Worker side: standard library only.
"""

from __future__ import annotations

import os
import time
import urllib.request
import uuid

from bakeoff.worker.processes import ProcessTree, end_marked, marked

MARKER = "BAKEOFF_ORCHESTRATION_CHILD"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


class ToolChildren:
    def __init__(self) -> None:
        self.token = os.environ.get(MARKER) or uuid.uuid4().hex
        os.environ[MARKER] = self.token  # inherited by everything started from here on

    def alive(self) -> list[int]:
        return marked(MARKER, self.token)

    def end(self) -> list[str]:
        """End every marked process (SIGTERM, then SIGKILL); "name(pid)" of those killed."""
        return end_marked(None, MARKER, self.token, grace=5.0, group=False)


def wait_http(url: str, tree: ProcessTree | None, *, deadline: float = 90.0) -> float:
    """Seconds until GET `url` answers 200; raises with the log's tail if the process exits
    or the deadline passes."""
    start = time.perf_counter()
    last = ""
    while time.perf_counter() - start < deadline:
        if tree is not None and not tree.running():
            raise RuntimeError(f"{tree.argv[0]} exited ({tree.process.returncode}) before answering: {tree.log_tail(600)}")
        try:
            with NO_PROXY.open(url, timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    tail = tree.log_tail(600) if tree is not None else ""
    raise RuntimeError(f"no answer at {url} within {deadline:.0f} s ({last}) {tail}")
