"""The model-serving contract: what the serving stage asks of every model server.

The workload owns the process: it calls `prepare` (write the service), `command` (the argv that
runs it in the foreground on 127.0.0.1), starts that argv itself in the trial's process group,
pinned to the server's core, waits for the first correct answer, measures, and stops it with
SIGTERM. An adapter only translates: files and argv in the tool's own idiom, the tool's request
format, the tool's endpoints. A capability the tool lacks raises Unsupported; nothing is ever
added outside the tool to fake one. Every method takes keyword-only arguments.

Model names are the keys of `models` in `prepare`; the stage's main model is called "flights".
Every service must answer P(late) = predict_proba(X)[:, 1] of the pickled scikit-learn Pipeline
it was given, for rows whose numbers may be missing (JSON null -> NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bakeoff.stages.contract import Unsupported, required

MAIN_MODEL = "flights"
# In batching mode a service appends the row count of every model call, one per line, to this
# file in its workdir: the evidence that the tool really formed batches (see `prepare`).
BATCH_LOG = "batch_sizes.log"


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request in the tool's own format (POST)."""

    path: str
    body: bytes
    content_type: str = "application/json"


class ServingAdapter:
    """One model server. Constructed with the options from its tool.toml, once per trial; the
    workload owns every process, the adapter only translates.

    Call order, for each server a trial starts (a trial may start several in turn, with a fresh
    `workdir` each; the same instance serves them one after the other, never two at once):

    1. `prepare(models=, workdir=, workers=, batching=)` writes the service into `workdir`. It
       may also be called on its own, as a dry run in an empty folder, to learn whether several
       models or batching are supported (raise Unsupported before writing anything).
    2. `command(workdir=, port=)` names the foreground argv, then `environment(workdir=)` the
       extra variables. Values `prepare` and `command` keep on `self` (ports, paths) are the
       adapter's to use in the calls that follow, until the next `prepare`.
    3. The workload starts the argv itself (a ProcessTree in the trial's process group), pins
       it to the server's core and polls until the first correct answer.
    4. Per HTTP call: `request(rows=, model=)` builds the body, the workload sends it, and
       `predictions(body=)` reads a 200 answer; the answers are checked against the model in
       process. `health_paths()`, `openapi_path()` and `metrics_url(base=)` name endpoints the
       probes then GET.
    5. `switch_model(base=, workdir=, model=, path=)`, at most once, while the server runs: the
       hot-reload probe, followed by more `request`/`predictions` calls.
    6. The workload stops the server with SIGTERM (SIGKILL after the limit for whatever is
       left); no adapter method is called for that, and none after it for this server.

    `bakeoff check` (smoke.check_call) makes steps 1 and 2 and one `request`, and starts nothing.

    `constant_command(workdir=, port=)` is not a server under test: only the stage's baseline
    provides it, a trivial constant endpoint the workload starts, loads with the same
    generators and stops, before its own server (the generator ceiling of the capacity trial).
    """

    @required
    def prepare(self, *, models: dict[str, Path], workdir: Path, workers: int, batching: bool = False) -> None:
        """Write into `workdir` everything the server needs to serve `models` (name -> pickled
        Pipeline file): service code, configuration, the model in the tool's own format if it has
        one. `workers`: model worker processes (or replicas). With `batching`, switch on the
        tool's adaptive request batching and append each model call's row count to
        `workdir/BATCH_LOG`. Raise Unsupported at once (before writing) for more than one model
        or for batching when the tool cannot do it."""
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def command(self, *, workdir: Path, port: int) -> list[str]:
        """argv that runs the prepared server in the foreground, HTTP on 127.0.0.1:`port` and
        nothing on other interfaces. Extra ports the tool needs are the adapter's to pick (free
        loopback ports)."""
        raise NotImplementedError  # required: every adapter overrides it

    def environment(self, *, workdir: Path) -> dict[str, str]:
        """Extra environment for the server process: telemetry off, tool homes inside `workdir`."""
        return {}

    @required
    def request(self, *, rows: list[dict], model: str = MAIN_MODEL) -> HttpRequest:
        """The request asking model `model` for P(late) of `rows` (records: feature -> value,
        None for a missing number; a probe may pass a wrong type or leave a feature out, which
        the request must carry as given)."""
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def predictions(self, *, body: bytes) -> list[float]:
        """P(late) per row from a successful response body."""
        raise NotImplementedError  # required: every adapter overrides it

    def health_paths(self) -> dict[str, str]:
        """{"live": path, "ready": path} of the tool's liveness and readiness endpoints (the same
        path twice if the tool has one endpoint for both)."""
        raise Unsupported("no health endpoint")

    def openapi_path(self) -> str:
        """Path of the served OpenAPI (or other machine-readable schema) document."""
        raise Unsupported("no schema endpoint")

    def metrics_url(self, *, base: str) -> str:
        """URL of the tool's Prometheus metrics (`base` is http://127.0.0.1:<port>; a tool with a
        separate metrics port returns that port's URL)."""
        raise Unsupported("no Prometheus metrics endpoint")

    def switch_model(self, *, base: str, workdir: Path, model: str, path: Path) -> None:
        """Make the running server answer with the Pipeline in `path` for `model`, through the
        tool's own version-switch or hot-reload mechanism, without restarting the server."""
        raise Unsupported("no model version switch without a restart")

    def constant_command(self, *, workdir: Path, port: int) -> list[str]:
        """argv of a trivial HTTP endpoint (POST anything -> a constant) on 127.0.0.1:`port`:
        the ceiling of what the HTTP stack and the load generators do on this machine. Only the
        stage's baseline provides one; it is measured in the baseline's trials."""
        raise Unsupported("the generator ceiling is measured in the baseline's trials")
