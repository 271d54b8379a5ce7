"""The experiment-tracking contract: what the tracking stage asks of every tracker.

An adapter subclasses TrackingAdapter and translates each method into its tool's own API. Every
method takes keyword-only arguments. A capability the tool lacks raises Unsupported (never a
workaround outside the tool: that would credit the tool with our code). Values must come back
exactly as logged: the workload checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.stages.contract import Unsupported, required

Scalar = str | int | float


@dataclass
class RunRecord:
    """A run as read back from the tool's store."""

    run_id: str
    name: str
    params: dict[str, str]  # values as strings: every tracker stores params as text
    metrics: dict[str, list[tuple[int, float]]]  # key -> [(step, value)] in step order
    artifacts: list[str] = field(default_factory=list)  # artifact file names


class TrackingAdapter:
    """One tracker. Constructed with the options from its tool.toml.

    Call order, as the workload makes it (one adapter per trial process):

    1. `start_server(store=)` once, before anything else (timed apart: a team starts it once).
    2. `open(store=, experiment=)` once; cold start is timed from here to the first value stored.
    3. Per training run: `start_run(name=)` -> `log_params` -> `log_metric` per step (or
       `log_metric_batch`) -> `log_artifact` -> `end_run(run_id=)`. Runs follow one another;
       never two open in one process.
    4. Reading back, in any order, after the runs ended: `search_runs`, `read_run`,
       `fetch_artifact`, `register_model` / `resolve_alias`, `find_run`.
    5. `autolog_sklearn(run_name=)` before one scikit-learn fit, then `find_run(name=)`.
    6. `share()` while open: its options are handed to another process's adapter (constructed
       with them, then `open` on the same store) that writes at the same time as this one.
    7. `served_ui()` while open: where the server `start_server` started is itself the UI,
       the UI probe renders that server's pages (`ui_run_path`) before `close`.
    8. `close()` last: flush and stop whatever `start_server` or `open` started. After it, only
       `ui_command(store=, port=)` and `ui_run_path(run_id=)` are called: the UI runs as its
       own process over the closed store.
    """

    # How `search_runs` finds runs, as the report states it.
    search_method = "the tool's own search API"

    def start_server(self, *, store: Path) -> bool:
        """Start the always-on server this mode logs through (on 127.0.0.1, keeping its data in
        `store`), wait until it answers and return True. A team starts it once, not once per
        training script, so it is timed apart from the cold start. Modes without a server
        return False."""
        return False

    @required
    def open(self, *, store: Path, experiment: str) -> None:
        """Get ready to log into `store` (a folder in the trial's scratch): create the store or
        connect to the server `start_server` started. Cold start is timed around this call
        plus the first logged value."""
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def close(self) -> None:
        """Flush, and stop anything `start_server` or `open` started."""
        raise NotImplementedError  # required: every adapter overrides it

    def share(self) -> dict:
        """Constructor options that let another process log into this same store while this
        one is open (e.g. the URL of the tracking server `open` started). Empty if the store
        folder alone is enough."""
        return {}

    @required
    def start_run(self, *, name: str) -> str:
        """Begin a run; return the tool's id for it."""
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def log_params(self, *, run_id: str, params: dict[str, Scalar]) -> None:
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def log_metric(self, *, run_id: str, key: str, value: float, step: int) -> None:
        """Log one value: the tool's single-value call."""
        raise NotImplementedError  # required: every adapter overrides it

    def log_metric_batch(self, *, run_id: str, key: str, values: list[float], first_step: int) -> None:
        """Log many steps in one call through the tool's batch API; Unsupported if it has none."""
        raise Unsupported("no batch logging API")

    def log_artifact(self, *, run_id: str, path: Path) -> None:
        """Store a file with the run; Unsupported if the tool keeps no artifacts."""
        raise Unsupported("no artifact store")

    @required
    def end_run(self, *, run_id: str) -> None:
        raise NotImplementedError  # required: every adapter overrides it

    def search_runs(self, *, metric: str, above: float, descending: bool = True) -> list[str]:
        """Run ids whose final `metric` is greater than `above`, ordered by it, found with the
        tool's own query/search API. Unsupported if the tool has none."""
        raise Unsupported("no search API")

    @required
    def read_run(self, *, run_id: str) -> RunRecord:
        """Read a run back from the store: params, full metric histories, artifact names."""
        raise NotImplementedError  # required: every adapter overrides it

    def fetch_artifact(self, *, run_id: str, name: str, dest: Path) -> Path:
        """Copy artifact `name` of the run into folder `dest`; return the file's path."""
        raise Unsupported("no artifact store")

    def register_model(self, *, run_id: str, artifact: str, name: str, alias: str) -> str:
        """Register the run's model artifact under `name`, point `alias` at the new version and
        return the version id. Unsupported without a model registry."""
        raise Unsupported("no model registry")

    def resolve_alias(self, *, name: str, alias: str) -> tuple[str, str]:
        """Return (version, run_id) that `alias` of registered model `name` points to."""
        raise Unsupported("no model registry")

    def autolog_sklearn(self, *, run_name: str) -> None:
        """Switch on the tool's own scikit-learn autologging for the next fit, into a run
        named `run_name`. Unsupported if the tool has none."""
        raise Unsupported("no scikit-learn autologging")

    @required
    def find_run(self, *, name: str) -> str:
        """Id of the run called `name` (used to find autologged runs)."""
        raise NotImplementedError  # required: every adapter overrides it

    def served_ui(self) -> str:
        """Base URL (http://127.0.0.1:PORT) of the UI the running always-on server already
        serves, as a team opens it. Unsupported when the UI is a process of its own
        (`ui_command`), or there is no server."""
        raise Unsupported("the UI is not served by a running server")

    def ui_command(self, *, store: Path, port: int) -> list[str]:
        """argv that serves the tool's local UI over `store` on 127.0.0.1:`port`."""
        raise Unsupported("no local UI server")

    def ui_run_path(self, *, run_id: str) -> str:
        """URL path on the UI whose response names the run (its id or name)."""
        raise Unsupported("no local UI server")
