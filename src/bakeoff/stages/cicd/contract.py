"""The CI/CD contract: what the cicd stage asks of every CI setup.

The stage owns the work: a small ML repository (lint, unit tests, train, evaluate, gate,
register, deploy, all through `sh ci/step.sh STEP`), the pushes, and every check. A tool only
expresses the stage's pipeline (a `Pipeline` of `Job`s, below) in its own format, reacts to a
real `git push` into a local bare repository, and reports its verdict. Every method takes
keyword-only arguments; a feature the tool's format cannot express raises Unsupported from
`render`.

Call order, once per trial:
1. `render(pipeline=...)` any number of times (pure: it only returns file contents).
2. `start(site=...)`: start the tool's servers, workers or agents (each a
   `bakeoff.worker.processes.ProcessTree`), install the bare repository's post-receive hook,
   return once a push would be picked up. Timed apart from the pushes: a team starts it once.
3. For a pipeline that lives outside the repository (`pipeline_in_repo = False`, e.g. a
   Buildbot master.cfg), `configure(files=...)` loads it into the running tool; files of an
   in-repository pipeline are committed by the stage with the change instead.
4. The stage pushes; `wait(revision=..., timeout=...)` blocks until the tool's verdict on the
   pipeline run of that commit, and returns it with each job's status and log.
5. `ui_url()` may be read while the tool runs; `stop()` ends everything `start` started, and
   nothing of the tool may outlive it (the stage checks no process or port is left).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.stages.contract import Unsupported, required

PASSED, FAILED, REJECTED = "pass", "fail", "rejected"  # verdicts; rejected: refused before any job ran


@dataclass(frozen=True)
class Job:
    """One job: a shell command run from the repository root in a checkout of the pushed commit."""

    name: str
    run: str
    needs: tuple[str, ...] = ()  # jobs that must succeed first; their artifacts reach this job
    artifacts: tuple[str, ...] = ()  # paths this job hands on to the jobs that need it
    code_only: bool = False  # skipped when the push changed only docs (docs/ and *.md)
    retries: int = 0  # extra attempts after a failure
    timeout_s: int = 0  # the job is killed and fails after this long (0: the tool's default)
    matrix: tuple[str, tuple[str, ...]] | None = None  # (variable, values): one job per value, in parallel
    secret: str = ""  # name of an environment variable given to the job as a secret


@dataclass(frozen=True)
class Pipeline:
    name: str
    jobs: tuple[Job, ...]

    def job(self, name: str) -> Job:
        return next(j for j in self.jobs if j.name == name)


@dataclass
class Site:
    """Where this trial's CI lives. All paths are in the trial's scratch."""

    bare_repo: Path  # the pushed-to repository (file://); hooks/post-receive is the tool's
    state: Path  # a folder for the tool's own state (master, runner folders, checkouts)
    python: Path  # the interpreter jobs run `ci/steps.py` with (the env's)
    env: dict[str, str]  # variables every process the tool starts should get (PATH and the like)
    secrets: dict[str, str]  # secret values by variable name, for the tool's own secret store
    files: dict[str, str]  # the rendered first pipeline: a tool whose pipeline lives outside the repo starts with it


@dataclass
class RunOutcome:
    """A pipeline run as the tool reports it."""

    verdict: str  # PASSED | FAILED | REJECTED
    jobs: dict[str, str] = field(default_factory=dict)  # job name -> the tool's status word for it
    log: str = ""  # every job's log as the tool keeps it (for the secret check)
    detail: str = ""  # the tool's own words when it rejected or failed the run
    # Wall clock when the verdict was known, for an adapter that collects the run's logs and job
    # statuses from the tool after it saw the verdict (Buildbot's REST API): 0 means when wait() returned.
    known_at: float = 0.0


class CicdAdapter:
    """One CI setup. Constructed with the options from its tool.toml."""

    # Where the rendered pipeline lives, as a team would find it: a path in the repository, or
    # the tool's own configuration file when `pipeline_in_repo` is False.
    pipeline_file = ""
    pipeline_in_repo = True
    # The smallest job timeout the format can state, in seconds (GitHub's timeout-minutes: 60);
    # a job timeout is rounded up to it, and the timeout probe waits accordingly.
    timeout_unit_s = 1

    @required
    def render(self, *, pipeline: Pipeline) -> dict[str, str]:
        """The files (path -> text) that express `pipeline` in the tool's format. Unsupported
        when the format cannot express one of its jobs' features (name the feature)."""
        raise NotImplementedError

    @required
    def start(self, *, site: Site) -> None:
        """Start the tool and install the post-receive hook in `site.bare_repo`."""
        raise NotImplementedError

    def configure(self, *, files: dict[str, str]) -> str:
        """Load a pipeline kept outside the repository into the running tool. Returns "" when the
        tool took it, or the tool's own message when it refused it (the old one stays)."""
        raise Unsupported("the pipeline lives in the repository")

    def check(self, *, files: dict[str, str]) -> str:
        """The tool's static check of the rendered files, before anything runs: "" when clean,
        else its findings. Unsupported when the tool has no such check."""
        raise Unsupported("no static check of the pipeline")

    @required
    def wait(self, *, revision: str, timeout: float) -> RunOutcome:
        """Block until the tool has a verdict on the run for `revision` (pushed just before)."""
        raise NotImplementedError

    def ui_url(self) -> str:
        """URL of the tool's web UI on 127.0.0.1 while it runs; Unsupported without one."""
        raise Unsupported("no web UI")

    @required
    def stop(self) -> None:
        """End every process `start` started."""
        raise NotImplementedError
