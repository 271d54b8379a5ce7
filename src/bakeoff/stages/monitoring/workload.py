"""The monitoring workload, identical for every monitor. Worker side: base set only.

Two trial kinds. `cost` (repeated, interleaved across tools) times the fit and single checks at
each batch size. `suite` (once per tool) runs the scenario suite with known ground truth, the
real months of 2013 and the capability probes.

Correctness before speed: every verdict must be well formed (a finite score for every
monitored feature), and a batch with temperature reported in Celsius, a change no monitor may
miss, must be flagged on `temp` by the tool itself. A monitor that fails this fails the trial.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

from bakeoff.worker.protocol import OK, Request, Result
from bakeoff.stages.monitoring.contract import MonitorAdapter, Verdict
from bakeoff.stages.monitoring.scenarios import CATEGORICAL, MONITORED, MONITORED_NUMERIC, Scenarios

SANITY_SCENARIO, SANITY_FEATURE = "quality_unit", "temp"


class Mismatch(Exception):
    """The monitor gave back something that cannot be right."""


def scenarios_for(request: Request, *, split: int = 0) -> Scenarios:
    return Scenarios(Path(request.data_dir), seed=request.seed, reference_rows=request.settings["reference_rows"],
                     split=split)


def fit(adapter: MonitorAdapter, scenarios: Scenarios, rows: int) -> float:
    """Fit for `rows`-row batches; return the seconds it took."""
    reference = scenarios.reference_features()
    tick = time.perf_counter()
    adapter.fit(reference=reference, numeric=list(MONITORED_NUMERIC), categorical=list(CATEGORICAL), batch_rows=rows)
    return time.perf_counter() - tick


def validate(verdict: Verdict, what: str) -> Verdict:
    """Raise Mismatch unless the verdict is well formed."""
    if not isinstance(verdict, Verdict):
        raise Mismatch(f"{what}: check returned {type(verdict).__name__}, not a Verdict")
    if not isinstance(verdict.score, (int, float)) or not math.isfinite(verdict.score):
        raise Mismatch(f"{what}: dataset score {verdict.score!r} is not a finite number")
    missing = [c for c in MONITORED if c not in verdict.feature_scores]
    if missing:
        raise Mismatch(f"{what}: no score for {missing}")
    bad = {c: v for c, v in verdict.feature_scores.items() if not math.isfinite(v)}
    if bad:
        raise Mismatch(f"{what}: non-finite feature scores {bad}")
    unknown = set(verdict.flagged) - set(MONITORED)
    if unknown:
        raise Mismatch(f"{what}: flagged unknown features {sorted(unknown)}")
    return verdict


def sanity_check(verdict: Verdict, rows: int) -> None:
    validate(verdict, f"{SANITY_SCENARIO} at {rows} rows")
    if SANITY_FEATURE not in verdict.flagged:
        top = max(verdict.feature_scores, key=verdict.feature_scores.__getitem__)
        raise Mismatch(f"temperature in Celsius ({rows} rows) not flagged on {SANITY_FEATURE}: flagged "
                       f"{verdict.flagged or 'nothing'}, top score {top}={verdict.feature_scores[top]:.3g}")


def cost_trial(adapter: MonitorAdapter, request: Request, *, import_seconds: float) -> Result:
    settings = request.settings
    scenarios = scenarios_for(request)
    metrics: dict[str, float] = {}
    samples: dict[str, list[float]] = {}
    fits = {}
    for position, rows in enumerate(settings["sizes"]):
        fits[rows] = fit(adapter, scenarios, rows)
        if position == 0:  # the sanity batch doubles as the warm-up: one-off lazy set-up is not timed
            sanity_check(adapter.check(current=scenarios.batch(SANITY_SCENARIO, rows, 0).features), rows)
        timings = []
        for index in range(settings["timed_checks"]):
            batch = scenarios.batch("no_drift", rows, index).features
            tick = time.perf_counter()
            validate(adapter.check(current=batch), f"no_drift at {rows} rows")
            timings.append((time.perf_counter() - tick) * 1000)
        metrics[f"check_ms_{rows}"] = statistics.median(timings)
        samples[f"check_ms_{rows}"] = timings
    middle = sorted(settings["sizes"])[len(settings["sizes"]) // 2]
    metrics["fit_seconds"] = fits[middle]
    facts = {"fit_by_batch_size": " · ".join(f"{r:,} rows: {s:.3g} s" for r, s in fits.items()),
             "import_seconds": round(import_seconds, 3)}
    return Result(trial_id=request.trial_id, status=OK, metrics=metrics, samples=samples, facts=facts)


SMOKE_REFERENCE_ROWS, SMOKE_BATCH_ROWS = 500, 100


def smoke(adapter: MonitorAdapter, request: Request) -> str:
    """`bakeoff check`'s one cheap real call: fit on 500 reference rows, check one 100-row batch
    with temperature in Celsius; the verdict must be well formed."""
    scenarios = scenarios_for(request)
    reference = scenarios.reference_features().head(SMOKE_REFERENCE_ROWS)
    adapter.fit(reference=reference, numeric=list(MONITORED_NUMERIC), categorical=list(CATEGORICAL),
                batch_rows=SMOKE_BATCH_ROWS)
    verdict = validate(adapter.check(current=scenarios.batch(SANITY_SCENARIO, SMOKE_BATCH_ROWS, 0).features),
                       "smoke check")
    top = max(verdict.feature_scores, key=verdict.feature_scores.__getitem__)
    return (f"fitted on {len(reference)} reference rows, checked {SMOKE_BATCH_ROWS} rows with temperature in "
            f"Celsius: drift={verdict.drift}, flagged {', '.join(verdict.flagged) or 'nothing'}, top score "
            f"{top} {verdict.feature_scores[top]:.3g}")
