"""Buildbot: a master (SQLite, web UI, change hook) and one worker over loopback, both started
here. The pipeline is the master's configuration (master.cfg, rendered below from the stage's
pipeline); the bare repository's post-receive hook posts each push to the master's change hook."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Job, Pipeline, RunOutcome, Site
from bakeoff.stages.contract import Unsupported
from bakeoff.worker.measure import free_port
from bakeoff.worker.processes import ProcessTree

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
BIN = Path(sys.executable).parent
RESULTS = {0: "success", 1: "warnings", 2: "failure", 3: "skipped", 4: "exception", 5: "retry", 6: "cancelled"}

MASTER_CFG = '''\
# Buildbot master configuration: the ML pipeline as builders of shell steps.
import json
import os

from buildbot.plugins import schedulers, secrets, steps, util, worker

site = json.load(open(os.path.join(basedir, "site.json")))  # ports, repository, password
c = BuildmasterConfig = {{}}
c["title"] = "flights-delay"
c["buildbotURL"] = f"http://127.0.0.1:{{site['www_port']}}/"
c["buildbotNetUsageData"] = None  # no usage data sent
c["db"] = {{"db_url": "sqlite:///state.sqlite"}}
c["protocols"] = {{"pb": {{"port": f"tcp:{{site['pb_port']}}:interface=127.0.0.1"}}}}
c["workers"] = [worker.Worker("local", site["worker_password"])]
c["www"] = {{"port": f"tcp:{{site['www_port']}}:interface=127.0.0.1", "plugins": {{}},
             "change_hook_dialects": {{"base": True}}}}
c["secretsProviders"] = [secrets.SecretInAFile(dirname=site["secrets_dir"])]
c["collapseRequests"] = False  # every push gets its own verdict


def code_changed(step):
    """False when every file the push changed is documentation."""
    files = step.build.allFiles()
    return not files or not all(f.startswith("docs/") or f.endswith(".md") for f in files)


def checkout():
    return steps.Git(repourl=site["repository"], mode="full", method="fresh")


def shell(name, command, **extra):
    env = {{"REVISION": util.Property("got_revision"), **extra.pop("env", {{}})}}
    return steps.ShellCommand(name=name, command=command, env=env, haltOnFailure=True, **extra)


pipeline = util.BuildFactory([
    checkout(),
{steps}
])
c["builders"] = [util.BuilderConfig(name="pipeline", workernames=["local"], factory=pipeline)]
{matrix}
c["schedulers"] = [
    schedulers.SingleBranchScheduler(name="push", change_filter=util.ChangeFilter(branch="main"),
                                     treeStableTimer=None, builderNames=["pipeline"]),
{triggerable}
]
'''

HOOK = '''#!{python}
"""post-receive: tell the Buildbot master about each push through its change hook."""
import json, subprocess, sys, urllib.parse, urllib.request

for line in sys.stdin:
    old, new, ref = line.split()
    if ref != "refs/heads/main":
        continue
    span = [new] if set(old) == {{"0"}} else [old, new]
    files = subprocess.run(["git", "diff", "--name-only", *span] if len(span) == 2 else
                           ["git", "ls-tree", "-r", "--name-only", new], capture_output=True, text=True).stdout.split()
    message = subprocess.run(["git", "log", "-1", "--format=%s", new], capture_output=True, text=True).stdout.strip()
    form = {{"revision": new, "branch": "main", "repository": {repository!r}, "project": "flights-delay",
            "author": "Team <team@example.invalid>", "comments": message, "files": json.dumps(files)}}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
    opener.open("http://127.0.0.1:{www_port}/change_hook/base", data=urllib.parse.urlencode(form).encode(), timeout=30)
'''


def python_list(run: str) -> str:
    return json.dumps(run)  # a string command runs through the worker's shell


def render_step(job: Job, indent: str = "    ") -> str:
    if job.retries:
        raise Unsupported("Buildbot steps have no retry setting (a RETRY result only follows a lost worker)")
    extra = []
    if job.timeout_s:
        extra.append(f"maxTime={job.timeout_s}")
    if job.code_only:
        extra.append("doStepIf=code_changed")
    if job.secret:
        extra.append(f'env={{"{job.secret}": util.Secret("{job.secret}")}}')
    if job.matrix is not None:
        variable, values = job.matrix
        names = ", ".join(f'"{job.name}-{v}"' for v in values)
        return (f'{indent}steps.Trigger(name="{job.name}", schedulerNames=["{job.name}"], waitForFinish=True, '
                f'haltOnFailure=True, updateSourceStamp=True),  # builders {names}')
    return f'{indent}shell("{job.name}", {python_list(job.run)}{"".join(", " + e for e in extra)}),'


def render_matrix(job: Job) -> tuple[str, str]:
    variable, values = job.matrix
    builders = [f'    util.BuilderConfig(name="{job.name}-{v}", workernames=["local"], factory=util.BuildFactory([\n'
                f'        checkout(), shell("{job.name}", {python_list(job.run)}, env={{"{variable}": "{v}"}})])),'
                for v in values]
    names = ", ".join(f'"{job.name}-{v}"' for v in values)
    return ('c["builders"] += [  # one builder per configuration, so they run side by side\n'
            + "\n".join(builders) + "\n]",
            f'    schedulers.Triggerable(name="{job.name}", builderNames=[{names}]),')


class BuildbotPipeline(CicdAdapter):
    pipeline_file = "master/master.cfg"
    pipeline_in_repo = False

    def __init__(self) -> None:
        self.master: ProcessTree | None = None
        self.worker: ProcessTree | None = None
        self.base = ""
        self.state: Path | None = None
        self.builder: int | None = None  # the "pipeline" builder's id (it keeps it across reconfigs)
        self.revisions: dict[int, str | None] = {}  # buildid -> got_revision, of finished builds seen

    def render(self, *, pipeline: Pipeline) -> dict[str, str]:
        matrix_jobs = [j for j in pipeline.jobs if j.matrix is not None]
        rendered = [render_matrix(j) for j in matrix_jobs]
        text = MASTER_CFG.format(steps="\n".join(render_step(j) for j in pipeline.jobs),
                                 matrix="\n".join(r[0] for r in rendered),
                                 triggerable="\n".join(r[1] for r in rendered))
        return {self.pipeline_file: text}

    def start(self, *, site: Site) -> None:
        self.state = site.state
        master, worker = site.state / "master", site.state / "worker"
        master.mkdir(parents=True)
        (site.state / "secrets").mkdir()
        for name, value in site.secrets.items():
            (site.state / "secrets" / name).write_text(value)
            (site.state / "secrets" / name).chmod(0o600)  # SecretInAFile refuses readable ones
        password, pb_port, www_port = secrets.token_hex(8), free_port(), free_port()
        self.base = f"http://127.0.0.1:{www_port}"
        (master / "site.json").write_text(json.dumps({
            "pb_port": pb_port, "www_port": www_port, "worker_password": password,
            "repository": site.bare_repo.as_uri(), "secrets_dir": str(site.state / "secrets")}))
        env = {**site.env, "PATH": f"{BIN}:{site.env.get('PATH', '')}"}
        # The two set-up commands are independent (each writes its own folder): run side by side.
        self._run([[str(BIN / "buildbot"), "create-master", "--quiet", str(master)],
                   [str(BIN / "buildbot-worker"), "create-worker", "--quiet", str(worker),
                    f"127.0.0.1:{pb_port}", "local", password]], env)
        hook = site.bare_repo / "hooks" / "post-receive"
        hook.write_text(HOOK.format(python=sys.executable, repository=site.bare_repo.as_uri(), www_port=www_port))
        hook.chmod(0o755)
        (master / "master.cfg").write_text(site.files[self.pipeline_file])
        self.master = ProcessTree([str(BIN / "buildbot"), "start", "--nodaemon", str(master)], env=env,
                                  cwd=master, log=site.state / "master.log", new_session=True)
        self._until(lambda: self._get("/api/v2/builders"), "the master's REST API", 90)
        self.worker = ProcessTree([str(BIN / "buildbot-worker"), "start", "--nodaemon", str(worker)], env=env,
                                  cwd=worker, log=site.state / "worker.log", new_session=True)
        self._until(lambda: any(w["connected_to"] for w in self._get("/api/v2/workers")["workers"]),
                    "the worker to connect", 60)

    def configure(self, *, files: dict[str, str]) -> str:
        """What `buildbot reconfig` does: SIGHUP the master, then follow twistd.log until it says
        the update is complete or that it keeps the previous configuration. (With --nodaemon
        there is no twistd.pid for the command itself to read.)"""
        master = self.state / "master"
        log = master / "twistd.log"
        seen = log.stat().st_size if log.exists() else 0
        (master / "master.cfg").write_text(files[self.pipeline_file])
        self.master.process.send_signal(signal.SIGHUP)

        def outcome():
            text = log.read_text(errors="replace")[seen:]
            if "configuration update complete" in text:
                return "ok"
            if "keep using the previous config file" in text or "reconfig aborted" in text:
                errors = [line.split(" ", 3)[-1] for line in text.splitlines() if "rror" in line]
                return "refused: " + " | ".join(errors[-3:])[-600:]
            return None

        said = self._until(outcome, "the master's reconfiguration", 120)
        if said != "ok":
            return said
        builders = {b.split('"')[1] for b in files[self.pipeline_file].split("BuilderConfig(name=")[1:]}
        self._until(lambda: builders <= {b["name"] for b in self._get("/api/v2/builders")["builders"]
                                         if b.get("masterids")}, "the new builders", 60)
        return ""

    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        """Poll the builder's latest finished builds (ids only) and look up the revision of each
        build not seen before, once: the master answers the polls on the reactor thread that
        also runs the builds, so a poll asking for 30 builds' properties ten times a second
        slowed the builds it watched. The verdict is known when its build is seen finished; the
        steps and logs are read after that."""
        if self.builder is None:
            self.builder = self._get("/api/v2/builders?name=pipeline")["builders"][0]["builderid"]

        def finished():
            builds = self._get(f"/api/v2/builders/{self.builder}/builds?complete=true&order=-number&limit=5")["builds"]
            for build in builds:
                if build["buildid"] not in self.revisions:
                    found = self._get(f"/api/v2/builds/{build['buildid']}?property=got_revision")["builds"][0]
                    got = found.get("properties", {}).get("got_revision") or [None]  # absent: no checkout
                    self.revisions[build["buildid"]] = got[0]
                if self.revisions[build["buildid"]] == revision:
                    return build
            return None

        build = self._until(finished, f"a finished build of {revision[:12]}", timeout)
        known_at = time.time()
        jobs, logs = {}, []
        for step in self._get(f"/api/v2/builds/{build['buildid']}/steps")["steps"]:
            jobs[step["name"]] = RESULTS.get(step["results"], str(step["results"]))
            for log in self._get(f"/api/v2/steps/{step['stepid']}/logs")["logs"]:
                logs.append(self._raw(f"/api/v2/logs/{log['logid']}/raw"))
        verdict = PASSED if build["results"] == 0 else FAILED
        return RunOutcome(verdict=verdict, jobs=jobs, log="\n".join(logs), detail=build.get("state_string", ""),
                          known_at=known_at)

    def ui_url(self) -> str:
        return f"{self.base}/#/builders"

    def stop(self) -> None:
        """SIGTERM to the worker and the master at once (each shuts down on its own; one after
        the other waited out the worker's shutdown before the master's began)."""
        trees = [tree for tree in (self.worker, self.master) if tree is not None]
        stoppers = [threading.Thread(target=tree.stop, kwargs={"limit": 15}) for tree in trees]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    # helpers -------------------------------------------------------------------------------

    def _run(self, commands: list[list[str]], env: dict) -> None:
        """Run the commands side by side; any failure raises with its output."""
        running = [(argv, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                           env={**os.environ, **env})) for argv in commands]
        for argv, process in running:
            output = process.communicate(timeout=180)[0]
            if process.returncode:
                raise RuntimeError(f"{' '.join(argv[:2])} failed: {output.strip()[-500:]}")

    def _get(self, path: str) -> dict:
        return json.loads(self._read(path))

    def _raw(self, path: str) -> str:
        return self._read(path).decode(errors="replace")

    def _read(self, path: str, attempts: int = 3) -> bytes:
        """One REST answer; read again when the connection broke mid-answer (a busy master cut
        a 1 kB answer once at load 10: the read failed, not the build)."""
        for attempt in range(attempts):
            try:
                with NO_PROXY.open(self.base + path, timeout=10) as response:
                    return response.read()
            except (http.client.IncompleteRead, ConnectionResetError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _until(self, check, what: str, deadline: float):
        start, last = time.monotonic(), ""
        while time.monotonic() - start < deadline:
            if self.master is not None and not self.master.running():
                raise RuntimeError(f"the Buildbot master exited: {self.master.log_tail(800)}")
            try:
                found = check()
                if found:
                    return found
            except (OSError, ValueError, KeyError, IndexError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"waited {deadline:.0f} s for {what} ({last})")
