"""From verdicts to figures: calibrated thresholds, rates with intervals, detection delay, rank
correlation. Pure functions of numbers, so they are unit-tested without any tool.
Worker side: standard library and the base set only."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sane at 0 and n, unlike the normal one)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


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
