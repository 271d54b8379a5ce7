"""Capability probes of the monitoring stage. A capability counts only if a probe exercised it
here; every outcome carries its evidence. Worker side: base set only."""

from __future__ import annotations

import math
import re
import resource
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from bakeoff.data.batches import LABEL, VALID_MONTH, load_month
from bakeoff.worker.protocol import FAIL, PASS, Result
from bakeoff.stages.contract import run_probe
from bakeoff.stages.monitoring.contract import MonitorAdapter, ProfileSummary
from bakeoff.stages.monitoring.figures import ConceptMonth, Performance
from bakeoff.stages.monitoring.scenarios import (
    MISSING_COLUMN,
    MONITORED,
    MONITORED_NUMERIC,
    Scenarios,
    month_scores,
    quality_problem_batch,
)
from bakeoff.stages.monitoring.verdicts import spearman
from bakeoff.stages.monitoring.workload import validate

Outcome = tuple[str, str]  # (status, evidence)
# Performance estimation passes when it is close on average AND follows the months' ups and
# downs: a constant guess near the mean would otherwise pass on closeness alone.
ESTIMATE_MAE_LIMIT, ESTIMATE_RHO_LIMIT = 0.03, 0.5
PROFILE_BATCHES = 3


def batch_probes(adapter: MonitorAdapter, scenarios: Scenarios, rows: int, outcomes: list[dict], scratch: Path,
                 result: Result) -> None:
    """Probes that need the monitor fitted for `rows`-row batches."""
    unit = scenarios.batch("quality_unit", rows, 0).features
    result.probes["visual_report"] = run_probe(lambda: visual_report(adapter, unit, scratch / "report"))
    result.probes["per_feature_scores"] = run_probe(lambda: per_feature_scores(outcomes))
    plain = scenarios.batch("no_drift", rows, 0)
    result.probes["quality_checks"] = run_probe(
        lambda: quality_checks(adapter, clean=plain.features, broken=quality_problem_batch(plain)))
    batches = [scenarios.batch("no_drift", rows, i).features for i in range(PROFILE_BATCHES)]
    result.probes["profiles_merge"] = run_probe(lambda: profiles_merge(adapter, batches, scratch / "profiles"))


def visual_report(adapter: MonitorAdapter, current: pd.DataFrame, folder: Path) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(adapter.save_report(current=current, path=folder))
    if not path.is_file():
        return FAIL, f"save_report returned {path}, which is not a file"
    text = path.read_text(errors="replace")
    size_kb = path.stat().st_size / 1024
    if "<html" not in text.lower() and "<div" not in text.lower():
        return FAIL, f"{path.name} ({size_kb:.0f} KiB) is not HTML"
    if "temp" not in text:
        return FAIL, f"{path.name} ({size_kb:.0f} KiB) never mentions the drifted feature `temp`"
    return PASS, f"{path.name}: {size_kb:,.0f} KiB of HTML for a batch with temperature in Celsius, naming `temp`"


def per_feature_scores(outcomes: list[dict]) -> Outcome:
    unit = next(o for o in outcomes if o["scenario"] == "quality_unit")
    several = next(o for o in outcomes if o["scenario"] == "cov_several")
    scores = unit["scores"]
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    top3 = ", ".join(f"{c} {scores[c]:.3g}" for c in ranked[:3])
    several_ranked = sorted(several["scores"], key=several["scores"].__getitem__, reverse=True)[:3]
    evidence = (f"{len(scores)} features scored (1 = the tool's threshold); Celsius batch: {top3}; "
                f"several-feature shift (distance, wind_speed, humid) top 3: {', '.join(several_ranked)}")
    if set(scores) != set(MONITORED):
        return FAIL, f"scores for {sorted(scores)}, expected {MONITORED}"
    if ranked[0] != "temp" or scores[ranked[1]] >= scores["temp"]:
        return FAIL, "temperature in Celsius is not alone at the top: " + evidence
    return PASS, evidence


def quality_checks(adapter: MonitorAdapter, *, clean: pd.DataFrame, broken: pd.DataFrame) -> Outcome:
    """Pass when the tool's own checks flag both problems of the broken batch and nothing at
    all in the same batch before it was broken (a check that flags everything finds nothing)."""
    wanted = {MISSING_COLUMN: "missing-value surge (25% vs 0.2%)", "distance": "numbers arriving as text"}
    quiet = adapter.quality_check(current=clean)
    findings = adapter.quality_check(current=broken)
    found = {c: findings.flagged[c] for c in wanted if c in findings.flagged}
    evidence = "; ".join(f"{c}: {text}" for c, text in found.items()) or "neither problem flagged"
    others = sorted(set(findings.flagged) - set(wanted))
    if others:
        evidence += f"; also flagged {others}"
    if quiet.flagged:
        first = next(iter(quiet.flagged))
        evidence += (f"; on the clean batch flagged {len(quiet.flagged)} column(s), e.g. {first}: "
                     f"{quiet.flagged[first]}")
    missing = [f"{c} ({what})" for c, what in wanted.items() if c not in found]
    if missing:
        return FAIL, (f"not flagged: {', '.join(missing)}. " + evidence)[:500]
    if quiet.flagged:
        return FAIL, ("false alarms on the clean batch. " + evidence)[:500]
    return PASS, evidence[:500]


def profiles_merge(adapter: MonitorAdapter, batches: list[pd.DataFrame], folder: Path) -> Outcome:
    paths = []
    for index, batch in enumerate(batches):
        target = folder / f"batch-{index}"
        target.mkdir(parents=True, exist_ok=True)
        paths.append(Path(adapter.write_profile(current=batch, path=target)))
    merged: ProfileSummary = adapter.merge_profiles(paths=paths)
    raw = pd.concat(batches, ignore_index=True)
    problems = []
    if merged.rows != len(raw):
        problems.append(f"rows {merged.rows} != {len(raw)}")
    for column in MONITORED_NUMERIC:
        expected = float(raw[column].mean())
        got = merged.means.get(column)
        if got is None or not math.isclose(got, expected, rel_tol=1e-6):
            problems.append(f"mean of {column} {got} != {expected:.6g}")
    for column, count in merged.missing.items():
        if count != int(raw[column].isna().sum()):
            problems.append(f"missing {column} {count} != {int(raw[column].isna().sum())}")
    size_kb = sum(p.stat().st_size for p in paths) / 1024
    if problems:
        return FAIL, "; ".join(problems[:4])
    return PASS, (f"{len(paths)} profiles ({size_kb:,.0f} KiB on disk) merged: {merged.rows:,} rows, "
                  f"{len(merged.means)} means and {len(merged.missing)} missing counts equal the raw data's")


def performance_probe(adapter: MonitorAdapter, scenarios: Scenarios, rows: int, data_dir: Path,
                      month_auc: dict[int, float], result: Result) -> None:
    result.probes["performance_estimation"] = run_probe(
        lambda: performance_estimation(adapter, scenarios, rows, data_dir, month_auc, result))


def performance_estimation(adapter: MonitorAdapter, scenarios: Scenarios, rows: int, data_dir: Path,
                           month_auc: dict[int, float], result: Result) -> Outcome:
    """Estimate each production month's ROC AUC from a `rows`-row batch without labels;
    compare with the model's true AUC on the whole month. Then the concept-drift month: the
    label rule changes, the features (and so the scores) do not."""
    # Fitted on the validation month: labelled data the model never trained on (NannyML's advice).
    # The model's scores come as data (scenarios.month_scores), never from unpickling it here.
    reference = load_month(data_dir, VALID_MONTH)
    adapter.fit_performance(reference=reference[MONITORED], labels=reference[LABEL].to_numpy(),
                            scores=month_scores(data_dir, VALID_MONTH), batch_rows=rows)
    months = list(range(VALID_MONTH + 1, 13))
    estimated = []
    for month in months:
        batch = scenarios.month_batch(month, rows)
        estimated.append(float(adapter.estimate_performance(current=batch.features, scores=batch.scores)))
    true = [month_auc[m] for m in months]
    # The label rule changes, the features do not: the month's scores are the same.
    whole = scenarios.concept_labels(load_month(data_dir, months[0]), np.random.default_rng(months[0]))
    concept_true = float(roc_auc_score(whole[LABEL], month_scores(data_dir, months[0])))
    mae = float(np.mean(np.abs(np.array(estimated) - np.array(true))))
    rho = spearman(estimated, true)
    result.put(Performance(months=months, estimated=estimated, true=true, rows=rows,
                           concept=ConceptMonth(month=months[0], estimated=estimated[0], true=concept_true)))
    evidence = (f"months {months[0]}-{months[-1]} ({rows:,}-row batches vs the whole month's AUC): mean |estimated - "
                f"true| = {mae:.3f}, Spearman rho = {rho:.2f}; month {months[0]} with the label rule changed: true AUC "
                f"{true[0]:.3f} -> {concept_true:.3f}, estimate unchanged at {estimated[0]:.3f} "
                "(the scores did not change)")
    if mae <= ESTIMATE_MAE_LIMIT and rho >= ESTIMATE_RHO_LIMIT:
        return PASS, evidence
    return FAIL, evidence + f" (pass needs error <= {ESTIMATE_MAE_LIMIT} and rho >= {ESTIMATE_RHO_LIMIT})"


class OverBudget(Exception):
    """The check ran past its time budget."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the main thread with OverBudget after `seconds` (SIGALRM; Python code only)."""
    def expire(signum, frame):
        raise OverBudget(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _status_mb(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def reset_peak_rss() -> bool:
    """Reset this process's resident-memory high-water mark (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def million_rows_probe(adapter: MonitorAdapter, scenarios: Scenarios, settings: dict[str, Any], result: Result) -> None:
    result.probes["million_rows"] = run_probe(lambda: million_rows(adapter, scenarios, settings, result))


def million_rows(adapter: MonitorAdapter, scenarios: Scenarios, settings: dict[str, Any], result: Result) -> Outcome:
    rows, limit, budget = settings["scale_rows"], settings["scale_memory_mb"], settings["scale_budget_s"]
    batch = scenarios.scale_batch(rows).features
    exact = reset_peak_rss()
    before = _status_mb("VmRSS") or 0.0
    tick = time.perf_counter()
    with time_budget(budget):
        verdict = adapter.check(current=batch)
    seconds = time.perf_counter() - tick
    peak = _status_mb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.metrics["scale_seconds"] = seconds
    result.metrics["scale_peak_mb"] = float(peak or 0.0)
    how = ("high-water mark reset just before the check; memory the trial freed earlier can be reused without "
           "raising it" if exact else "process peak: the high-water mark could not be reset")
    validate(verdict, f"{rows:,}-row batch")
    evidence = (f"{rows:,} rows checked in {seconds:.1f} s; resident memory {before:,.0f} MB before, "
                f"{peak:,.0f} MB at peak ({how}); verdict drift={verdict.drift}, score {verdict.score:.3g}")
    if peak and peak > limit:
        return FAIL, evidence + f"; over the {limit:,} MB budget"
    return PASS, evidence
