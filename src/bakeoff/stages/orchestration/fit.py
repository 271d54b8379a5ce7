"""Fixed cost and per-task overhead: the least-squares line time = a + b * N through a fan-out's
timings. Pure arithmetic, shared by the workload (one fit per trial; the host's bootstrap over
trials gives the intervals) and the report section (the lines drawn)."""

from __future__ import annotations


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(a, b) of the least-squares line y = a + b * x; needs two distinct x values."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        raise ValueError(f"a line needs at least two distinct N, got {sorted(set(xs))}")
    mean_x = sum(xs) / len(xs)
    mean_y = sum(y for _, y in points) / len(points)
    b = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y - b * mean_x, b
