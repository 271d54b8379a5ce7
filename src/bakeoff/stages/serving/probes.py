"""The capacity trial, once per server: the concurrency sweep, the generator ceiling (baseline's
trial only), then robustness and feature probes. A capability counts only if a probe exercised
it here; every outcome is pass, fail or unsupported with its evidence. Worker side: base set only.
"""

from __future__ import annotations

import json
import pickle
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bakeoff.data.batches import FEATURES, LABEL, load_months, reference_pipeline
from bakeoff.stages.contract import Unsupported, run_probe
from bakeoff.stages.serving import load
from bakeoff.stages.serving.client import HOST, get, post, send_raw
from bakeoff.stages.serving.contract import BATCH_LOG, MAIN_MODEL, HttpRequest, ServingAdapter
from bakeoff.stages.serving.figures import GeneratorCeiling, Sweep, SweepPoint
from bakeoff.stages.serving.payload import predict
from bakeoff.stages.serving.workload import Mismatch, Running, Trial, server_environment, serving_trial
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import MemorySampler, ProcessTree
from bakeoff.worker.protocol import FAIL, OK, PASS, UNSUPPORTED, Request, Result

Outcome = tuple[str, str]
SECOND_MODEL = "second"
FEATURES_STOP_S = 1.0


def second_model(trial: Trial) -> Path:
    """A different model of the same shape (fewer, bigger boosting steps), for the multi-model
    and version-switch probes."""
    frame = load_months(trial.data_dir, (1, 2, 3)).sample(n=4000, random_state=trial.request.seed)
    model = reference_pipeline(max_iter=15, learning_rate=0.3).fit(frame[FEATURES], frame[LABEL])
    path = trial.scratch / "second-model.pkl"
    path.write_bytes(pickle.dumps(model, protocol=5))
    return path


class Probes:
    def __init__(self, trial: Trial, running: Running) -> None:
        self.trial, self.running = trial, running
        self.adapter = trial.adapter
        self.row = dict(trial.set.singles[0][0])

    def still_correct(self) -> str:
        self.trial.still_running(self.running, "during the probes")
        self.trial.check(self.running, self.trial.set.singles[1], self.trial.set.expected_singles[1])
        self.trial.check(self.running, self.trial.set.batches[0], self.trial.set.expected_batches[0])
        return "then still answered correctly"

    def _bad(self, what: str, request: HttpRequest) -> Outcome:
        tick = time.perf_counter()
        status, body = post(self.running.port, request, timeout=30)
        ms = (time.perf_counter() - tick) * 1000
        after = self.still_correct()
        if 400 <= status < 500:
            return PASS, f"{what}: HTTP {status} in {ms:.0f} ms; {after}"
        return FAIL, f"{what}: HTTP {status} (wanted 4xx) in {ms:.0f} ms: {body[:160]!r}; {after}"

    def malformed_json(self) -> Outcome:
        good = self.trial.http([self.row])
        return self._bad("truncated JSON body", HttpRequest(good.path, good.body[: len(good.body) // 2], good.content_type))

    def wrong_schema(self) -> Outcome:
        return self._bad('"distance": "far" (a string where a number belongs)',
                         self.trial.http([{**self.row, "distance": "far"}]))

    def missing_fields(self) -> Outcome:
        row = {k: v for k, v in self.row.items() if k != "distance"}
        return self._bad("a row without `distance`", self.trial.http([row]))

    def big_body(self) -> Outcome:
        size = int(self.trial.settings["big_body_mb"] * 1_000_000)
        path = self.trial.http([self.row]).path
        body = b'{"rows": "' + b"x" * size + b'"}'
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        tick = time.perf_counter()
        status, what = send_raw(self.running.port, head + body, timeout=30)
        ms = (time.perf_counter() - tick) * 1000
        after = self.still_correct()
        label = f"{size / 1e6:.0f} MB JSON body"
        if status is None and ("closed" in what or "reset" in what):
            return PASS, f"{label}: connection closed without an answer ({what}) in {ms:.0f} ms; {after}"
        if status is not None and 400 <= status < 500:
            return PASS, f"{label}: HTTP {status} in {ms:.0f} ms; {after}"
        return FAIL, f"{label}: {what} in {ms:.0f} ms (wanted 4xx or a clean close); {after}"

    def dropped_connections(self) -> Outcome:
        count = self.trial.settings["dropped_connections"]
        good = self.trial.http(self.trial.set.batches[0])
        head = (f"POST {good.path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {good.content_type}\r\n"
                f"Content-Length: {len(good.body)}\r\n\r\n").encode()
        sockets = []
        for _ in range(count):
            sock = socket.create_connection((HOST, self.running.port), timeout=10)
            sock.sendall(head + good.body[: len(good.body) // 2])
            sockets.append(sock)
        time.sleep(0.3)
        for sock in sockets:
            sock.close()
        time.sleep(0.5)
        tick = time.perf_counter()
        after = self.still_correct()
        return PASS, (f"{count} connections sent headers and half a body, then closed; the server {after} "
                      f"({(time.perf_counter() - tick) * 1000:.0f} ms)")

    def health_ready(self) -> Outcome:
        paths = self.adapter.health_paths()
        seen = {}
        for kind in ("live", "ready"):
            status, body, _ = get(self.running.base + paths[kind])
            seen[kind] = (paths[kind], status)
        if all(status == 200 for _, status in seen.values()):
            same = " (one endpoint for both)" if paths["live"] == paths["ready"] else ""
            return PASS, f"GET {paths['live']} and {paths['ready']} answered 200{same}"
        return FAIL, "answers: " + ", ".join(f"GET {path}: HTTP {status}" for path, status in seen.values())

    def openapi(self) -> Outcome:
        path = self.adapter.openapi_path()
        status, body, _ = get(self.running.base + path)
        if status != 200:
            return FAIL, f"GET {path}: HTTP {status}"
        document = json.loads(body)
        version = document.get("openapi") or document.get("swagger")
        if not version:
            return FAIL, f"GET {path}: JSON without an openapi/swagger version (keys: {', '.join(sorted(document)[:6])})"
        return PASS, f"GET {path}: OpenAPI {version} document with {len(document.get('paths', {}))} paths"

    def prometheus_metrics(self) -> Outcome:
        url = self.adapter.metrics_url(base=self.running.base)
        status, body, _ = get(url)
        text = body.decode(errors="replace")
        families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
        if status != 200 or not families:
            return FAIL, f"GET {url}: HTTP {status}, {len(families)} metric families"
        examples = [f for f in families if "request" in f][:3] or families[:3]
        return PASS, (f"GET {url.split(str(self.running.port))[-1] or url}: {len(families)} metric families, "
                      f"e.g. {', '.join(examples)}")

    def loopback_only(self) -> Outcome:
        found = self.trial.listening(self.running)
        shown, exposed = found.sockets, found.beyond_loopback
        if exposed:
            return FAIL, f"{len(exposed)} of {len(shown)} listening sockets beyond loopback: {', '.join(exposed[:6])}"
        return PASS, f"all {len(shown)} listening sockets on loopback: {', '.join(shown[:6])}"

    def hot_reload(self, second: Path) -> Outcome:
        expected = predict(pickle.loads(second.read_bytes()), self.trial.set.batches[0])
        pid = self.running.server.process.pid
        tick = time.perf_counter()
        self.adapter.switch_model(base=self.running.base, workdir=self.running.workdir, model=MAIN_MODEL, path=second)
        deadline = tick + 60
        got: list[float] = []
        while time.perf_counter() < deadline:
            got = self.trial.answer(self.running, self.trial.set.batches[0])
            if got == expected:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - tick
        if got != expected:
            return FAIL, "after the switch the server still did not answer with the new model's predictions (60 s)"
        if not self.running.server.running() or self.running.server.process.pid != pid:
            return FAIL, "the new model answers, but the server process was restarted"
        return PASS, f"switched to a second model in {seconds:.1f} s without a restart; its predictions match exactly"


def ceiling(trial: Trial) -> GeneratorCeiling | None:
    """The constant endpoint under the same generators: what the HTTP stack and the generators
    can do here at most. Only the baseline provides it (see the contract)."""
    workdir = trial.scratch / "constant"
    workdir.mkdir(exist_ok=True)
    try:
        port = free_port()
        argv = trial.adapter.constant_command(workdir=workdir, port=port)
    except Unsupported:
        return None
    s = trial.settings
    requests = trial.singles()
    env = {**server_environment(trial.adapter, workdir), "TMPDIR": str(trial.short_tmp("constant"))}
    trial.whole_machine()
    with ProcessTree(argv, env=env, cwd=workdir,
                log=trial.scratch / "constant.server.log") as server:
        deadline = time.perf_counter() + 60
        while True:
            try:
                if post(port, requests[0], timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline or not server.running():
                raise RuntimeError(f"the constant endpoint never answered: {server.log_tail(500)}")
            time.sleep(0.05)
        server.pin(trial.server_core)
        trial.beside_generators()
        top = max(s["concurrency"])
        wrk = load.run_wrk(port=port, requests=requests, connections=top, seconds=s["sweep_s"],
                           workdir=trial.scratch / "wrk-constant", core=trial.generator_core, log=trial.log)
        k6 = load.run_k6(port=port, phases=[{"name": "ceiling", "vus": top, "seconds": s["sweep_s"], "requests": requests}],
                         workdir=trial.scratch / "k6-constant", core=trial.generator_core, log=trial.log)["ceiling"]
        server.stop(limit=s["stop_limit_s"])
    return GeneratorCeiling(endpoint="raw ASGI app under uvicorn returning a constant, 1 process, pinned like the servers",
                            connections=top, wrk_rps=round(wrk.rps, 1), wrk_p50_ms=round(wrk.p50_ms, 3),
                            k6_rps=round(k6.achieved_rps, 1), k6_p50_ms=round(k6.quantile(50), 3),
                            k6_errors=k6.errors)


def sweep(trial: Trial, running: Running, memory: MemorySampler) -> Sweep:
    s = trial.settings
    rounds: dict[int, list[load.Closed]] = {c: [] for c in s["concurrency"]}
    since = time.perf_counter()
    for index in range(s["sweep_rounds"]):
        for connections in s["concurrency"]:
            rounds[connections].append(trial.closed_loop(running, connections, s["sweep_s"], trial.scratch / "wrk"))
    curve = []
    for connections, runs in rounds.items():
        median = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]  # the median round
        curve.append(SweepPoint(connections=connections, rps=round(median.rps, 3), p50_ms=round(median.p50_ms, 3),
                                p90_ms=round(median.p90_ms, 3), p99_ms=round(median.p99_ms, 3),
                                errors=sum(r.errors for r in runs), requests=sum(r.requests for r in runs)))
    return Sweep(curve=curve, peak_memory_mb=round(memory.peak(since), 1),
                 max_rps_by_round=[round(max(rounds[c][i].rps for c in rounds), 3) for i in range(s["sweep_rounds"])])


def feature_support(trial: Trial) -> tuple[dict[str, str], dict[str, str]]:
    """Which of batching and several models the adapter accepts: (supported, unsupported reasons).
    `prepare` raises Unsupported before writing anything, so a dry call is cheap."""
    supported, missing = {}, {}
    for feature, kwargs in (("batching", {"batching": True}),
                            ("several_models", {"models": {MAIN_MODEL: trial.model_path, SECOND_MODEL: trial.model_path}})):
        dry = trial.scratch / f"dry-{feature}"
        dry.mkdir(exist_ok=True)
        try:
            trial.adapter.prepare(**{"models": {MAIN_MODEL: trial.model_path}, "workdir": dry,
                                     "workers": trial.settings["workers"], "batching": False, **kwargs})
            supported[feature] = "yes"
        except Unsupported as why:
            missing[feature] = str(why)
    return supported, missing


def batching_probe(trial: Trial, running: Running) -> Outcome:
    pairs = list(zip(trial.set.singles, trial.set.expected_singles)) * 2
    log = running.workdir / BATCH_LOG
    log.unlink(missing_ok=True)

    def one(pair) -> bool:
        rows, expected = pair
        return trial.answer(running, rows) == expected

    with ThreadPoolExecutor(max_workers=trial.settings["batching_clients"]) as pool:
        correct = list(pool.map(one, pairs))
    if not all(correct):
        return FAIL, f"{correct.count(False)} of {len(pairs)} concurrent answers were wrong"
    sizes = [int(line) for line in log.read_text().split()] if log.exists() else []
    rows = sum(sizes)
    if not sizes:
        return FAIL, f"the service recorded no model call in {BATCH_LOG}"
    if max(sizes) <= 1:
        return FAIL, f"{len(pairs)} concurrent single-row requests were never batched ({len(sizes)} calls of 1 row)"
    return PASS, (f"{len(pairs)} concurrent single-row requests from {trial.settings['batching_clients']} clients, all "
                  f"correct, reached the model in {len(sizes)} calls (largest batch {max(sizes)}, {rows} rows)")


def multi_probe(trial: Trial, running: Running, second: Path) -> Outcome:
    rows = trial.set.batches[0]
    trial.check(running, rows, trial.set.expected_batches[0], MAIN_MODEL)
    other = predict(pickle.loads(second.read_bytes()), rows)
    trial.check(running, rows, other, SECOND_MODEL)
    if other == trial.set.expected_batches[0]:
        return FAIL, "the two models gave identical answers, so routing cannot be told apart"
    paths = {trial.http(rows, m).path for m in (MAIN_MODEL, SECOND_MODEL)}
    return PASS, f"one server answered two models at {' and '.join(sorted(paths))}, each exactly as its own model"


def capacity_trial(adapter: ServingAdapter, request: Request, *, import_seconds: float) -> Result:
    with serving_trial(adapter, request) as trial:
        return measure_capacity(trial)


def measure_capacity(trial: Trial) -> Result:
    s = trial.settings
    result = Result(trial_id=trial.request.trial_id, status=OK, facts=dict(trial.facts))
    try:
        found = ceiling(trial)
    except Exception as exc:  # the references must not cost the baseline its own figures
        found = None
        result.facts["generator_ceiling_error"] = f"{type(exc).__name__}: {exc}"[:500]
    if found:
        result.put(found)
    second = second_model(trial)
    running = trial.start("server")
    result.facts.update(trial.facts)
    result.put(trial.floor_data())
    result.facts["cold_start_seconds"] = round(running.cold_start, 3)
    probes = Probes(trial, running)
    try:
        with MemorySampler(running.server) as memory:
            result.facts["correctness"] = trial.check_all(running)
            swept = sweep(trial, running, memory)
        result.put(swept)
        by_round = swept.max_rps_by_round
        result.metrics["max_rps"] = sorted(by_round)[len(by_round) // 2]
        result.samples["max_rps"] = by_round
        for name in ("malformed_json", "wrong_schema", "missing_fields", "big_body", "dropped_connections",
                     "health_ready", "openapi", "prometheus_metrics", "loopback_only"):
            result.probes[name] = run_probe(getattr(probes, name))
        result.probes["hot_reload"] = run_probe(lambda: probes.hot_reload(second))
    finally:
        stopped = trial.stop(running)
    result.put(stopped)
    limit = s["stop_limit_s"]
    if stopped.clean:
        result.probes["sigterm"] = {"status": PASS, "evidence": f"SIGTERM to the main process: every process of the server gone in {stopped.seconds:.2f} s"}
    else:
        result.probes["sigterm"] = {"status": FAIL, "evidence": (
            f"SIGTERM to the main process: after {limit:.0f} s still running: {', '.join(stopped.leftovers[:6])} "
            f"(killed with SIGKILL)")}
    supported, missing = feature_support(trial)
    for feature, probe in (("batching", "adaptive_batching"), ("several_models", "several_models")):
        if feature in missing:
            result.probes[probe] = {"status": UNSUPPORTED, "evidence": missing[feature]}
    if supported:
        models = {MAIN_MODEL: trial.model_path}
        if "several_models" in supported:
            models[SECOND_MODEL] = second
        try:
            features = trial.start("features", models=models, batching="batching" in supported)
        except Exception as exc:
            for feature, probe in (("batching", "adaptive_batching"), ("several_models", "several_models")):
                if feature in supported:
                    result.probes[probe] = {"status": FAIL, "evidence": f"server did not start: {exc}"[:600]}
            return result
        try:
            if "batching" in supported:
                result.probes["adaptive_batching"] = run_probe(lambda: batching_probe(trial, features))
            if "several_models" in supported:
                result.probes["several_models"] = run_probe(lambda: multi_probe(trial, features, second))
        finally:
            # Nothing is measured of this stop (the main server's gave the sigterm probe): one
            # second for SIGTERM, then SIGKILL, instead of waiting out LitServe's workers again.
            features.server.stop(limit=FEATURES_STOP_S)
    return result
