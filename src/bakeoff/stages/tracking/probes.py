"""Capability probes and the scale figure, each run once per tracker. A capability counts only
if a probe exercised it here; every outcome carries its evidence. The capabilities trial yields
outcomes only (no time or memory figure), so it may run beside another tool's; the scale trial
times the search and has the machine to itself. Worker side: base set only."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from bakeoff.worker import browser
from bakeoff.worker.measure import free_port, timed_step
from bakeoff.worker.processes import ProcessTree
from bakeoff.worker.protocol import FAIL, OK, PASS, Request, Result
from bakeoff.stages.contract import Unsupported, run_probe
from bakeoff.stages.tracking.child import verify_runs
from bakeoff.stages.tracking.contract import TrackingAdapter
from bakeoff.stages.tracking.workload import EXPERIMENT, FINAL_KEY, Mismatch, check_history

Outcome = tuple[str, str]  # (status, evidence)


class Probes:
    def __init__(self, adapter: TrackingAdapter, request: Request) -> None:
        self.adapter, self.request = adapter, request
        self.scratch = Path(request.scratch)
        self.store = self.scratch / "store"
        self.roundtrip_run = ("", "")  # (id, name) of a run the UI probe looks for

    def roundtrip_exact(self) -> Outcome:
        params = {"alpha": 0.1, "depth": 7, "label": "flights/2013 ünïcode"}
        values = [float(v) for v in np.random.default_rng(7).normal(size=150) * 1e-3 + np.pi]
        run_id = self.adapter.start_run(name="probe-roundtrip")
        self.adapter.log_params(run_id=run_id, params=params)
        for step, value in enumerate(values):
            self.adapter.log_metric(run_id=run_id, key="probe_loss", value=value, step=step)
        self.adapter.end_run(run_id=run_id)
        self.roundtrip_run = (run_id, "probe-roundtrip")
        record = self.adapter.read_run(run_id=run_id)
        if record.params != {k: str(v) for k, v in params.items()}:
            return FAIL, f"params came back as {record.params}"
        try:
            precision = check_history(values, record.metrics.get("probe_loss", []), len(values))
        except Mismatch as exc:
            return FAIL, str(exc)
        if precision == "float32":
            return FAIL, "150 values came back rounded to single precision (float32)"
        return PASS, "3 params and 150 float64 values came back bit-exact, in step order"

    def _run_with_file(self, name: str, payload: bytes) -> tuple[str, Path]:
        path = self.scratch / name
        path.write_bytes(payload)
        run_id = self.adapter.start_run(name=f"probe-{path.stem}")
        self.adapter.log_artifact(run_id=run_id, path=path)
        self.adapter.end_run(run_id=run_id)
        return run_id, path

    def artifact_roundtrip(self) -> Outcome:
        payload = os.urandom(256 * 1024)
        run_id, path = self._run_with_file("artifact.bin", payload)
        fetched = self.adapter.fetch_artifact(run_id=run_id, name=path.name, dest=self.scratch / "fetched")
        same = hashlib.sha256(fetched.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
        return (PASS, "256 KiB file fetched back byte-identical (sha256)") if same else (FAIL, "fetched bytes differ")

    def search_filter(self) -> Outcome:
        scores = [0.61, 0.72, 0.55, 0.80, 0.67, 0.74]
        ids = []
        for index, score in enumerate(scores):
            run_id = self.adapter.start_run(name=f"probe-search-{index}")
            self.adapter.log_metric(run_id=run_id, key="probe_score", value=score, step=0)
            self.adapter.end_run(run_id=run_id)
            ids.append(run_id)
        found = self.adapter.search_runs(metric="probe_score", above=0.65, descending=True)
        expected = [ids[i] for i in sorted(range(len(scores)), key=lambda i: -scores[i]) if scores[i] > 0.65]
        if found == expected:
            return PASS, "probe_score > 0.65 returned exactly the 4 matching runs, best first"
        return FAIL, f"expected {len(expected)} runs in order, got {len(found)}"

    def model_registry(self) -> Outcome:
        first, _ = self._run_with_file("model-v1.pkl", b"model one")
        second, _ = self._run_with_file("model-v2.pkl", b"model two")
        v1 = self.adapter.register_model(run_id=first, artifact="model-v1.pkl", name="flights-delay", alias="champion")
        v2 = self.adapter.register_model(run_id=second, artifact="model-v2.pkl", name="flights-delay", alias="champion")
        version, run_id = self.adapter.resolve_alias(name="flights-delay", alias="champion")
        if v1 != v2 and version == v2 and run_id == second:
            return PASS, f"versions {v1} and {v2} registered; alias 'champion' moved to {v2}"
        return FAIL, f"alias resolved to version {version} of run {run_id}; expected {v2} of {second}"

    def autolog_sklearn(self) -> Outcome:
        from sklearn.linear_model import LogisticRegression

        self.adapter.autolog_sklearn(run_name="probe-autolog")
        rng = np.random.default_rng(1)
        features = rng.normal(size=(200, 3))
        LogisticRegression(C=0.25, max_iter=300).fit(features, features[:, 0] > 0)
        record = self.adapter.read_run(run_id=self.adapter.find_run(name="probe-autolog"))
        if record.params.get("C") == "0.25":
            return PASS, f"fit recorded with {len(record.params)} params, C=0.25 among them"
        return FAIL, f"autologged run has params {sorted(record.params)[:8]}"

    def concurrent_writers(self) -> Outcome:
        settings = self.request.settings
        runs, steps, writers = settings["writer_runs"], 50, settings["writers"]
        options = {**self.request.options, **self.adapter.share()}
        jobs = [self._child_job(f"writer{w}", options, self.store, runs, steps, verify=False) for w in range(writers)]
        children = [self._spawn(job) for job in jobs]
        outputs = [self._wait(child, job) for child, job in zip(children, jobs)]
        problems = []
        for job, output in zip(jobs, outputs):
            problems += verify_runs(self.adapter, job["prefix"], output["ids"], steps)
        total = writers * runs
        if problems:
            return FAIL, f"{len(problems)} of {total} runs lost values: {problems[0]}"
        return PASS, f"{writers} processes wrote {total} runs x {steps} steps at once; all read back exactly"

    def local_ui(self) -> Outcome:
        """The UI as a person sees it: served by the tool, rendered in headless Chromium (the
        page's scripts run and fetch their data), the run's id or name on the rendered page.
        Where the mode's always-on server is itself the UI (MLflow's tracking server), that
        running server is what a team opens: no second UI process is started."""
        run_id, name = self.roundtrip_run
        path = self.adapter.ui_run_path(run_id=run_id)
        served = served_ui(self.adapter)
        if served:
            url = f"{served}{path}"
            fetch_until(url, None, deadline=90)
            text = render_text(url, self.scratch / "chromium")
            how = "the tracking server's own UI"
        else:
            port = free_port()
            argv = self.adapter.ui_command(store=self.store, port=port)
            url = f"http://127.0.0.1:{port}{path}"
            # Its own session, so the UI and every worker it forks stop together (some UIs leave
            # their web server running when only the launcher is terminated).
            with ProcessTree(argv, cwd=self.scratch, log=self.scratch / "ui.log", new_session=True) as server:
                fetch_until(url, server.process, deadline=90)
                text = render_text(url, self.scratch / "chromium")
            how = "UI started over the store"
        # No time in the evidence: this trial may share the machine (it yields outcomes only).
        if run_id in text or name in text:
            return PASS, f"{how} answered; {path} rendered in Chromium names the run"
        return FAIL, f"{path} rendered in Chromium without the run ({len(text)} characters of text)"

    def start_offline(self) -> Callable[[], Outcome]:
        """Start the offline probe's child (its own store, its own process) and return the
        check that waits for it: it runs alongside the first probes, which it cannot disturb."""
        job = self._child_job("offline", self.request.options, self.scratch / "offline-store", 3, 100, verify=True)
        # A fresh network namespace has no route anywhere; loopback is brought up for local servers.
        wrap = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
        try:
            child = self._spawn(job, prefix=wrap)
        except OSError as exc:  # no `unshare`, say: this probe fails with the reason, the others go on
            reason = f"could not start the child: {exc}"
            return lambda: (FAIL, reason)

        def offline() -> Outcome:
            output = self._wait(child, job)
            if output["problems"]:
                return FAIL, f"with no network: {output['problems'][0]}"
            return PASS, "3 runs x 100 steps logged and read back exactly in a network namespace with only loopback"

        return offline

    def _child_job(self, prefix: str, options: dict, store: Path, runs: int, steps: int, *, verify: bool) -> dict:
        job = {"adapter": self.request.adapter, "options": options, "store": str(store), "experiment": EXPERIMENT,
               "prefix": prefix, "runs": runs, "steps": steps, "verify": verify,
               "path": str(self.scratch / f"child-{prefix}.json")}
        Path(job["path"]).write_text(json.dumps(job))
        return job

    def _spawn(self, job: dict, prefix: list[str] | None = None) -> subprocess.Popen:
        argv = [*(prefix or []), sys.executable, "-m", "bakeoff.stages.tracking.child", job["path"]]
        log = open(job["path"] + ".log", "wb")  # closed when the child is reaped by _wait
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.scratch)

    def _wait(self, child: subprocess.Popen, job: dict) -> dict:
        try:
            code = child.wait(timeout=300)
        except subprocess.TimeoutExpired:
            child.kill()
            raise RuntimeError(f"child {job['prefix']} did not finish in 300 s")
        out = Path(job["path"] + ".out")
        if code != 0 or not out.exists():
            tail = Path(job["path"] + ".log").read_text(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"child {job['prefix']} exited {code}: {tail[0] if tail else 'no output'}")
        return json.loads(out.read_text())

    def scale(self, result: Result) -> None:
        """Fill the store with many runs, then time the search a team would run against it."""
        settings = self.request.settings
        rng = np.random.default_rng(self.request.seed)
        deadline = time.perf_counter() + settings["scale_budget_s"]
        ids = []
        while len(ids) < settings["scale_runs"] and time.perf_counter() < deadline:
            run_id = self.adapter.start_run(name=f"scale-{len(ids):05d}")
            self.adapter.log_params(run_id=run_id, params={"learning_rate": 0.1, "index": len(ids)})
            self.adapter.log_metric(run_id=run_id, key=FINAL_KEY, value=float(rng.uniform(0.6, 0.8)), step=0)
            self.adapter.end_run(run_id=run_id)
            ids.append(run_id)
        timings = []
        for _ in range(5):
            tick = time.perf_counter()
            try:
                self.adapter.search_runs(metric=FINAL_KEY, above=0.79, descending=True)
                how = self.adapter.search_method
            except Unsupported:
                for run_id in ids:
                    self.adapter.read_run(run_id=run_id)
                how = "client-side scan of every run (no search API)"
            timings.append((time.perf_counter() - tick) * 1000)
        result.metrics["search_ms"] = float(np.median(timings))
        result.samples["search_ms"] = timings
        result.facts["scale"] = f"{len(ids)} runs in the store (target {settings['scale_runs']}); {how}"


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def served_ui(adapter: TrackingAdapter) -> str:
    try:
        return adapter.served_ui()
    except Unsupported:
        return ""


def render_text(url: str, folder: Path) -> str:
    """The rendered page's visible text, from one headless Chromium launch (no screenshot)."""
    return browser.render(url, folder, screenshot=False).text


def fetch_until(url: str, server: subprocess.Popen | None, deadline: float) -> tuple[str, float]:
    start = time.perf_counter()
    last = ""
    while time.perf_counter() - start < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"UI exited with code {server.returncode} before answering")
        try:
            with NO_PROXY.open(url, timeout=5) as response:
                return response.read().decode(errors="replace"), time.perf_counter() - start
        except OSError as exc:
            last = str(exc)
            time.sleep(0.1)
    raise RuntimeError(f"UI gave no answer at {url} within {deadline:.0f} s ({last})")


def capabilities_trial(adapter: TrackingAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    """Every probe's outcome, and no time or memory figure: the kind shares the machine."""
    probes = Probes(adapter, request)
    result = Result(trial_id=request.trial_id, status=OK)
    offline = probes.start_offline()
    with timed_step("open"):
        adapter.start_server(store=probes.store)
        adapter.open(store=probes.store, experiment=EXPERIMENT)
    for name in ("roundtrip_exact", "artifact_roundtrip", "search_filter", "model_registry",
                 "autolog_sklearn", "concurrent_writers"):
        with timed_step(name):
            result.probes[name] = run_probe(getattr(probes, name))
    with timed_step("offline (wait for the child)"):
        result.probes["offline"] = run_probe(offline)
    served = served_ui(adapter)
    if served:  # the running server is the UI: probed before close stops it
        with timed_step("local_ui (the server's own)"):
            result.probes["local_ui"] = run_probe(probes.local_ui)
    with timed_step("close"):
        adapter.close()
    if not served:
        with timed_step("local_ui"):  # its own process over the closed store
            result.probes["local_ui"] = run_probe(probes.local_ui)
    return result


def scale_trial(adapter: TrackingAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    """The search latency over a store of many runs: a time figure, so the machine is this
    trial's alone."""
    probes = Probes(adapter, request)
    result = Result(trial_id=request.trial_id, status=OK)
    with timed_step("open"):
        adapter.start_server(store=probes.store)
        adapter.open(store=probes.store, experiment=EXPERIMENT)
    with timed_step("scale"):
        probes.scale(result)
    with timed_step("close"):
        adapter.close()
    return result
