"""The monitoring stage's figure data: what the suite trial measures for the stage's own report
figures, typed so the workload (worker side) and the section (host side) read the same shape.

- `Suite`: per scenario and batch size, how many batches warned with defaults and with the
  calibrated threshold, and named the changed feature; how each size was calibrated (and, in
  runs stored before the `scale` kind, peak memory per check).
- `CheckMemory`: peak memory of one check per batch size (the `scale` trial).
- `Timeline`: the real months of 2013 beside the reference model's true AUC.
- `Performance`: ROC AUC estimated without labels against the true AUC (tools with an estimator).

`upgrade_facts` turns the facts of a schema-1 results.json (where these travelled as dicts
`_suite`, `_timeline`, `_performance` among the scalar facts) into scalar facts plus payloads.

Standard library only: imported by the workload inside every tool env and by the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bakeoff.worker.figure_data import FigureData


@dataclass
class RateCell:
    """One scenario at one batch size."""

    n: int  # batches checked
    default: int  # warned with the tool's defaults
    calibrated: int | None  # warned with the calibrated threshold; None: that size could not be calibrated
    named: int  # flagged every feature the scenario changed


@dataclass
class ScenarioInfo:
    label: str
    group: str  # no drift | covariate | categorical | quality | concept
    truth: list[str]  # features the scenario changed
    drift: bool  # should a feature-drift monitor warn?
    how: str  # the injection, for the record


@dataclass
class SizeCalibration:
    """How the calibrated setting was set for one batch size (see verdicts.calibrate)."""

    batches: int  # no-drift calibration batches
    threshold: float | None  # alarm when the statistic is strictly above it; None: cannot separate
    statistic: str  # what was thresholded, in words ("dataset score", or the fallback)
    saturated: list[str] = field(default_factory=list)  # scores stuck at one value on no-drift batches
    note: str = ""  # why the statistic is not the dataset score, or why there is no threshold

    @property
    def usable(self) -> bool:
        return self.threshold is not None


@dataclass
class Suite(FigureData):
    KIND: ClassVar[str] = "monitoring.suite"
    VERSION: ClassVar[int] = 1

    sizes: list[int]
    scenarios: dict[str, ScenarioInfo]
    rates: dict[str, dict[int, RateCell]]  # scenario -> batch size -> counts
    calibration: dict[int, SizeCalibration]  # batch size -> how it was calibrated
    peak_mb: dict[int, float] = field(default_factory=dict)  # batch size -> peak MB of one check

    def pooled(self, size: int, count: str, *, drift: bool) -> tuple[int, int] | None:
        """(hits, batches) over the drift scenarios (drift=True) or the no-drift one; None when
        the count is missing at that size (calibration that cannot separate)."""
        hits = n = 0
        for name, cells in self.rates.items():
            scenario = self.scenarios[name]
            if (scenario.drift if drift else name == "no_drift") and size in cells:
                value = getattr(cells[size], count)
                if value is None:
                    return None
                hits += value
                n += cells[size].n
        return hits, n


@dataclass
class CheckMemory(FigureData):
    """Peak memory of one check per batch size, from the `scale` trial (the machine to itself).
    Runs stored before that kind existed carry it in `Suite.peak_mb`."""

    KIND: ClassVar[str] = "monitoring.memory"
    VERSION: ClassVar[int] = 1

    peak_mb: dict[int, float]  # batch size -> peak MB of one check (tracemalloc)


@dataclass
class Delay:
    first_deserved: int | None
    first_warning: int | None
    delay_months: int | None
    unneeded: list[int]
    text: str


@dataclass
class Timeline(FigureData):
    KIND: ClassVar[str] = "monitoring.timeline"
    VERSION: ClassVar[int] = 1

    months: list[int]
    rows: int  # batch size of each month
    auc: list[float]  # the reference model's true AUC on the whole month
    auc_reference: float  # the validation month's
    tolerance: float  # a month deserves a warning below auc_reference - tolerance
    deserved: list[bool]
    score: list[float]  # the tool's dataset drift score
    default: list[bool]  # warned with defaults
    flagged: list[list[str]]
    rank_correlation: float | None  # Spearman, score against AUC loss, out-of-sample months
    delay_default: Delay
    calibrated: list[bool] | None = None  # None: this size could not be calibrated
    threshold: float | None = None
    # The calibrated statistic per month when it is not the dataset score (saturated features
    # left out, see verdicts.calibrate); None when it is the dataset score itself.
    calibrated_score: list[float] | None = None
    delay_calibrated: Delay | None = None
    calibration_note: str = ""


@dataclass
class ConceptMonth:
    month: int
    estimated: float
    true: float


@dataclass
class Performance(FigureData):
    KIND: ClassVar[str] = "monitoring.performance"
    VERSION: ClassVar[int] = 1

    months: list[int]
    estimated: list[float]
    true: list[float]
    rows: int
    concept: ConceptMonth  # the first production month with the label rule changed


# --- schema-1 results ---------------------------------------------------------------------------

def _capped_sizes(old: dict[str, Any], timeline: dict[str, Any] | None) -> set[int]:
    """Sizes whose stored threshold was a score cap rather than a quantile. Schema-1 runs kept
    only each size's threshold, not its calibration scores, so saturation is recognised where it
    shows: every month at the timeline size scored exactly the threshold (a ceiling every batch
    sits on), and any other size whose threshold is that same float (thresholds of different
    sizes coincide only at a cap)."""
    if not timeline:
        return set()
    scores, threshold = timeline.get("score") or [], timeline.get("threshold")
    if threshold is None or not scores or any(s != threshold for s in scores):
        return set()
    return {int(size) for size, value in (old.get("thresholds") or {}).items() if value == threshold}


def upgrade_facts(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One tool's schema-1 facts -> (scalar facts, {KIND: payload})."""
    scalars = {k: v for k, v in facts.items() if not k.startswith("_") and not isinstance(v, (dict, list))}
    figures: dict[str, dict[str, Any]] = {}
    old_suite, old_timeline, old_performance = facts.get("_suite"), facts.get("_timeline"), facts.get("_performance")
    capped = _capped_sizes(old_suite or {}, old_timeline)
    note = ""
    if capped:
        note = (f"the dataset score sat at {old_timeline['threshold']:.4g} on every no-drift batch (a score cap), so "
                "no threshold can separate anything; calibration cannot separate at this size (which feature "
                "saturated was not recorded before bakeoff checked calibration for saturation)")
        scalars["calibration_note"] = " · ".join(f"{s:,} rows: {note}" for s in sorted(capped))
    if isinstance(old_suite, dict):
        sizes = [int(s) for s in old_suite.get("sizes", [])]
        batches = old_suite.get("calibration_batches") or {}
        calibration = {}
        for size in sizes:
            threshold = (old_suite.get("thresholds") or {}).get(str(size))
            calibration[size] = SizeCalibration(
                batches=int(batches.get(str(size), 0)),
                threshold=None if size in capped or threshold is None else float(threshold),
                statistic="dataset score", note=note if size in capped else "")
        rates = {name: {int(size): RateCell(n=c["n"], default=c["default"], named=c["named"],
                                            calibrated=None if int(size) in capped else c["calibrated"])
                        for size, c in cells.items()}
                 for name, cells in (old_suite.get("rates") or {}).items()}
        scenarios = {name: ScenarioInfo(label=s["label"], group=s["group"], truth=list(s["truth"]), drift=s["drift"],
                                        how=s["how"]) for name, s in (old_suite.get("scenarios") or {}).items()}
        peak = {int(s): float(v) for s, v in (old_suite.get("peak_mb") or {}).items()}
        data = Suite(sizes=sizes, scenarios=scenarios, rates=rates, calibration=calibration, peak_mb=peak)
        figures[Suite.KIND] = data.dump()
    if isinstance(old_timeline, dict):
        t = old_timeline
        usable = int(t["rows"]) not in capped
        delays = t.get("delay") or {}
        rho = t.get("rank_correlation")
        data = Timeline(
            months=list(t["months"]), rows=int(t["rows"]), auc=list(t["auc"]), auc_reference=t["auc_reference"],
            tolerance=t["tolerance"], deserved=list(t["deserved"]), score=list(t["score"]), default=list(t["default"]),
            flagged=[list(f) for f in t.get("flagged") or [[] for _ in t["months"]]],
            rank_correlation=None if rho is None or (isinstance(rho, float) and math.isnan(rho)) else float(rho),
            delay_default=_delay(delays.get("default")),
            calibrated=list(t["calibrated"]) if usable else None,
            threshold=t.get("threshold") if usable else None,
            delay_calibrated=_delay(delays.get("calibrated")) if usable else None,
            calibration_note="" if usable else note)
        figures[Timeline.KIND] = data.dump()
    if isinstance(old_performance, dict):
        p = old_performance
        data = Performance(months=list(p["months"]), estimated=list(p["estimated"]), true=list(p["true"]),
                           rows=int(p["rows"]), concept=ConceptMonth(**p["concept"]))
        figures[Performance.KIND] = data.dump()
    return scalars, figures


def _delay(old: dict[str, Any] | None) -> Delay:
    old = old or {}
    return Delay(first_deserved=old.get("first_deserved"), first_warning=old.get("first_warning"),
                 delay_months=old.get("delay_months"), unneeded=list(old.get("unneeded") or []),
                 text=str(old.get("text", "")))
