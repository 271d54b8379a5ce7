"""The tracking workload, identical for every tracker: a sweep of real training runs, the
read-back of the best one, micro figures. Worker side: base set only.

Correctness before speed: the best run must be found, its params and metric history must read
back exactly, and the model fetched back must predict exactly as the original. A fast wrong
answer fails the trial.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bakeoff.worker.measure import Stopwatch, folder_mb, percentile, timed_step
from bakeoff.worker.protocol import FAILED, OK, Request, Result
from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking.contract import TrackingAdapter
from bakeoff.stages.tracking.sweep import Sweep, TrainedRun, grid

EXPERIMENT = "flights-delay"
HISTORY_KEY, FINAL_KEY = "val_logloss", "val_auc"


class Mismatch(Exception):
    """The tracker gave back something other than what was logged."""


def log_trained_run(adapter: TrackingAdapter, run: TrainedRun) -> tuple[str, bool]:
    """How a training script records one run: params, the history step by step, finals, model.
    Returns the run id and whether the tool took the model file."""
    run_id = adapter.start_run(name=run.name)
    adapter.log_params(run_id=run_id, params=run.params)
    for step, value in enumerate(run.history):
        adapter.log_metric(run_id=run_id, key=HISTORY_KEY, value=value, step=step)
    adapter.log_metric(run_id=run_id, key=FINAL_KEY, value=run.val_auc, step=len(run.history))
    try:
        adapter.log_artifact(run_id=run_id, path=run.model_path)
        stored = True
    except Unsupported:
        stored = False
    adapter.end_run(run_id=run_id)
    return run_id, stored


def find_best(adapter: TrackingAdapter, run_ids: list[str]) -> tuple[str, str]:
    """The best run by validation AUC, through the tool's search, or a scan where it has none."""
    try:
        return adapter.search_runs(metric=FINAL_KEY, above=0.0, descending=True)[0], adapter.search_method
    except Unsupported:
        finals = {r: adapter.read_run(run_id=r).metrics[FINAL_KEY][-1][1] for r in run_ids}
        return max(finals, key=finals.__getitem__), "client-side scan: the tool has no search API"


def check_history(logged: list[float], read: list[tuple[int, float]], final_step: int) -> str:
    """'' when exact, 'float32' when equal at single precision only; raise otherwise."""
    expected = [(step, value) for step, value in enumerate(logged)]
    if [(int(s), float(v)) for s, v in read] == expected:
        return ""
    steps = [int(s) for s, _ in read]
    if steps != list(range(len(logged))):
        raise Mismatch(f"metric history steps differ: got {len(steps)} steps, first {steps[:3]}")
    values = np.array([v for _, v in read])
    if np.array_equal(values.astype(np.float32), np.array(logged, dtype=np.float32)):
        return "float32"
    worst = float(np.max(np.abs(values - np.array(logged))))
    raise Mismatch(f"metric history values differ by up to {worst:.3g}")


def sweep_trial(adapter: TrackingAdapter, request: Request, *, import_seconds: float) -> Result:
    settings, scratch = request.settings, Path(request.scratch)
    store, models = scratch / "store", scratch / "models"
    models.mkdir(parents=True, exist_ok=True)
    with timed_step("data"):
        sweep = Sweep(Path(request.data_dir), settings["train_rows"], settings["steps"], request.seed, models)
    in_tool = Stopwatch()
    facts: dict[str, object] = {}

    # An always-on server is started once per team, not per training script: timed apart.
    started = time.perf_counter()
    server_started = adapter.start_server(store=store)
    server_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with in_tool.timing():
        adapter.open(store=store, experiment=EXPERIMENT)
    open_seconds = time.perf_counter() - started

    trained: dict[str, TrainedRun] = {}
    sweep_start = time.perf_counter()
    first_log_seconds = 0.0
    for index, params in enumerate(grid(settings["runs"], request.seed)):
        run = sweep.train(index, params)  # the tracked work: identical for every tool
        before = in_tool.seconds
        with in_tool.timing():
            run_id, artifacts = log_trained_run(adapter, run)
        if index == 0:
            first_log_seconds = in_tool.seconds - before
        trained[run_id] = run
    sweep_seconds = time.perf_counter() - sweep_start

    # Read-back: find the best run the way a team would, then check everything about it.
    readback_start = time.perf_counter()
    best_id, how = find_best(adapter, list(trained))
    record = adapter.read_run(run_id=best_id)
    fetched, no_fetch = None, "the tool keeps no artifacts"
    if artifacts:
        try:
            fetched = adapter.fetch_artifact(run_id=best_id, name=trained[best_id].model_path.name, dest=scratch / "fetched")
        except Unsupported as why:  # stored, but this mode cannot give it back (e.g. W&B offline)
            no_fetch = f"the tool stores artifacts but cannot fetch them back here: {why}"
    readback_seconds = time.perf_counter() - readback_start
    facts["search"] = how

    expected_best = max(trained, key=lambda r: trained[r].val_auc)
    if best_id != expected_best:
        raise Mismatch(f"best run found was {trained[best_id].name if best_id in trained else best_id}, expected {trained[expected_best].name}")
    original = trained[best_id]
    if record.params != {k: str(v) for k, v in original.params.items()}:
        raise Mismatch(f"params read back as {record.params}, logged {original.params}")
    precision = check_history(original.history, record.metrics.get(HISTORY_KEY, []), len(original.history))
    facts["metric_precision"] = precision or "exact"
    if fetched is not None:
        if not np.array_equal(sweep.predictions(fetched), original.probabilities):
            raise Mismatch("the fetched model's predictions differ from the original's")
        facts["model_check"] = "fetched model predicts exactly as the original"
    else:
        facts["model_check"] = f"not possible: {no_fetch}"

    # Micro figures on a fresh run.
    run_id = adapter.start_run(name="micro")
    latencies = []
    for step in range(settings["single_logs"]):
        tick = time.perf_counter()
        adapter.log_metric(run_id=run_id, key="micro", value=step * 0.5, step=step)
        latencies.append((time.perf_counter() - tick) * 1000)
    latencies = latencies[5:]  # the first calls pay one-off lazy set-up, counted in cold start
    metrics = {
        "sweep_seconds": sweep_seconds,
        "tracking_seconds": in_tool.seconds,
        "readback_seconds": readback_seconds,
        "single_log_p50_ms": percentile(latencies, 50),
        "single_log_p99_ms": percentile(latencies, 99),
        "cold_start_seconds": import_seconds + open_seconds + first_log_seconds,
    }
    if server_started:
        metrics["server_start_seconds"] = server_seconds
    values = [float(v) for v in np.random.default_rng(request.seed).random(settings["batch_values"])]
    try:
        tick = time.perf_counter()
        adapter.log_metric_batch(run_id=run_id, key="batch", values=values, first_step=0)
        metrics["batch_1000_ms"] = (time.perf_counter() - tick) * 1000
    except Unsupported as why:
        facts["batch_api"] = f"unsupported: {why}"
    adapter.end_run(run_id=run_id)
    with timed_step("close"):
        adapter.close()
    metrics["store_mb"] = folder_mb(store)
    # Where the trial's time went, in its log (the figures themselves are in the result).
    print("[bakeoff] " + ", ".join(f"{k} {v:.2f} s" for k, v in (
        ("server start", server_seconds), ("open", open_seconds), ("sweep", sweep_seconds),
        ("readback", readback_seconds))), file=sys.stderr, flush=True)
    return Result(trial_id=request.trial_id, status=OK, metrics=metrics,
                  samples={"single_log_ms": latencies}, facts=facts)


def failed(request: Request, error: str) -> Result:
    return Result(trial_id=request.trial_id, status=FAILED, error=error)
