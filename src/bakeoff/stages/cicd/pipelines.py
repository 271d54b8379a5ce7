"""The stage's pipelines, as data every tool translates: the ML pipeline a push runs, and the
small pipelines the probes and the per-job overhead use. Every job calls `sh ci/step.sh`."""

from __future__ import annotations

from bakeoff.stages.cicd.contract import Job, Pipeline

SECRET_NAME = "DEPLOY_TOKEN"
CONFIGS = ("small", "medium", "large")  # the matrix of three model configurations
BROKEN_CONFIGS = ("small", "broken", "large")  # "broken" has a negative learning rate: its fit fails


def step(name: str, *args: str) -> str:
    return " ".join(["sh", "ci/step.sh", name, *args])


ML = Pipeline("ml", (
    Job("lint", step("lint")),
    Job("test", step("test"), needs=("lint",)),
    Job("train", step("train"), needs=("test",), artifacts=("out/model.pkl", "out/train.json"), code_only=True),
    Job("evaluate", step("evaluate"), needs=("train",), artifacts=("out/metrics.json",), code_only=True),
    Job("gate", step("gate"), needs=("evaluate",), code_only=True),
    Job("register", step("register"), needs=("gate", "train"), code_only=True),
    Job("deploy", step("deploy"), needs=("register", "train"), code_only=True),
))
TRAINING_STEPS = ("train", "evaluate", "gate", "register", "deploy")
SHIPPING_STEPS = ("register", "deploy")


def empty(jobs: int) -> Pipeline:
    """N empty jobs one after another: push-to-verdict over N gives the per-job overhead."""
    names = [f"job{i:02d}" for i in range(1, jobs + 1)]
    return Pipeline(f"empty{jobs}", tuple(Job(n, step("noop"), needs=(names[i - 1],) if i else ())
                                          for i, n in enumerate(names)))


def matrix(configs: tuple[str, ...] = CONFIGS) -> Pipeline:
    return Pipeline("matrix", (Job("train-matrix", step("train-matrix"), matrix=("MODEL_CONFIG", configs)),))


RETRY = Pipeline("retry", (Job("flaky", step("flaky"), retries=1),))
TIMEOUT = Pipeline("timeout", (Job("hang", step("hang"), timeout_s=5),))
SECRET = Pipeline("secret", (Job("secret", step("secret"), secret=SECRET_NAME),))
SHIP = Pipeline("ship", (Job("ship", step("ship-marker")),))
# A job with no command: every CI format requires one, so a tool with a schema should refuse it.
INVALID = Pipeline("invalid", (Job("lint", step("lint")), Job("broken", "", needs=("lint",))))
