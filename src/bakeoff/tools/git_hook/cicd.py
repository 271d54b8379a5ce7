"""The cicd baseline: no CI tool. The bare repository's post-receive hook checks out the pushed
commit and runs one shell script, `ci/pipeline.sh`, rendered here from the stage's pipeline."""

from __future__ import annotations

import shlex
import time
import uuid
from pathlib import Path

from bakeoff.stages.cicd.contract import FAILED, PASSED, CicdAdapter, Pipeline, RunOutcome, Site
from bakeoff.worker.processes import end_marked

MARKER = "BAKEOFF_GIT_HOOK"  # every pipeline the hook starts carries it, so stop() can end them

HOOK = """#!/bin/sh
# post-receive: run the pushed commit's ci/pipeline.sh in the background, one run at a time.
export {marker}={token}
export GIT_DIR="$(cd "${{GIT_DIR:-.}}" && pwd)"  # absolute: the script's `git diff` runs from the checkout
state={state}
while read old new ref; do
  [ "$ref" = refs/heads/main ] || continue
  mkdir -p "$state/work/$new" "$state/runs"
  git archive "$new" | tar -x -C "$state/work/$new"
  (cd "$state/work/$new" && set -a && . "$state/secrets.env" && set +a &&
   flock "$state/lock" sh ci/pipeline.sh "$old" "$new" > "$state/runs/$new.log" 2>&1
   echo $? > "$state/runs/$new.code.tmp" && mv "$state/runs/$new.code.tmp" "$state/runs/$new.code") \\
   < /dev/null > /dev/null 2>&1 &
done
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
        hook = site.bare_repo / "hooks" / "post-receive"
        hook.write_text(HOOK.format(marker=MARKER, token=self.token, state=shlex.quote(str(self.state))))
        hook.chmod(0o755)

    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        code_file = self.state / "runs" / f"{revision}.code"
        deadline = time.monotonic() + timeout
        while not code_file.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no verdict for {revision[:12]} within {timeout:.0f} s")
            time.sleep(0.05)
        log = (self.state / "runs" / f"{revision}.log").read_text(errors="replace")
        jobs = {}
        for line in log.splitlines():
            if line.startswith("== job "):
                name, _, status = line[len("== job "):].partition(": ")
                jobs[name] = status.split(" ")[0]
        return RunOutcome(verdict=PASSED if code_file.read_text().strip() == "0" else FAILED, jobs=jobs, log=log)

    def stop(self) -> None:
        end_marked(None, MARKER, self.token)
