"""Run one trial in a fresh process inside its tool's env, and always clean up after it.

Every failure becomes a typed outcome (failed, timed_out) with its log; nothing here raises
for a tool's misbehaviour. Each trial runs in its own process group and its own scratch folder,
with HOME and TMPDIR inside it. At the end, on time-out and on Ctrl-C the whole group is ended;
processes that escaped the group (a tool daemonising a server) are found by the marker in their
environment and ended too.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bakeoff.host.envs import build_environment
from bakeoff.stages.contract import TOOL_FOLDER_VARIABLE
from bakeoff.worker.processes import end_marked
from bakeoff.host.plan import Trial
from bakeoff.worker.protocol import FAILED, OK, TIMED_OUT, ProtocolError, Request, Result, read_result, write_request
from bakeoff.host.registry import Entry

MARKER = "BAKEOFF_TRIAL"
GRACE_SECONDS = 5


@dataclass
class TrialOutcome:
    status: str
    reason: str
    seconds: float
    log: Path
    result: Result | None
    ended_at: float = 0.0  # wall clock (epoch seconds) when the worker exited: see results.tool_seconds


def end_trial_processes(process: subprocess.Popen, marker: str) -> list[str]:
    """End the trial's group and everything carrying its marker (see worker/processes.py)."""
    return end_marked(process, MARKER, marker, grace=GRACE_SECONDS)


def last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no output"


def trial_environment(scratch: Path, marker: str, entry: Entry) -> dict[str, str]:
    env = build_environment()
    env.pop(TOOL_FOLDER_VARIABLE, None)  # the worker sets it from the request (outside tools only)
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env.update({MARKER: marker, "HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_CONFIG_HOME": str(home / ".config"), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    return env


def wait_for(process: subprocess.Popen, timeout: float, stop: threading.Event | None) -> int:
    """The worker's exit code. Raises TimeoutExpired after `timeout` s, and KeyboardInterrupt
    when `stop` is set: a trial run beside others (bake.run_trials) is in a thread, which no
    Ctrl-C reaches, so the main thread asks it to stop through the event."""
    if stop is None:
        return process.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.wait(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if stop.is_set():
                raise KeyboardInterrupt from None
            if time.monotonic() >= deadline:
                raise


def run_trial(trial: Trial, entry: Entry, python: Path, *, run_id: str, run_dir: Path, data_dir: Path,
              settings: dict, keep_scratch: bool = False, stop: threading.Event | None = None) -> TrialOutcome:
    slug = trial.trial_id.replace("/", "__")
    scratch = run_dir / "scratch" / slug
    shutil.rmtree(scratch, ignore_errors=True)  # a resumed trial starts clean
    scratch.mkdir(parents=True)
    log = run_dir / "logs" / trial.stage / trial.entry / f"{trial.kind}-r{trial.round}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    request = Request(trial_id=trial.trial_id, stage=trial.stage, entry=trial.entry, adapter=entry.spec.adapter,
                      kind=trial.kind, options=entry.spec.options, settings=settings, data_dir=str(data_dir),
                      scratch=str(scratch), result_path=str(scratch / "result.json"),
                      tool_folder="" if entry.tool.builtin else str(entry.tool.folder.resolve()))
    write_request(scratch / "request.json", request)
    marker = f"{run_id}/{trial.trial_id}"
    start = time.perf_counter()
    status, reason, ended_at = OK, "", 0.0
    with log.open("wb") as out:
        process = subprocess.Popen([str(python), "-m", "bakeoff.worker", str(scratch / "request.json")],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=scratch,
                                   env=trial_environment(scratch, marker, entry), start_new_session=True)
        try:
            code = wait_for(process, trial.timeout, stop)
            ended_at = time.time()
            if code != 0:
                status, reason = FAILED, f"worker exited with code {code}: {last_line(log)}"
        except subprocess.TimeoutExpired:
            status, reason = TIMED_OUT, f"no result within {trial.timeout:.0f} s"
        finally:  # also on Ctrl-C: no process of the trial outlives it
            end_trial_processes(process, marker)
    seconds = time.perf_counter() - start
    ended_at = ended_at or time.time()  # a timed-out or stopped worker ended when we ended it
    result = None
    if status == OK:
        try:
            result = read_result(request.result_path)
            if result.status != OK:
                status, reason = FAILED, result.error
        except ProtocolError as exc:
            status, reason = FAILED, f"no valid result ({exc})"
    if status == OK and not keep_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return TrialOutcome(status, reason, seconds, log, result, ended_at)
