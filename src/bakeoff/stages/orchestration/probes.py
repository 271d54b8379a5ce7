"""Capability probes, run once per orchestrator. A capability counts only if a probe exercised
it here, through the tool; every outcome carries its evidence (marker files, the tool's run
ids). Every figure of this trial is an outcome, none a time: the engine runs two of these side
by side (`shares_machine`). The one timed probe, parallel_speedup, runs in the measured
pipeline trials (workload.parallel_run), which have the machine to themselves; the time limits
the probes check (retry delay, time-out) are lower bounds a busy machine cannot fake.
Worker side: base set only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bakeoff.data.batches import TRAIN_MONTHS, VALID_MONTH, month_file
from bakeoff.stages.contract import Unsupported, run_probe
from bakeoff.stages.orchestration import workflow as workflows
from bakeoff.stages.orchestration.contract import OrchestrationAdapter
from bakeoff.stages.orchestration.tasks import FINAL_OUTPUTS, executions
from bakeoff.worker.browser import render
from bakeoff.stages.orchestration.workload import Trial, check_pipeline, timed_run
from bakeoff.worker.measure import timed_step
from bakeoff.worker.protocol import FAIL, OK, PASS, Request, Result

Outcome = tuple[str, str]


def succeeded(work: Path, task: str) -> int:
    return len([e for e in executions(work, task) if "error" not in e])


def copy_data(source: Path, dest: Path) -> Path:
    """The months the pipeline reads, copied so a probe can change one."""
    dest.mkdir(parents=True, exist_ok=True)
    for month in (*TRAIN_MONTHS, VALID_MONTH):
        shutil.copy2(month_file(source, month), month_file(dest, month))
    return dest


class Probes:
    def __init__(self, adapter: OrchestrationAdapter, request: Request) -> None:
        self.adapter, self.request = adapter, request
        self.trial = Trial(request)
        self.shown_run = ""

    def outputs_identical(self) -> Outcome:
        workflow = self.trial.pipeline("identical")
        record = self.adapter.run(workflow=workflow)
        check_pipeline(self.trial, workflow, record)
        self.shown_run = record.run_id
        files = len(self.trial.expected())
        return PASS, f"run {record.run_id}: all {files} output files equal the baseline's (sha256)"

    def retry_flaky(self) -> Outcome:
        workflow = workflows.single("flaky", "flaky", self.trial.flows, self.trial.runs, self.trial.job,
                                    retries=2, retry_delay=1.0)
        record = self.adapter.run(workflow=workflow)
        attempts = executions(workflow.work, "flaky")
        gaps = [b["start"] - a["end"] for a, b in zip(attempts, attempts[1:])]
        shown = ", ".join(f"{g:.2f} s" for g in gaps) or "none"
        if not record.success:
            return FAIL, f"run failed after {len(attempts)} attempts (retries=2, delay 1 s): {record.error[:160]}"
        if len(attempts) != 3:
            return FAIL, f"succeeded after {len(attempts)} attempts; expected 3 (two failures, then success)"
        if min(gaps) < 0.9:
            return FAIL, f"3 attempts but the delay was not kept: gaps {shown} (asked 1 s)"
        return PASS, f"failed twice, succeeded on attempt 3; gaps between attempts {shown} (asked 1 s)"

    def resume_no_redo(self) -> Outcome:
        workflow = self.trial.pipeline("resume", resumable=True)
        workflow.plant_fault("evaluate")
        first = self.adapter.run(workflow=workflow)
        if first.success:
            return FAIL, "the run succeeded although evaluate raised"
        workflow.clear_fault("evaluate")
        second = self.adapter.resume(workflow=workflow, run_id=first.run_id)
        counts = {t: len(executions(workflow.work, t)) for t in ("prepare", "features", "train", "evaluate", "register")}
        shown = ", ".join(f"{t} {n}" for t, n in counts.items())
        if not second.success:
            return FAIL, f"the resumed run failed: {second.error[:160]} (executions: {shown})"
        redone = [t for t in ("prepare", "features", "train") if counts[t] != 1]
        if redone:
            return FAIL, f"resume ran again {', '.join(redone)} (executions: {shown})"
        if counts["evaluate"] != 2 or counts["register"] != 1:
            return FAIL, f"expected evaluate twice (failed, then resumed) and register once; executions: {shown}"
        check_pipeline(self.trial, workflow, second)
        return PASS, f"run {first.run_id} failed at evaluate; resume {second.run_id} ran evaluate and register only " \
                     f"(executions: {shown}); outputs equal the baseline's"

    # --- the cache: one workflow, run again unchanged, then after a data and a code change ----

    def cache_probes(self) -> dict[str, dict[str, str]]:
        data = copy_data(Path(self.request.data_dir), Path(self.request.scratch) / "cache-data")
        job = {**self.trial.job, "data_dir": str(data)}
        workflow = workflows.pipeline("cache", self.trial.flows, self.trial.runs, job, cache=True)
        outcomes = {}
        try:
            first = self.adapter.run(workflow=workflow)
        except Unsupported as why:
            return {name: {"status": "unsupported", "evidence": str(why)}
                    for name in ("cache_hit", "cache_invalidates_data", "cache_invalidates_code", "cache_values_fresh")}
        if not first.success:
            raise RuntimeError(f"first cached run failed: {first.error[:200]}")

        def again(what: str, task: str, before: int) -> Outcome:
            record = self.adapter.run(workflow=workflow)
            if not record.success:
                return FAIL, f"run after {what} failed: {record.error[:160]}"
            now = succeeded(workflow.work, task)
            # Nothing changed: the trial's reference is a fresh computation on the same data
            # (a copy) and code; after a change, a new one on the changed data or code.
            expected = self.trial.expected() if what == "no change" else self._reference(job, workflow, pool)
            fresh = workflows.output_digests(workflow.work) == expected
            return now, fresh

        def hit() -> Outcome:
            now, fresh = again("no change", "train", 1)
            if not isinstance(now, int):
                return now, fresh
            if now == 1:
                return PASS, "second run with nothing changed: train not executed again (1 execution in its markers)"
            return FAIL, f"second run with nothing changed executed train again ({now} executions)"

        def data_change() -> Outcome:
            before = succeeded(workflow.work, "train")
            path = month_file(data, TRAIN_MONTHS[-1])
            frame = __import__("pandas").read_parquet(path)
            frame.iloc[: int(len(frame) * 0.9)].to_parquet(path, index=False)  # a month re-delivered, 10% short
            now, fresh = again("a data change", "train", before)
            if not isinstance(now, int):
                return now, fresh
            if now == before:
                return FAIL, f"month {TRAIN_MONTHS[-1]} changed, but train was not executed again; outputs " \
                             f"{'still match' if fresh else 'are stale, not'} a fresh computation on the new data"
            if not fresh:
                return FAIL, "train ran again after the data change but the outputs differ from a fresh computation"
            return PASS, f"month {TRAIN_MONTHS[-1]} lost 10% of its rows: train executed again; outputs equal a " \
                         "fresh computation on the new data"

        def code_change() -> Outcome:
            before = succeeded(workflow.work, "features")
            workflow.edit_source("distance_unit = 1.0  # miles", "distance_unit = 1.609344  # km")
            now, fresh = again("a code change", "features", before)
            if not isinstance(now, int):
                return now, fresh
            if now == before:
                return FAIL, "features' code changed (miles to km), but features was not executed again"
            if not fresh:
                return FAIL, "features ran again after the code change but the outputs differ from a fresh computation"
            return PASS, "features' code changed (distance in km): features executed again; outputs equal a " \
                         "fresh computation"

        from multiprocessing import get_context

        # One spawned child computes both fresh references (each imports its own task module).
        with get_context("spawn").Pool(1) as pool:
            outcomes["cache_hit"] = run_probe(hit)
            outcomes["cache_invalidates_data"] = run_probe(data_change)
            outcomes["cache_invalidates_code"] = run_probe(code_change)
            outcomes["cache_values_fresh"] = run_probe(lambda: self.cache_values_fresh(pool))
        return outcomes

    def cache_values_fresh(self, pool) -> Outcome:
        """The cache again, with the frames and the model passed the tool's way (the cache then
        keys on, and stores, the values themselves): a month changes, train must run again and
        the final outputs must equal a fresh computation, not the cached ones."""
        data = copy_data(Path(self.request.data_dir), Path(self.request.scratch) / "cache-values-data")
        job = {**self.trial.job, "data_dir": str(data)}
        workflow = workflows.pipeline("cache_values", self.trial.flows, self.trial.runs, job, cache=True,
                                      passing="value")
        first = self.adapter.run(workflow=workflow)  # Unsupported: no cache, or no passing by value
        if not first.success:
            return FAIL, f"first cached run with values failed: {first.error[:160]}"
        before = {t: succeeded(workflow.work, t) for t in ("train", "evaluate", "register")}
        path = month_file(data, TRAIN_MONTHS[-1])
        frame = __import__("pandas").read_parquet(path)
        frame.iloc[: int(len(frame) * 0.9)].to_parquet(path, index=False)
        record = self.adapter.run(workflow=workflow)
        if not record.success:
            return FAIL, f"run after the data change failed: {record.error[:160]}"
        now = {t: succeeded(workflow.work, t) for t in before}
        ran = ", ".join(f"{t} {now[t] - before[t]}x" for t in now)
        expected = self._reference(job, workflow, pool)
        got = workflows.output_digests(workflow.work)
        stale = sorted(k for k in FINAL_OUTPUTS if got.get(k) != expected.get(k))
        if now["train"] == before["train"]:
            return FAIL, f"month {TRAIN_MONTHS[-1]} changed, but train was not executed again (executed again: {ran})"
        if stale:
            return FAIL, f"train ran again after the data change, but {', '.join(stale)} differ from a fresh " \
                         f"computation: served from the cache (executed again: {ran})"
        return PASS, f"month {TRAIN_MONTHS[-1]} lost 10% of its rows: executed again {ran}; the final outputs equal " \
                     "a fresh computation on the new data"

    def _reference(self, job: dict, cached: workflows.Workflow, pool) -> dict[str, str]:
        """Digests of every task run once, in order, on the current data and code (in a
        spawned child, as the trial's reference)."""
        name = f"cache_ref_{int(time.time() * 1000)}"
        reference = workflows.pipeline(name, self.trial.flows, self.trial.runs, job)
        shutil.copyfile(cached.source, reference.source)  # the code as edited
        pool.apply(workflows.run_in_order, (reference,))
        return workflows.output_digests(reference.work)

    def timeout_kills(self) -> Outcome:
        workflow = workflows.single("hang", "hang", self.trial.flows, self.trial.runs, self.trial.job, timeout=2.0)
        record, wall, _ = timed_run(self.adapter, workflow)
        time.sleep(1.0)
        beat = json.loads((workflow.work / "hang.beat").read_text())
        still_beating = time.time() - beat["at"] < 0.8
        pid_alive = beat["pid"] != os.getpid() and _alive(beat["pid"])
        if record.success:
            return FAIL, f"the hung task was not stopped: the run succeeded after {wall:.1f} s"
        if wall > 15:
            return FAIL, f"the run ended only after {wall:.1f} s (limit 2 s): the task ran to its own end"
        if still_beating:
            where = "in this process (a thread)" if beat["pid"] == os.getpid() else f"in process {beat['pid']}"
            return FAIL, f"the run failed after {wall:.1f} s but the task kept running {where}"
        if pid_alive:
            return FAIL, f"the task's process {beat['pid']} is still alive after the run"
        return PASS, f"limit 2 s: the run failed after {wall:.1f} s and the task stopped (heartbeat silent, " \
                     f"{'its process gone' if beat['pid'] != os.getpid() else 'its thread interrupted'})"

    def schedule_registered(self) -> Outcome:
        workflow = self.trial.pipeline("scheduled")
        checks = [(datetime(2026, 3, 14, 7, 30, tzinfo=timezone.utc), datetime(2026, 3, 15, 6, 0, tzinfo=timezone.utc)),
                  (datetime(2026, 12, 31, 5, 59, tzinfo=timezone.utc), datetime(2026, 12, 31, 6, 0, tzinfo=timezone.utc))]
        shown = []
        for after, expected in checks:
            got = self.adapter.next_fire_time(workflow=workflow, cron="0 6 * * *", after=after)
            got = got.astimezone(timezone.utc)
            shown.append(f"after {after:%Y-%m-%d %H:%M} -> {got:%Y-%m-%d %H:%M} UTC")
            if got != expected:
                return FAIL, f"'0 6 * * *' UTC {shown[-1]}, expected {expected:%Y-%m-%d %H:%M}"
        return PASS, f"'0 6 * * *' UTC registered; next fire times right: {'; '.join(shown)}"

    def local_ui(self) -> Outcome:
        if not self.shown_run:
            return FAIL, "no successful run to look for"
        url = self.adapter.ui_url(run_id=self.shown_run)
        wanted = self.adapter.ui_shows(run_id=self.shown_run)
        page = render(url, Path(self.request.scratch) / "ui")
        missing = [w for w in wanted if w not in page.text]
        if missing:
            return FAIL, f"Chromium rendered {url} ({len(page.text)} chars of text) without {missing}; screenshot {page.screenshot}"
        return PASS, f"Chromium rendered {url.split('127.0.0.1')[-1]} and it shows " \
                     f"{', '.join(repr(w) for w in wanted)}; screenshot {page.screenshot.name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def start_offline(request: Request, expected: dict[str, str]) -> Callable[[], Outcome]:
    """The pipeline through the tool in a child process in a network namespace with only
    loopback; returns the check that waits for it. The child checks the outputs against this
    trial's reference digests (same env, data and code), rather than computing them again."""
    scratch = Path(request.scratch) / "offline"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "expected.json").write_text(json.dumps(expected))
    job = scratch / "request.json"
    job.write_text(json.dumps({**request.__dict__, "scratch": str(scratch / "trial"), "result_path": str(scratch / "out.json")}))
    wrap = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    argv = [*wrap, sys.executable, "-m", "bakeoff.stages.orchestration.offline", str(job)]
    log = open(scratch / "child.log", "wb")
    try:
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=scratch, start_new_session=True)
    except OSError as exc:
        reason = f"could not start the child: {exc}"
        return lambda: (FAIL, reason)

    def offline() -> Outcome:
        try:
            code = child.wait(timeout=400)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)
            child.wait()
            return FAIL, "the offline run did not finish in 400 s"
        finally:
            log.close()
        out = scratch / "out.json"
        if code != 0 or not out.exists():
            tail = (scratch / "child.log").read_text(errors="replace").strip().splitlines()[-1:]
            return FAIL, f"offline child exited {code}: {tail[0][:300] if tail else 'no output'}"
        return tuple(json.loads(out.read_text()))

    return offline


def capabilities_trial(adapter: OrchestrationAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    probes = Probes(adapter, request)
    result = Result(trial_id=request.trial_id, status=OK)
    with timed_step("start"):
        adapter.start(store=probes.trial.store)
    try:
        for name in ("outputs_identical", "retry_flaky", "resume_no_redo"):
            with timed_step(name):
                result.probes[name] = run_probe(getattr(probes, name))
        with timed_step("cache probes"):
            result.probes.update(probes.cache_probes())
        for name in ("timeout_kills", "schedule_registered", "local_ui"):
            with timed_step(name):
                result.probes[name] = run_probe(getattr(probes, name))
    finally:
        with timed_step("close"):
            adapter.close()
    with timed_step("offline"):  # alone, after close: its own server and store, nothing else running
        result.probes["offline"] = run_probe(start_offline(request, probes.trial.expected()))
    return result
