"""Does a quick run rank the tools the way a full run does? `bakeoff compare QUICK FULL`.

For each stage both runs measured and each of its headline metrics, Kendall's tau-b between
the two runs' medians over the tools both measured ok. A tau of 1 is the same order; the
class-length target is at least 0.9. A metric on which every tool ties in one run (a
saturated score, say) has no order to compare: it is reported as such, not as agreement.
Host side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bakeoff.host.decide.stability import kendall_tau

TARGET_TAU = 0.9


@dataclass(frozen=True)
class MetricAgreement:
    stage: str
    metric: str
    label: str
    tools: int  # measured ok in both runs
    tau: float | None
    why_none: str = ""


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
            if len(common) < 2:
                rows.append(MetricAgreement(name, metric, spec["label"], len(common), None, "fewer than two tools in both"))
            elif len(set(x)) < 2 or len(set(y)) < 2:
                rows.append(MetricAgreement(name, metric, spec["label"], len(common), None,
                                            "every tool ties in one run: no order to compare"))
            else:
                rows.append(MetricAgreement(name, metric, spec["label"], len(common),
                                            round(float(kendall_tau(x, y)), 2)))
    return rows


def below_target(rows: list[MetricAgreement], target: float = TARGET_TAU) -> list[MetricAgreement]:
    return [r for r in rows if r.tau is not None and r.tau < target]

