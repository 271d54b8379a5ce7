"""The smoke call `bakeoff check` makes for a tracker: one run, one value, read back."""

from __future__ import annotations

from pathlib import Path

from bakeoff.stages.tracking.contract import TrackingAdapter
from bakeoff.worker.protocol import Request


def smoke(adapter: TrackingAdapter, request: Request) -> str:
    store = Path(request.scratch) / "smoke-store"
    store.mkdir(parents=True, exist_ok=True)
    adapter.start_server(store=store)
    adapter.open(store=store, experiment="smoke")
    try:
        run_id = adapter.start_run(name="smoke")
        adapter.log_metric(run_id=run_id, key="auc", value=0.5, step=0)
        adapter.end_run(run_id=run_id)
        got = adapter.read_run(run_id=run_id).metrics.get("auc")
    finally:
        adapter.close()
    if got != [(0, 0.5)]:
        raise RuntimeError(f"logged auc=0.5 at step 0, read back {got!r}")
    return "one value logged and read back exactly"
