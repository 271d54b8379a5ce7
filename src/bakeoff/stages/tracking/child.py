"""A second tracker process for the probes that need one: concurrent writers, and logging with
the network cut. `python -m bakeoff.stages.tracking.child JOB.json` writes JOB.json.out.
Worker side: base set only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bakeoff.stages.contract import load_adapter
from bakeoff.stages.tracking.contract import TrackingAdapter


def history(prefix: str, index: int, steps: int) -> list[float]:
    # Values with every bit of a float64 in play, distinct per run, reproducible by the parent.
    return [1.0 / (3 + step + 1000 * index + 7 * len(prefix)) for step in range(steps)]


def write_runs(adapter: TrackingAdapter, prefix: str, runs: int, steps: int) -> dict[str, str]:
    ids = {}
    for index in range(runs):
        name = f"{prefix}-{index}"
        run_id = adapter.start_run(name=name)
        adapter.log_params(run_id=run_id, params={"writer": prefix, "index": index})
        for step, value in enumerate(history(prefix, index, steps)):
            adapter.log_metric(run_id=run_id, key="loss", value=value, step=step)
        adapter.end_run(run_id=run_id)
        ids[name] = run_id
    return ids


def verify_runs(adapter: TrackingAdapter, prefix: str, ids: dict[str, str], steps: int) -> list[str]:
    """Problems found reading the runs back; empty when every value came back exactly."""
    problems = []
    for index, (name, run_id) in enumerate(ids.items()):
        record = adapter.read_run(run_id=run_id)
        got = [value for _, value in record.metrics.get("loss", [])]
        expected = history(prefix, index, steps)
        if len(got) != steps:
            problems.append(f"{name}: {len(got)} of {steps} values came back")
        elif got != expected and not same_at_single_precision(got, expected):
            problems.append(f"{name}: values changed")
    return problems


def same_at_single_precision(got: list[float], expected: list[float]) -> bool:
    """A float32 store rounds every value; that is a precision limit, not a lost value."""
    import numpy as np

    return bool(np.array_equal(np.array(got, dtype=np.float32), np.array(expected, dtype=np.float32)))


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    adapter = load_adapter(job["adapter"], TrackingAdapter, job["options"])
    adapter.start_server(store=Path(job["store"]))  # no-op when given another process's server
    adapter.open(store=Path(job["store"]), experiment=job["experiment"])
    ids = write_runs(adapter, job["prefix"], job["runs"], job["steps"])
    problems = verify_runs(adapter, job["prefix"], ids, job["steps"]) if job["verify"] else []
    adapter.close()
    Path(job_path + ".out").write_text(json.dumps({"ids": ids, "problems": problems}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
