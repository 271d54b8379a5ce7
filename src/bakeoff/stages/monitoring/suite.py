"""The once-per-tool trial: the scenario suite, the real months of 2013, the probes.

For each batch size the monitor is fitted once, then checks calibration batches (no drift; they
set the calibrated threshold), other no-drift batches (false alarms) and every drift scenario.
Each check gives both settings at once: the tool's own verdict (defaults) and its scores,
compared later with the calibrated threshold (verdicts.calibrate). Checks are independent, so they run in
`workers` forked processes: this trial measures counts, rates and outcomes, never a time or a
memory figure, so the engine also runs it beside another tool's suite (`shares_machine`). The
`cost` kind times checks one at a time; `scale_trial` (its own kind, with the machine to itself)
measures the peak memory of one check per size and the 1,000,000-row check. Worker side: base
set only.
"""

from __future__ import annotations

import gc
import multiprocessing
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from bakeoff.data.batches import LABEL, VALID_MONTH, load_month
from bakeoff.worker.protocol import OK, Request, Result
from bakeoff.stages.monitoring import probes
from bakeoff.stages.monitoring.contract import MonitorAdapter
from bakeoff.stages.monitoring.scenarios import DRIFT_SCENARIOS, SCENARIOS, Scenarios, month_scores
from bakeoff.stages.monitoring.figures import (
    CheckMemory,
    Delay,
    RateCell,
    ScenarioInfo,
    SizeCalibration,
    Suite,
    Timeline,
)
from bakeoff.stages.monitoring.verdicts import Calibration, calibrate, detection_delay, named, spearman
from bakeoff.stages.monitoring.workload import (
    SANITY_SCENARIO,
    Mismatch,
    fit,
    sanity_check,
    scenarios_for,
    validate,
)

MONTHS = list(range(1, 13))
# Filled before the worker processes fork, so they inherit the fitted monitor.
_STATE: dict[str, Any] = {}


def _check(job: tuple[str, int]) -> dict[str, Any]:
    """One check, in whichever process runs it; returns only small, picklable figures."""
    adapter, scenarios, rows = _STATE["adapter"], _STATE["scenarios"], _STATE["rows"]
    scenario, index = job
    if scenario == "calibration":
        batch = scenarios.calibration_batch(rows, index)
    elif scenario.startswith("month_"):
        batch = scenarios.month_batch(index, rows)
    else:
        batch = scenarios.batch(scenario, rows, index)
    verdict = adapter.check(current=batch.features)
    if scenario == SANITY_SCENARIO:
        sanity_check(verdict, rows)
    validate(verdict, f"{scenario} #{index} at {rows} rows")
    scores = {k: float(v) for k, v in verdict.feature_scores.items()}
    return {"scenario": scenario, "index": index, "drift": bool(verdict.drift), "score": float(verdict.score),
            "flagged": list(verdict.flagged), "scores": scores, "methods": dict(verdict.methods)}


def run_checks(adapter: MonitorAdapter, scenarios: Scenarios, rows: int, jobs: list[tuple[str, int]],
               workers: int) -> list[dict[str, Any]]:
    _STATE.update(adapter=adapter, scenarios=scenarios, rows=rows)
    try:
        if workers <= 1 or len(jobs) < 4:
            return [_check(job) for job in jobs]
        # The first check runs here, before the fork: whatever a tool sets up lazily on its first
        # check (imports, plotting templates, compiled kernels) is then inherited by every worker
        # instead of being paid again in each of them (two workers per split, 14 splits).
        first = _check(jobs[0])
        # Objects that exist before the fork are left out of the workers' garbage collection, so
        # it does not touch (and copy) every inherited page.
        gc.freeze()
        # A worker that dies raises BrokenProcessPool here instead of hanging the trial.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [first, *pool.map(_check, jobs[1:])]
    finally:
        gc.unfreeze()
        _STATE.clear()


def traced_peak_mb(adapter: MonitorAdapter, features) -> float:
    """Peak memory allocated during one check, as tracemalloc sees it (Python and NumPy
    buffers; not allocator caching nor native libraries' private heaps)."""
    tracemalloc.start()
    try:
        adapter.check(current=features)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def month_truth(scenarios: Scenarios, data_dir: Path) -> tuple[dict[int, float], float]:
    """The reference model's true ROC AUC on each whole month, and on the validation month,
    from its scores as data (scenarios.month_scores)."""
    auc = {}
    for month in MONTHS:
        frame = load_month(data_dir, month)
        auc[month] = float(roc_auc_score(frame[LABEL], month_scores(data_dir, month)))
    return auc, auc[VALID_MONTH]


def suite_trial(adapter: MonitorAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    settings, scratch = request.settings, Path(request.scratch)
    scenarios = scenarios_for(request)
    data_dir = Path(request.data_dir)
    auc, auc_reference = month_truth(scenarios, data_dir)  # also warms the month cache before forking
    result = Result(trial_id=request.trial_id, status=OK)
    checked: dict[int, list[dict[str, Any]]] = {}
    for position, rows in enumerate(settings["sizes"]):
        splits = settings["splits"][position]
        jobs = [("calibration", i) for i in range(settings["calibration_batches"][position])]
        jobs += [("no_drift", i) for i in range(settings["no_drift_batches"][position])]
        jobs += [(name, i) for name in [*DRIFT_SCENARIOS, "concept"]
                 for i in range(settings["drift_batches"][position])]
        checked[rows] = []
        for split in range(splits):
            # Batch i goes to split i mod splits: every split gets its share of each kind.
            split_scenarios = scenarios if split == 0 else scenarios_for(request, split=split)
            fit(adapter, split_scenarios, rows)
            mine = [job for job in jobs if job[1] % splits == split]
            if split == 0 and rows == settings["timeline_rows"]:
                mine += [(f"month_{m:02d}", m) for m in MONTHS]
            outcomes = run_checks(adapter, split_scenarios, rows, mine, settings["workers"])
            checked[rows] += [{**o, "split": split} for o in outcomes]
            if split == 0 and rows == settings["timeline_rows"]:
                probes.batch_probes(adapter, scenarios, rows, outcomes, scratch, result)
    result.facts["suite_checks"] = sum(len(v) for v in checked.values())

    calibrations = summarise_rates(settings, checked, result)
    summarise_months(settings, checked[settings["timeline_rows"]], calibrations[settings["timeline_rows"]], auc,
                     auc_reference, result)
    result.facts["splits"] = " · ".join(f"{r:,} rows: {k}" for r, k in zip(settings["sizes"], settings["splits"]))
    probes.performance_probe(adapter, scenarios, settings["timeline_rows"], data_dir, auc, result)
    return result


def scale_trial(adapter: MonitorAdapter, request: Request, *, import_seconds: float = 0.0) -> Result:
    """The suite's memory and time figures, with the machine to itself: per batch size, fit and
    the peak memory of one no-drift check (the first check after the fit, as in the suite
    before it shared the machine); then, fitted for the largest size, the 1,000,000-row check
    (time and resident memory, the million_rows probe)."""
    settings = request.settings
    scenarios = scenarios_for(request)
    result = Result(trial_id=request.trial_id, status=OK)
    peak_mb: dict[int, float] = {}
    for rows in sorted(settings["sizes"]):
        fit(adapter, scenarios, rows)
        peak_mb[rows] = traced_peak_mb(adapter, scenarios.batch("no_drift", rows, 0).features)
    result.put(CheckMemory(peak_mb=peak_mb))
    if 10_000 in peak_mb:
        result.metrics["peak_mb_10000"] = peak_mb[10_000]
    result.facts["peak_memory_per_check"] = " · ".join(f"{r:,} rows: {v:.3g} MB" for r, v in peak_mb.items())
    probes.million_rows_probe(adapter, scenarios, settings, result)  # last: heaviest, fitted for the largest size
    return result


RATE_METRICS = {  # metric -> (scenarios pooled, the cell count it takes)
    "false_alarm_default_pct": ("no drift", "default"),
    "false_alarm_calibrated_pct": ("no drift", "calibrated"),
    "detection_default_pct": ("drift", "default"),
    "detection_calibrated_pct": ("drift", "calibrated"),
    "named_pct": ("drift", "named"),
}


def _checks(outcomes: list[dict]) -> list[tuple[float, dict[str, float]]]:
    return [(o["score"], o["scores"]) for o in outcomes]


def summarise_rates(settings: dict, checked: dict[int, list[dict]], result: Result) -> dict[int, Calibration]:
    """Calibrations, then detection and false-alarm rates per scenario and size, both settings.
    Each rate metric's samples are its per-size rates (the report's figure is their median, its
    interval their spread, its ratio to the baseline paired by size); the pooled counts per
    scenario and size go to the Suite figure data. A size whose calibration cannot separate
    anything has no calibrated counts, and the calibrated metrics are then left out for the
    tool (a median over fewer sizes would not compare with the other tools'): they would read
    as a measured 0%."""
    calibrations: dict[int, Calibration] = {}
    rates: dict[str, dict[int, RateCell]] = {}
    for rows, outcomes in checked.items():
        calibration = [o for o in outcomes if o["scenario"] == "calibration"]
        calibrations[rows] = calibrate([o["score"] for o in calibration], [o["scores"] for o in calibration])
        for name, scenario in SCENARIOS.items():
            mine = [o for o in outcomes if o["scenario"] == name]
            if not mine:
                continue
            calibrated = calibrations[rows].alarms(_checks(mine))
            rates.setdefault(name, {})[rows] = RateCell(
                n=len(mine), default=sum(o["drift"] for o in mine),
                calibrated=None if calibrated is None else sum(calibrated),
                named=sum(named(o["flagged"], scenario.truth) for o in mine))
    suite = Suite(
        sizes=list(checked), rates=rates,
        scenarios={n: ScenarioInfo(label=s.label, group=s.group, truth=list(s.truth), drift=s.drift, how=s.how)
                   for n, s in SCENARIOS.items()},
        calibration={rows: SizeCalibration(batches=sum(o["scenario"] == "calibration" for o in outcomes),
                                           threshold=calibrations[rows].threshold,
                                           statistic=calibrations[rows].statistic,
                                           saturated=list(calibrations[rows].saturated), note=calibrations[rows].note)
                     for rows, outcomes in checked.items()})
    result.put(suite)
    for metric, (kind, count) in RATE_METRICS.items():
        per_size = [suite.pooled(rows, count, drift=kind == "drift") for rows in checked]
        if any(p is None for p in per_size):
            continue
        result.samples[metric] = [100 * hits / n for hits, n in per_size]
        result.metrics[metric] = float(np.median(result.samples[metric]))
    notes = [f"{rows:,} rows: {c.note}" for rows, c in calibrations.items() if c.note]
    if notes:
        result.facts["calibration_note"] = " · ".join(notes)
    # Methods the tool chose per feature, from one check (they do not change between checks).
    first = next(iter(checked.values()))[0]
    result.facts["methods"] = ", ".join(f"{k}: {v}" for k, v in first["methods"].items()) or "not reported"
    result.facts["false_alarms"] = " · ".join(
        f"{rows:,} rows: default {c.default}/{c.n}, calibrated "
        + ("cannot separate" if c.calibrated is None else f"{c.calibrated}/{c.n}")
        for rows, c in rates["no_drift"].items())
    result.facts["calibrated_threshold"] = " · ".join(
        f"{rows:,} rows: " + (f"{c.statistic} > {c.threshold:.4g}" if c.usable else "none (cannot separate)")
        for rows, c in calibrations.items())
    return calibrations


def summarise_months(settings: dict, outcomes: list[dict], calibration: Calibration, auc: dict[int, float],
                     auc_reference: float, result: Result) -> None:
    rows, tolerance = settings["timeline_rows"], settings["auc_tolerance"]
    by_month = {o["index"]: o for o in outcomes if o["scenario"].startswith("month_")}
    if sorted(by_month) != MONTHS:
        raise Mismatch(f"months checked: {sorted(by_month)}")
    scores = [by_month[m]["score"] for m in MONTHS]
    default = [by_month[m]["drift"] for m in MONTHS]
    calibrated = calibration.alarms(_checks([by_month[m] for m in MONTHS]))
    # Months 1-3 trained the model: their AUC is in-sample and says nothing about production.
    deserved = [m >= VALID_MONTH and auc_reference - auc[m] > tolerance for m in MONTHS]
    production = [m for m in MONTHS if m >= VALID_MONTH]
    rho = spearman([by_month[m]["score"] for m in production], [auc_reference - auc[m] for m in production])
    delay_default = detection_delay(MONTHS, deserved, default)
    delay_calibrated = None if calibrated is None else detection_delay(MONTHS, deserved, calibrated)
    span = f"months {production[0]}-{production[-1]}, {rows:,}-row batches"
    result.facts["auc_rank_correlation"] = (
        f"undefined: the drift score was the same in every month ({span})" if np.isnan(rho) else
        f"Spearman rho = {rho:.2f} between drift score and AUC loss ({span})")
    result.facts["detection_delay_default"] = delay_default["text"]
    result.facts["detection_delay_calibrated"] = (
        "no calibrated warning: calibration cannot separate at this size" if delay_calibrated is None
        else delay_calibrated["text"])
    result.put(Timeline(
        months=MONTHS, rows=rows, auc=[auc[m] for m in MONTHS], auc_reference=auc_reference, tolerance=tolerance,
        deserved=deserved, score=scores, default=default, flagged=[by_month[m]["flagged"] for m in MONTHS],
        rank_correlation=None if np.isnan(rho) else rho, delay_default=Delay(**delay_default),
        calibrated=calibrated, threshold=calibration.threshold,
        calibrated_score=[calibration.value(by_month[m]["score"], by_month[m]["scores"]) for m in MONTHS]
        if calibration.excluded else None,
        delay_calibrated=None if delay_calibrated is None else Delay(**delay_calibrated),
        calibration_note=calibration.note))
