"""The cicd baseline: no CI tool. The bare repository's post-receive hook checks out the pushed
commit and runs one shell script, `ci/pipeline.sh`, rendered here from the stage's pipeline."""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path

from bakeoff.stages.cicd.hook import install, wait_for_run
from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Pipeline, RunOutcome, Site
from bakeoff.worker.processes import end_marked

MARKER = "BAKEOFF_GIT_HOOK"  # every pipeline the hook starts carries it, so stop() can end them

RUN = """#!/bin/sh
# One run: the pushed commit checked out (git archive), the CI secrets in its environment,
# then the pipeline script. `sh run.sh OLD NEW`, started by the stage's post-receive hook.
old=$1 new=$2
state={state}
mkdir -p "$state/work/$new"
git archive "$new" | tar -x -C "$state/work/$new"
cd "$state/work/$new" && set -a && . "$state/secrets.env" && set +a
exec sh ci/pipeline.sh "$old" "$new"
"""

PROLOGUE = """#!/bin/sh
# The whole pipeline, one job after another: `sh ci/pipeline.sh OLD NEW`, from the checkout.
export REVISION="$2"
job() {  # job NAME RETRIES TIMEOUT COMMAND...: run it, retry it, stop the pipeline if it fails
  name=$1 retries=$2 limit=$3; shift 3
  attempt=0
  while :; do
    if [ "$limit" -gt 0 ]; then timeout "$limit" "$@"; else "$@"; fi && { echo "== job $name: ok"; return 0; }
    attempt=$((attempt + 1))
    [ $attempt -gt "$retries" ] && { echo "== job $name: failed"; exit 1; }
  done
}
"""


def render_job(job) -> list[str]:
    if not job.run:
        return [f"job {job.name} 0 0  # no command"]
    command = f"job {shlex.quote(job.name)} {job.retries} {job.timeout_s} {job.run}"
    if job.matrix is None:
        return [command]
    variable, values = job.matrix
    lines = [f"for value in {' '.join(values)}; do"
             f" ({variable}=$value; export {variable}; {command}) & pids=\"$pids $!\"; done",
             "for pid in $pids; do wait $pid || failed=1; done",
             f'[ -z "$failed" ] || {{ echo "== job {job.name}: failed"; exit 1; }}']
    return lines


class GitHookPipeline(CicdAdapter):
    pipeline_file = "ci/pipeline.sh"

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.state: Path | None = None

    def render(self, *, pipeline: Pipeline) -> dict[str, str]:
        lines = [PROLOGUE]
        if any(j.code_only for j in pipeline.jobs):
            lines.append('changed=$(sh ci/step.sh code-changed "$1" "$2")')
        for job in pipeline.jobs:
            body = render_job(job)
            if job.code_only:
                body = [f'if [ "$changed" = code=true ]; then', *[f"  {b}" for b in body],
                        f'else echo "== job {job.name}: skipped (docs only)"; fi']
            lines += body
        return {self.pipeline_file: "\n".join(lines) + "\n"}

    def start(self, *, site: Site) -> None:
        self.state = site.state
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "secrets.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in site.secrets.items()))
        install(site.bare_repo, self.state, marker=MARKER, token=self.token,
                run_script=RUN.format(state=shlex.quote(str(self.state))))

    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        code, log = wait_for_run(self.state, revision, timeout)
        jobs = {}
        for line in log.splitlines():
            if line.startswith("== job "):
                name, _, status = line[len("== job "):].partition(": ")
                jobs[name] = status.split(" ")[0]
        return RunOutcome(verdict=PASSED if code == "0" else FAILED, jobs=jobs, log=log)

    def stop(self) -> None:
        end_marked(None, MARKER, self.token)
