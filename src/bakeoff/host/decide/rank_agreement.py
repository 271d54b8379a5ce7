"""Does a quick run rank the tools the way a full run does? `bakeoff compare QUICK FULL`.

For each stage both runs measured and each of its headline metrics, Kendall's tau-b between
the two runs' medians over the tools both measured ok. A tau of 1 is the same order; the
class-length target is at least 0.9. The tau judged is over the material order: two tools
whose medians differ by less than the metric's material difference (the gap a team would feel,
`Metric.material`) tie in that run, as they tie in the decision; ranking them either way is
noise. The raw-order tau is shown beside it. A metric on which every tool ties in one run (a
saturated score, say) has no order to compare: it is reported as such, not as agreement.
Host side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

TARGET_TAU = 0.9


@dataclass(frozen=True)
class MetricAgreement:
    stage: str
    metric: str
    label: str
    tools: int  # measured ok in both runs
    tau: float | None  # over the material order (gaps below `material` tie)
    why_none: str = ""  # why tau is None, or how a tie-only tau was reached
    raw_tau: float | None = None  # over the medians' plain order
    material: float | None = None  # in the metric's unit; None: only equal medians tie


def material_tau(x: list[float], y: list[float], material: float = 0.0) -> float | None:
    """Kendall's tau-b of two runs' figures for the same tools, a pair counting as tied in a run
    when its gap there is below `material` (with 0, the ordinary tau-b):
    sum(sx * sy) / sqrt(sum(sx^2) * sum(sy^2)) over the pairs' signs. None when a run ties every pair."""

    sx, sy = pair_signs(x, material), pair_signs(y, material)
    tied_x, tied_y = sum(s * s for s in sx), sum(s * s for s in sy)
    if not tied_x or not tied_y:
        return None
    return sum(a * b for a, b in zip(sx, sy)) / math.sqrt(tied_x * tied_y)


def pair_signs(values: list[float], material: float = 0.0) -> list[int]:
    """Per pair of tools, +1 or -1 by which is higher, 0 where the gap is below `material`."""
    return [0 if abs(values[i] - values[j]) < material or values[i] == values[j] else (1 if values[i] > values[j] else -1)
            for i in range(len(values)) for j in range(i + 1, len(values))]


def medians(stage: dict[str, Any], metric: str) -> dict[str, float]:
    found = {}
    for entry, tool in stage["tools"].items():
        value = (tool.get("metrics") or {}).get(metric, {}).get("median")
        if tool.get("status") == "ok" and isinstance(value, (int, float)):
            found[entry] = float(value)
    return found


def agreement(first: dict[str, Any], second: dict[str, Any]) -> list[MetricAgreement]:
    """Per stage in both runs and per headline metric, the rank agreement of the two runs."""
    rows = []
    for name, stage in first["stages"].items():
        other = second["stages"].get(name)
        if other is None:
            continue
        for metric, spec in stage.get("metrics", {}).items():
            if not spec.get("headline"):
                continue
            a, b = medians(stage, metric), medians(other, metric)
            common = sorted(set(a) & set(b))
            x, y = [a[t] for t in common], [b[t] for t in common]
            material = spec.get("material")
            row = MetricAgreement(name, metric, spec["label"], len(common), None, material=material)
            if len(common) < 2:
                rows.append(replace(row, why_none="fewer than two tools in both"))
                continue
            raw, judged = material_tau(x, y), material_tau(x, y, material or 0.0)
            why = ""
            if raw is None:
                why = "every tool ties in one run: no order to compare"
            elif judged is None:
                gap = f"{material:g} {spec.get('unit', '')}".strip()
                both = not any(pair_signs(x, material or 0.0)) and not any(pair_signs(y, material or 0.0))
                # Both runs see only immaterial gaps: they agree (a tie). One run only: it misses
                # a difference the other finds material, which is no agreement at all.
                judged = 1.0 if both else 0.0
                why = (f"no gap reaches the material {gap} in either run: both say tie" if both
                       else f"only one run finds a gap of at least {gap}")
            rows.append(replace(row, tau=None if judged is None else round(judged, 2),
                                raw_tau=None if raw is None else round(raw, 2), why_none=why))
    return rows


def below_target(rows: list[MetricAgreement], target: float = TARGET_TAU) -> list[MetricAgreement]:
    return [r for r in rows if r.tau is not None and r.tau < target]

