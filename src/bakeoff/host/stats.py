"""Medians, bootstrap intervals, paired ratios, stability flags and verdicts.

The measurement rules (DESIGN.md) in code: a median with a 95% percentile bootstrap interval of
the median; a coefficient of variation above CV_LIMIT flags a figure as unstable; two figures
differ only when their intervals do not overlap. Ratios to the baseline are paired within a
repeat round, because tools are interleaved and a round shares the machine's state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CV_LIMIT = 0.10  # a coefficient of variation strictly above this flags the figure unstable
DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95
BETTER, WORSE, NO_CLEAR_DIFFERENCE = "better", "worse", "no clear difference"
DIRECTIONS = ("lower", "higher")
_CHUNK_ELEMENTS = 1_000_000  # bounds the bootstrap's memory when a sample is long


@dataclass(frozen=True)
class Summary:
    median: float
    ci95: tuple[float, float]
    n: int
    cv: float
    unstable: bool


def summarize(
    samples: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Summary:
    """Median of `samples`, the 95% percentile bootstrap interval of that median, and the CV flag.

    The same samples and seed always give the same interval. The interval is widened, if ever
    needed, to contain the median: a percentile interval can miss it by resampling noise on
    tiny skewed samples, and a report must never show a point outside its own interval.
    """
    values = np.asarray(samples, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("summarize needs a non-empty flat sequence of numbers")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"summarize got a non-finite sample: {values.tolist()}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    n = int(values.size)
    median = float(np.median(values))
    if n < 2:
        return Summary(median=median, ci95=(median, median), n=n, cv=0.0, unstable=False)
    low, high = _bootstrap_interval(values, resamples=resamples, seed=seed)
    cv = _coefficient_of_variation(values)
    return Summary(
        median=median,
        ci95=(min(low, median), max(high, median)),
        n=n,
        cv=cv,
        unstable=cv > CV_LIMIT,
    )


def _bootstrap_interval(values: np.ndarray, *, resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = values.size
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // n)
    medians = np.empty(resamples)
    for start in range(0, resamples, rows_per_chunk):
        rows = min(rows_per_chunk, resamples - start)
        picks = rng.integers(0, n, size=(rows, n))
        medians[start : start + rows] = np.median(values[picks], axis=1)
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def _coefficient_of_variation(values: np.ndarray) -> float:
    stdev = float(np.std(values, ddof=1))
    mean = abs(float(np.mean(values)))
    if stdev == 0.0:
        return 0.0
    return stdev / mean if mean > 0.0 else math.inf


def paired_ratios(tool: Mapping[int, float], baseline: Mapping[int, float]) -> list[float]:
    """tool/baseline for each repeat round present in both, in round order.

    Rounds where the baseline measured zero are skipped: no ratio exists there.
    """
    return [
        tool[round_] / baseline[round_]
        for round_ in sorted(tool.keys() & baseline.keys())
        if baseline[round_] != 0
    ]


def verdict(a: Summary, b: Summary, better: str) -> str:
    """How `a` compares with `b` for a metric where `better` ("lower"/"higher") wins.

    Closed intervals that overlap, even at one end, are "no clear difference".
    """
    _check_direction(better)
    if a.ci95[1] < b.ci95[0]:
        return _direction_verdict(a_is_lower=True, better=better)
    if a.ci95[0] > b.ci95[1]:
        return _direction_verdict(a_is_lower=False, better=better)
    return NO_CLEAR_DIFFERENCE


def ratio_verdict(ratio: Summary, better: str) -> str:
    """A tool/baseline ratio against 1.0: "no clear difference" if its interval contains 1.0."""
    _check_direction(better)
    low, high = ratio.ci95
    if high < 1.0:
        return _direction_verdict(a_is_lower=True, better=better)
    if low > 1.0:
        return _direction_verdict(a_is_lower=False, better=better)
    return NO_CLEAR_DIFFERENCE


def _direction_verdict(*, a_is_lower: bool, better: str) -> str:
    return BETTER if a_is_lower == (better == "lower") else WORSE


def _check_direction(better: str) -> None:
    if better not in DIRECTIONS:
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
