"""Capability probes: run once per CI setup, each through real pushes (or the tool's own config
loading) on one running tool. A capability counts only if a probe exercised it here; every
outcome carries its evidence. Worker side: base set only."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from bakeoff.stages.cicd.contract import PASSED, CicdAdapter
from bakeoff.stages.cicd.pipelines import BROKEN_CONFIGS, INVALID, ML, RETRY, SECRET, SHIP, SHIPPING_STEPS, \
    TIMEOUT, TRAINING_STEPS, empty, matrix
from bakeoff.stages.cicd.workload import CiTrial, Mismatch, Push
from bakeoff.stages.contract import Unsupported, load_adapter, run_probe
from bakeoff.worker.measure import timed_step
from bakeoff.worker.browser import render
from bakeoff.worker.processes import ProcessTree
from bakeoff.worker.protocol import FAIL, OK, PASS, Request, Result

Outcome = tuple[str, str]


class Probes:
    def __init__(self, ci: CiTrial, result: Result) -> None:
        self.ci, self.result = ci, result
        self.repo, self.timeline, self.adapter = ci.repo, ci.timeline, ci.adapter
        self.good_push: Push | None = None
        self.good_sha = ""

    def _push_ml(self, message: str, change: dict) -> Push:
        self.ci.use(ML)
        return self.ci.push(message, change)

    def good_model_shipped(self) -> Outcome:
        push = self._push_ml("More boosting iterations", self.repo.good_change(0))
        self.good_push = push
        trained = self.timeline.detail(push.revision, "train").get("sha256", "")
        self.good_sha = trained
        if push.outcome.verdict != PASSED:
            return FAIL, f"the good change got {push.outcome.verdict}: {self.ci.failure(push)}"
        health = self.ci.serving() or {}
        if health.get("sha256") != trained:
            return FAIL, f"the server serves {str(health.get('sha256'))[:12]}, the pipeline trained {trained[:12]}"
        answered = len(self.ci.predict().get("probabilities", []))
        deployed = self.ci.deployed_at(push.revision)
        return PASS, (f"verdict pass in {push.seconds:.1f} s; model {trained[:12]} serving "
                      f"{deployed - push.pushed_at:.1f} s after the push and answering ({answered} prediction)")

    def artifact_passing(self) -> Outcome:
        push = self.good_push
        if push is None or push.outcome.verdict != PASSED:
            return FAIL, "no passing ML run to check"
        seen = {s: self.timeline.detail(push.revision, s).get("sha256", "") for s in ("evaluate", "register", "deploy")}
        if all(sha == self.good_sha for sha in seen.values()):
            return PASS, f"train wrote {self.good_sha[:12]}; evaluate, register and deploy read the same SHA-256"
        return FAIL, f"train wrote {self.good_sha[:12]}, later jobs read {seen}"

    def bad_model_blocked(self) -> Outcome:
        before = (self.ci.serving() or {}).get("sha256")
        push = self._push_ml("Join the weather table again", self.repo.bad_change())
        gate = self.timeline.detail(push.revision, "gate")
        shipped = [s for s in SHIPPING_STEPS if s in self.timeline.ran(push.revision)]
        after = (self.ci.serving() or {}).get("sha256")
        if push.outcome.verdict == PASSED:
            return FAIL, f"the shuffled-label model passed (gate {gate})"
        if gate.get("passed") is not False:
            return FAIL, f"the run failed, but not at the gate: {self.ci.failure(push)}"
        if shipped or before != after:
            return FAIL, f"the bad model went through {shipped}; serving changed {str(before)[:12]} -> {str(after)[:12]}"
        return PASS, (f"gate refused AUC {gate['auc']:.3f} (reference {gate['reference']:.3f}); register and deploy "
                      f"never ran; verdict in {push.seconds:.1f} s")

    def docs_change_skips_training(self) -> Outcome:
        push = self._push_ml("Clarify the request format", self.repo.docs_change(0))
        ran = self.timeline.ran(push.revision)
        trained = [s for s in TRAINING_STEPS if s in ran]
        if trained:
            return FAIL, f"a docs-only push ran {trained}"
        if push.outcome.verdict != PASSED:
            return FAIL, f"a docs-only push got {push.outcome.verdict}: {self.ci.failure(push)}"
        return PASS, f"ran {sorted(ran - {'code-changed'})} only; verdict pass in {push.seconds:.1f} s"

    def rollback(self) -> Outcome:
        before = (self.ci.serving() or {}).get("sha256")
        push = self._push_ml("Faster health check", self.repo.rollback_change())
        deploy = self.timeline.detail(push.revision, "deploy")
        after = self.ci.serving() or {}
        if deploy.get("outcome") != "rolled_back":
            return FAIL, f"the deploy step reported {deploy or 'nothing'}: {self.ci.failure(push)}"
        if push.outcome.verdict == PASSED:
            return FAIL, "the health check failed and the slot rolled back, but the tool reported a pass"
        if after.get("sha256") != before or not before:
            return FAIL, f"serving {str(after.get('sha256'))[:12]} after the rollback, {str(before)[:12]} before"
        return PASS, (f"the new server failed its health check; {before[:12]} serves again and the run is "
                      f"marked {push.outcome.verdict}")

    def matrix_runs(self) -> Outcome:
        self.ci.use(matrix())
        push = self.ci.push("Compare three model sizes", {"docs/matrix.md": f"{time.time_ns()}\n"})
        ran = sorted(s for s in self.timeline.ran(push.revision) if s.startswith("train-matrix:"))
        if push.outcome.verdict != PASSED or len(ran) != 3:
            raise Mismatch(f"the matrix of three got {push.outcome.verdict} with {ran}")
        spans = [s for s in self.timeline.steps(push.revision) if s.step in ran]
        overlap = max(s.start for s in spans) < min(s.end for s in spans)
        self.result.metrics["matrix_seconds"] = push.seconds
        self.result.facts["matrix_parallel"] = overlap
        return PASS, f"{len(ran)} configurations {'side by side' if overlap else 'one after another'}"

    def matrix_failure_fails(self) -> Outcome:
        self.ci.use(matrix(BROKEN_CONFIGS))
        push = self.ci.push("Try a negative learning rate", {"docs/matrix.md": f"{time.time_ns()}\n"})
        codes = {s.step: s.code for s in self.timeline.steps(push.revision)}
        broken = codes.get("train-matrix:broken")
        if broken is None or broken == 0:
            return FAIL, f"the broken configuration did not fail as a job ({codes})"
        if push.outcome.verdict == PASSED:
            return FAIL, f"one configuration failed ({codes}) but the pipeline passed"
        return PASS, f"train-matrix:broken exited {broken}; others {[c for s, c in codes.items() if 'broken' not in s]}; " \
                     f"pipeline {push.outcome.verdict}"

    def retry_flaky_job(self) -> Outcome:
        self.ci.use(RETRY)
        push = self.ci.push("A flaky job", {"docs/flaky.md": f"{time.time_ns()}\n"})
        attempts = [d["attempt"] for d in self.timeline.details(push.revision, "flaky")]
        if push.outcome.verdict == PASSED and attempts == [1, 2]:
            return PASS, "failed on attempt 1, passed on the tool's retry (attempt 2)"
        return FAIL, f"attempts {attempts}, verdict {push.outcome.verdict}"

    def secret_masked(self) -> Outcome:
        self.ci.use(SECRET)
        push = self.ci.push("Deploy with a token", {"docs/secret.md": f"{time.time_ns()}\n"})
        received = self.timeline.detail(push.revision, "secret").get("secret_sha256")
        if received != hashlib.sha256(self.ci.secret.encode()).hexdigest():
            return FAIL, f"the job did not receive the secret (verdict {push.outcome.verdict})"
        if not push.outcome.log.strip():
            return FAIL, "the tool kept no job log to check"
        if self.ci.secret in push.outcome.log:
            return FAIL, "the job received the secret and its log shows it in clear"
        return PASS, f"the job received the secret; its log ({len(push.outcome.log)} chars) never shows it"

    def concurrent_pushes(self) -> Outcome:
        self.ci.use(SHIP)
        first = self.ci.commit("Ship A", {"docs/ship.md": "A\n"})
        first_at = self.repo.push()
        second = self.ci.commit("Ship B", {"docs/ship.md": "B\n"})
        self.repo.push()
        outcomes = [self.adapter.wait(revision=r, timeout=self.ci.settings["verdict_timeout_s"]) for r in (first, second)]
        shipped = [self.timeline.detail(r, "ship-marker").get("shipped") for r in (first, second)]
        if [o.verdict for o in outcomes] != [PASSED, PASSED] or None in shipped:
            return FAIL, f"verdicts {[o.verdict for o in outcomes]}, shipped {shipped}"
        ends = {r: max(s.end for s in self.timeline.steps(r)) for r in (first, second)}
        if ends[second] < ends[first]:
            return FAIL, "the later push shipped first: the older one overwrote it"
        return PASS, f"both passed; the later push shipped last, {time.time() - first_at:.1f} s after the first push"

    def invalid_config_rejected(self) -> Outcome:
        files = self.adapter.render(pipeline=INVALID)
        try:
            static = self.adapter.check(files=files)
            checked = f"static check: {static.splitlines()[0][:200]}" if static else "static check: clean"
        except Unsupported as why:
            static, checked = "", f"no static check ({why})"
        if not self.adapter.pipeline_in_repo:
            refused = self.adapter.configure(files=files)
            if refused:
                return PASS, f"the tool refused the configuration and kept the old one: {refused[:250]}; {checked}"
            return FAIL, f"the tool loaded a job without a command; {checked}"
        self.ci.pipeline = INVALID
        revision = self.ci.commit("A job without a command", {"docs/invalid.md": f"{time.time_ns()}\n"})
        self.repo.push()
        outcome = self.adapter.wait(revision=revision, timeout=self.ci.settings["verdict_timeout_s"])
        ran = self.timeline.ran(revision)
        if outcome.verdict == PASSED:
            return FAIL, f"the pipeline passed with a job without a command (ran {sorted(ran)}); {checked}"
        if ran:
            return FAIL, f"refused only after running {sorted(ran)}; {checked}"
        said = (outcome.detail.strip().splitlines() or ["(no message)"])[-1][:250]
        return PASS, f"refused before any job ran: {said}; {checked}"

    def timeout_kills_job(self) -> Outcome:
        self.ci.use(TIMEOUT)
        revision = self.ci.commit("A job that hangs", {"docs/hang.md": f"{time.time_ns()}\n"})
        pushed = self.repo.push()
        unit = self.adapter.timeout_unit_s
        stated = math.ceil(TIMEOUT.jobs[0].timeout_s / unit) * unit  # what the tool's format can say
        limit = stated + self.ci.settings["timeout_probe_s"]
        try:
            outcome = self.adapter.wait(revision=revision, timeout=limit)
        except TimeoutError:
            return FAIL, f"no verdict {limit:.0f} s after the push: the {stated} s job timeout was not enforced"
        finally:
            pids = [d["pid"] for d in self.timeline.details(revision, "hang")]
            alive = [p for p in pids if _alive(p)]
            for pid in alive:  # the probe's own step, ended by its pid so later probes are not held up
                os.kill(pid, 9)
        seconds = time.time() - pushed
        if outcome.verdict == PASSED:
            return FAIL, "the hanging job passed"
        if alive:
            return FAIL, f"the pipeline failed after {seconds:.1f} s but the job's process was still running"
        return PASS, f"the job was killed and the pipeline failed {seconds:.1f} s after the push (timeout {stated} s)"

    def local_ui(self) -> Outcome:
        url = self.adapter.ui_url()
        dom = render_page(url, Path(self.ci.request.scratch) / "chromium")
        names = [n for n in ("pipeline", "deploy") if n in dom]
        if names:
            return PASS, f"headless Chromium rendered {url} ({len(dom)} chars of DOM) naming {names}"
        return FAIL, f"the page rendered without the pipeline ({len(dom)} chars of DOM)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def render_page(url: str, profile: Path) -> str:
    """The text of `url` after its scripts ran, as headless Chromium renders it."""
    return render(url, profile, screenshot=False).text


CHILD_WAIT_S = 300  # a child's own tool start and its probes' pipelines (the timeout probe: its timeout too)
OFFLINE = "offline"


def child_probes(request: Request, group: str, names: tuple[str, ...], left: list[str], *,
                 offline: bool = False) -> Callable[[], dict[str, dict[str, str]]]:
    """Start the probes `names` (of `Probes`, in order; or the offline check) in a process of
    their own with a fresh tool: its own repository, deploy slot and tool instance, so they run
    while the trial's other probes run on the trial's tool. The offline check runs in a network
    namespace with only loopback: a fresh tool, one push of an empty job, its verdict. Returns
    the function that waits for the outcomes (name -> status and evidence, as `run_probe`); what
    the child's tool left running after its stop() is appended to `left` (it fails the trial)."""
    scratch = Path(request.scratch) / group
    scratch.mkdir(parents=True, exist_ok=True)
    job = scratch / "job.json"
    job.write_text(json.dumps({"probes": list(names), "adapter": request.adapter, "options": request.options,
                               "settings": request.settings, "data_dir": request.data_dir, "scratch": str(scratch),
                               "reference_cache": str(Path(request.scratch).parent / "cicd-reference")}))
    wrap = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'] if offline else []
    where = "with no network" if offline else f"in its own process ({group})"
    log = open(scratch / "child.log", "wb")
    try:
        child = subprocess.Popen([*wrap, sys.executable, "-m", "bakeoff.stages.cicd.probes", str(job)],
                                 stdout=log, stderr=subprocess.STDOUT, cwd=scratch)
    except OSError as exc:
        log.close()
        return lambda: {name: {"status": FAIL, "evidence": f"could not start the {group} child: {exc}"}
                        for name in names}
    limit = CHILD_WAIT_S + (request.settings["timeout_probe_s"] + 60 if "timeout_kills_job" in names else 0)

    def wait() -> dict[str, dict[str, str]]:
        try:
            code = child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            return {name: {"status": FAIL, "evidence": f"the {group} child did not finish in {limit} s"}
                    for name in names}
        finally:
            log.close()
        for line in (scratch / "child.log").read_text(errors="replace").splitlines():
            if line.startswith("[bakeoff] "):  # where the child's time went, in the trial's log
                print(f"[bakeoff] {group} child: {line[len('[bakeoff] '):]}", file=sys.stderr, flush=True)
        out = scratch / "job.json.out"
        if code or not out.exists():
            tail = (scratch / "child.log").read_text(errors="replace").strip().splitlines()[-1:]
            said = f"{where}: exited {code}: {tail[0][:300] if tail else 'no output'}"
            return {name: {"status": FAIL, "evidence": said} for name in names}
        said = json.loads(out.read_text())
        leftover = said.pop("left", "")
        if leftover:
            left.append(f"{group} child: {leftover}")
        if offline:
            ok, evidence = said[OFFLINE]["ok"], said[OFFLINE]["evidence"]
            return {OFFLINE: {"status": PASS, "evidence": f"in a network namespace with only loopback: {evidence}"}
                    if ok else {"status": FAIL, "evidence": f"with no network: {evidence}"}}
        return {name: said[name] for name in names}

    return wait


def child_main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    adapter = load_adapter(job["adapter"], CicdAdapter, job["options"])
    request = Request(trial_id="child", stage="cicd", entry="", adapter=job["adapter"], kind="capabilities",
                      options=job["options"], settings=job["settings"], data_dir=job["data_dir"],
                      scratch=job["scratch"], result_path="")
    cache = Path(job["reference_cache"])
    said: dict = {}
    if job["probes"] == [OFFLINE]:
        with timed_step(OFFLINE), CiTrial(adapter, request, first=empty(1), cache=cache) as ci:
            push = ci.push("One empty job", {"docs/offline.md": "offline\n"})
        ok = push.outcome.verdict == PASSED and "noop" in ci.timeline.ran(push.revision)
        evidence = (f"tool started in {ci.start_seconds:.1f} s; a push got verdict {push.outcome.verdict} in "
                    f"{push.seconds:.1f} s")
        said[OFFLINE] = {"ok": ok, "evidence": evidence}
    else:
        with CiTrial(adapter, request, cache=cache) as ci:
            probes = Probes(ci, Result(trial_id=request.trial_id, status=OK))
            for name in job["probes"]:
                with timed_step(name):
                    said[name] = run_probe(getattr(probes, name))
    left = ci.leftovers()
    if left:
        said["left"] = left
    Path(job_path + ".out").write_text(json.dumps(said))
    return 0


# Every probe, in the order the report lists them, and where each runs. "trial" probes run on
# the trial's tool one after another. The timeout probe runs at the same time on a tool of its
# own (`child_probes`): it is mostly waiting (a whole minute for GitHub's unit), and on a
# one-run-at-a-time tool it held every later push behind the hanging job. The offline check
# needs a process of its own (its network namespace). The other probes are CPU work (imports,
# training): a run that gave them a tool of their own as well (run 20261201-182852-b605, load
# 9-11) took as long in all (two capabilities trials side by side already fill the two cores),
# slowed the baseline's trial from 82 s to 162 s, and a starved Buildbot master cut a REST answer.
PROBES = {"good_model_shipped": "trial", "artifact_passing": "trial", "bad_model_blocked": "trial",
          "docs_change_skips_training": "trial", "rollback": "trial", "matrix_failure_fails": "trial",
          "retry_flaky_job": "trial", "secret_masked": "trial", "concurrent_pushes": "trial",
          "invalid_config_rejected": "trial", "timeout_kills_job": "timeout", "local_ui": "trial",
          OFFLINE: OFFLINE}


def capabilities_trial(adapter: CicdAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    """Every probe, once. Outcomes only (pass or fail with evidence): the engine runs this trial
    beside another tool's (`shares_machine`), and its probe groups run side by side, so a time
    quoted in a probe's evidence was taken on a shared machine and is context, never a figure.
    The matrix's time is measured apart, by `matrix_trial`, with the machine to itself."""
    result = Result(trial_id=request.trial_id, status=OK)
    left: list[str] = []
    groups: dict[str, tuple[str, ...]] = {}
    for name, group in PROBES.items():
        groups[group] = (*groups.get(group, ()), name)
    children = [child_probes(request, group, names, left, offline=group == OFFLINE)
                for group, names in groups.items() if group != "trial"]
    outcomes: dict[str, dict[str, str]] = {}
    with timed_step("trial's probes"), CiTrial(adapter, request) as ci:
        probes = Probes(ci, result)
        for name in groups["trial"]:
            with timed_step(name):
                outcomes[name] = run_probe(getattr(probes, name))
    with timed_step("waiting for the probes beside (own tools, started with the trial)"):
        for wait in children:  # each child stops its own tool and reports what it left
            outcomes.update(wait())
    left.insert(0, ci.leftovers())
    if any(left):
        raise Mismatch(f"still running after stop(): {'; '.join(filter(None, left))}")
    result.probes.update({name: outcomes[name] for name in PROBES})
    return result


def matrix_trial(adapter: CicdAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    """The matrix of three model configurations, push to verdict (`matrix_seconds`), with the
    machine to itself: its three jobs compete for the two cores, so its time means nothing
    beside another trial. The tool is started first, as in the push trial; a matrix that does
    not pass with three configurations fails the trial."""
    result = Result(trial_id=request.trial_id, status=OK)
    try:
        adapter.render(pipeline=matrix())
    except Unsupported as why:  # the format cannot say a matrix: no time to measure
        result.facts["matrix"] = f"unsupported: {why}"[:300]
        return result
    with CiTrial(adapter, request, first=matrix()) as ci:  # the tool starts with the matrix configured
        with timed_step("matrix"):
            result.facts["matrix"] = Probes(ci, result).matrix_runs()[1][:300]
    left = ci.leftovers()
    if left:
        raise Mismatch(f"still running after stop(): {left}")
    return result


def smoke(adapter: CicdAdapter, request: Request) -> str:
    """Render the ML pipeline, and run the tool's static check on it where it has one."""
    files = adapter.render(pipeline=ML)
    lines = sum(len(t.splitlines()) for t in files.values())
    try:
        findings = adapter.check(files=files)
        checked = "static check clean" if not findings else f"static check: {findings.splitlines()[0][:120]}"
    except Unsupported:
        checked = "no static check"
    return f"rendered {', '.join(files)} ({lines} lines); {checked}"



if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
