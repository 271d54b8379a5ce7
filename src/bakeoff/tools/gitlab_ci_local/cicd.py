"""GitLab CI through gitlab-ci-local: the ML pipeline as a .gitlab-ci.yml in the repository, run
by the gitlab-ci-local emulator with its shell executor. gitlab-ci-local is a command, not a
server: the post-receive hook clones the pushed commit and runs it there, one pipeline at a
time (a GitLab Runner's default `concurrent = 1`), and keeps its exit code and output."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import uuid
from pathlib import Path

from bakeoff.stages.cicd.hook import install, wait_for_run
from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Job, Pipeline, RunOutcome, Site
from bakeoff.worker.processes import end_marked

MARKER = "BAKEOFF_GITLAB_CI_LOCAL"
# Everything that is not documentation: a docs-only push changes none of these.
CODE_PATHS = ["model/**/*", "serve/**/*", "ci/**/*", "*.json", ".gitlab-ci.yml"]


def gitlab_ci_local() -> Path:
    """The npm-installed command, in the tool env's npm folder (tool.toml `npm`, installed when
    the env is built)."""
    import sys

    found = Path(sys.prefix) / "npm" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not found.exists():
        raise FileNotFoundError(f"gitlab-ci-local is not in the env ({found}); rebuild it: `bakeoff envs build --tools gitlab_ci_local`")
    return found


RUN_PIPELINE = """#!/bin/sh
# One pipeline: a clone at the pushed commit, origin/main at the commit before the push (what
# rules:changes compares against, as GitLab does for a push), then gitlab-ci-local.
set -e
unset GIT_DIR  # set by git for the hook: the clone is a repository of its own
old=$1 new=$2
work={state}/work/$new
git clone --quiet --branch main {repository} "$work"
cd "$work"
git reset --quiet --hard "$new"
case "$old" in *[!0]*) git update-ref refs/remotes/origin/main "$old" ;; esac
exec {command} --shell-isolation --no-color --home {state}/home
"""


def yaml_list(items) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def render_job(job: Job) -> list[str]:
    lines = [f"{job.name}:", f"  stage: {job.name}"]
    if job.needs:
        lines.append(f"  needs: {yaml_list(job.needs)}")
    if job.run:
        lines.append(f"  script: {yaml_list([job.run])}")
    if job.artifacts:
        lines.append(f"  artifacts: {{paths: {yaml_list(job.artifacts)}}}")
    if job.code_only:
        lines.append(f"  rules: [{{changes: {yaml_list(CODE_PATHS)}}}]")
    if job.retries:
        lines.append(f"  retry: {job.retries}")
    if job.timeout_s:
        lines.append(f"  timeout: {job.timeout_s} seconds")
    if job.matrix is not None:
        variable, values = job.matrix
        lines.append(f"  parallel: {{matrix: [{{{variable}: {yaml_list(values)}}}]}}")
    return lines


class GitlabCiLocal(CicdAdapter):
    pipeline_file = ".gitlab-ci.yml"

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.state: Path | None = None

    def render(self, *, pipeline: Pipeline) -> dict[str, str]:
        lines = [f"# GitLab CI: the {pipeline.name} pipeline; every job calls the repository's ci/step.sh.",
                 f"stages: {yaml_list([j.name for j in pipeline.jobs])}",
                 "variables:", "  REVISION: $CI_COMMIT_SHA", ""]
        for job in pipeline.jobs:
            lines += render_job(job) + [""]
        return {self.pipeline_file: "\n".join(lines)}

    def start(self, *, site: Site) -> None:
        self.state = site.state
        for folder in ("runs", "work", "home"):
            (self.state / folder).mkdir(parents=True, exist_ok=True)
        # CI/CD variables as GitLab's settings would hold them: gitlab-ci-local's home variables
        # file (its --variables-file is resolved against the clone, so it cannot live outside it).
        (self.state / "home" / ".gitlab-ci-local").mkdir(parents=True, exist_ok=True)
        (self.state / "home" / ".gitlab-ci-local" / "variables.yml").write_text(
            "global:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in site.secrets.items()))
        command = shlex.join([shutil.which("node") or "node", str(gitlab_ci_local())])
        install(site.bare_repo, self.state, marker=MARKER, token=self.token,
                run_script=RUN_PIPELINE.format(state=shlex.quote(str(self.state)),
                                               repository=shlex.quote(site.bare_repo.as_uri()), command=command))

    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        code, log = wait_for_run(self.state, revision, timeout)
        jobs = {}
        for match in re.finditer(r"^\s*(PASS|FAIL|WARN)\s+(\S+)", log, re.MULTILINE):
            jobs[match.group(2)] = {"PASS": "success", "FAIL": "failed", "WARN": "warning"}[match.group(1)]
        return RunOutcome(verdict=PASSED if code == "0" else FAILED, jobs=jobs, log=log,
                          detail="" if code == "0" else log.strip()[-600:])

    def stop(self) -> None:
        end_marked(None, MARKER, self.token)
