"""From verdicts to figures: calibrated thresholds, detection delay, rank correlation. Pure
functions of numbers, so they are unit-tested without any tool.
Worker side: standard library and the base set only."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FALSE_ALARM_TARGET = 0.05


def calibrated_threshold(scores: Sequence[float], target: float = FALSE_ALARM_TARGET) -> float:
    """The 95th percentile of the no-drift calibration scores, taken as the k-th smallest with
    k = ceil(0.95 (n + 1)) (the largest when k > n). A batch alarms when its score is strictly
    above it. For batches exchangeable with the calibration ones this keeps the false-alarm
    rate at or below 5% whatever n (the conformal quantile); interpolating the 95th percentile
    of 20 scores would land near the 19th and alarm on about 2/21 = 9.5% of no-drift batches."""
    values = np.sort(np.asarray(list(scores), dtype=float))
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("calibration needs at least one finite score")
    k = math.ceil((1 - target) * (values.size + 1))
    return float(values[min(k, values.size) - 1])


def alarms(scores: Sequence[float], threshold: float) -> list[bool]:
    return [float(s) > threshold for s in scores]


def saturated(scores: Sequence[float], threshold: float) -> bool:
    """Is the calibrated threshold a ceiling rather than a quantile? It is when at least half
    the no-drift calibration batches score exactly the threshold (their median equals it) and
    that value is above 0. A continuous test does not give twenty random batches one identical
    positive score: that happens at a cap (a p-value at the floor scores the cap on every batch),
    and a batch can then never score above the threshold, drifted or not. A score stuck at 0
    ("no evidence at all") is not a ceiling: any drifted batch scoring above 0 is caught."""
    return threshold > 0 and statistics.median(float(s) for s in scores) == threshold


@dataclass(frozen=True)
class Calibration:
    """The calibrated setting of one batch size. A batch alarms when `value(...)` is strictly
    above `threshold`; threshold None means the calibration batches cannot separate anything,
    and no calibrated rate may be reported for the size (it would read as a measured 0%)."""

    threshold: float | None
    statistic: str  # what is thresholded, in words
    saturated: tuple[str, ...] = ()  # scores stuck at a ceiling on the calibration batches
    excluded: tuple[str, ...] = ()  # features left out of the fallback statistic
    note: str = ""  # why the fallback was used, or why there is no threshold

    @property
    def usable(self) -> bool:
        return self.threshold is not None

    def value(self, score: float, feature_scores: Mapping[str, float]) -> float:
        """The calibrated statistic of one check: the dataset score, or with saturated
        features excluded, the largest remaining feature score."""
        if not self.excluded:
            return float(score)
        return max(float(v) for k, v in feature_scores.items() if k not in self.excluded)

    def alarms(self, checks: Sequence[tuple[float, Mapping[str, float]]]) -> list[bool] | None:
        """For (dataset score, feature scores) pairs; None when there is no threshold."""
        if self.threshold is None:
            return None
        return [self.value(score, features) > self.threshold for score, features in checks]


def calibrate(scores: Sequence[float], feature_scores: Sequence[Mapping[str, float]],
              target: float = FALSE_ALARM_TARGET) -> Calibration:
    """Set the calibrated threshold from no-drift calibration checks (dataset scores and the
    per-feature scores of the same checks), the same rule for every tool.

    1. A score is stuck when it is saturated (see `saturated`) on the calibration batches; the
       values stuck scores sit on are the tool's caps (a p-value at the floor scores the same
       cap whichever feature it comes from).
    2. The threshold is the conformal quantile of the dataset scores (calibrated_threshold),
       unless the dataset score is stuck or its threshold is a cap: then no batch can score
       above it, drifted or not.
    3. In that case the features whose own threshold is a cap (stuck ones, and those reaching
       a cap on enough calibration batches to set their quantile) are named and left out, and
       the statistic becomes the largest score among the other features, with its own
       conformal threshold: one broken feature does not blind the tool to the rest.
    4. If no feature is left, there is no threshold: the calibration cannot separate anything
       at this size, and the note says why.

    A threshold per feature (Bonferroni at 0.05 / m over m features) was not used: with m = 12
    its conformal quantile needs at least 12 / 0.05 - 1 = 239 calibration batches to be anything
    but each feature's maximum, and the maximum of n per feature bounds the false-alarm rate only
    by m / (n + 1): 57% with 20 batches, 6% with 200. A threshold on one statistic per batch
    keeps the 1 / (n + 1)-granular conformal guarantee at any n."""
    threshold = calibrated_threshold(scores, target)
    features = sorted({k for f in feature_scores for k in f})
    values = {name: [float(f[name]) for f in feature_scores] for name in features}
    quantiles = {name: calibrated_threshold(v, target) for name, v in values.items()}
    stuck = [name for name in features if saturated(values[name], quantiles[name])]
    caps = {quantiles[name] for name in stuck}
    if saturated(scores, threshold):
        caps.add(threshold)
    if threshold not in caps:
        return Calibration(threshold, "dataset score")
    capped = [name for name in features if quantiles[name] in caps]
    n = len(scores)
    said = [f"{name} scored {quantiles[name]:.4g} on {sum(v == quantiles[name] for v in values[name])} of {n} "
            "no-drift calibration batches" for name in capped]
    why = (f"the dataset score's calibrated threshold {threshold:.4g} is a cap that no-drift batches already "
           f"reach ({sum(v == threshold for v in scores)} of {n}), so no batch can score above it; "
           + ("; ".join(said) if said else "no single feature is at the cap: it is the dataset score's own"))
    rest = [name for name in features if name not in capped]
    if not capped or not rest:
        return Calibration(None, "dataset score", tuple(capped), (), why + "; calibration cannot separate at this size")
    fallback = [max(values[name][i] for name in rest) for i in range(n)]
    second = calibrated_threshold(fallback, target)
    statistic = f"largest feature score without {', '.join(capped)}"
    if second in caps or saturated(fallback, second):
        return Calibration(None, statistic, tuple(capped), tuple(capped),
                           why + f"; the {statistic} is at {second:.4g} too: calibration cannot separate")
    return Calibration(second, statistic, tuple(capped), tuple(capped), why + f"; calibrated on the {statistic} instead")


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (ties get average ranks); NaN when either side is constant."""
    from scipy.stats import rankdata

    a, b = rankdata(np.asarray(x, dtype=float)), rankdata(np.asarray(y, dtype=float))
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def detection_delay(months: Sequence[int], deserved: Sequence[bool], warned: Sequence[bool]) -> dict:
    """Months stream in order. The delay is the number of months from the first month that
    deserved a warning to the first warning at or after it (0 = caught in that month).
    Warnings before it, or in months that did not deserve one, are unneeded wake-ups."""
    first = next((m for m, d in zip(months, deserved) if d), None)
    unneeded = [m for m, d, w in zip(months, deserved, warned) if w and not d]
    if first is None:
        return {"first_deserved": None, "first_warning": None, "delay_months": None, "unneeded": unneeded,
                "text": f"no month deserved a warning; {len(unneeded)} unneeded warning(s)"}
    caught = next((m for m, w in zip(months, warned) if w and m >= first), None)
    delay = None if caught is None else caught - first
    text = (f"missed: no warning from month {first} on" if caught is None else
            f"{delay} month(s) after month {first} (first deserved)")
    return {"first_deserved": first, "first_warning": caught, "delay_months": delay, "unneeded": unneeded,
            "text": f"{text}; {len(unneeded)} unneeded warning(s)"}


def named(flagged: Sequence[str], truth: Sequence[str]) -> bool:
    """Did the monitor name every feature the scenario changed?"""
    return bool(truth) and set(truth) <= set(flagged)
