"""Stage-specific figures for the report: `sections/<stage>.py` may define
`figures(stage: dict) -> list[Figure]` from that stage's part of results.json. The generic
tables, probe matrix and ratio chart need nothing here; this is for what only one stage has
(a latency-versus-throughput curve, a drift timeline...)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str  # says what is plotted, with units
    svg: str  # well-formed inline SVG built with xml.etree (no scripts, no external references)
    text: str  # the same information for report.md: a Markdown table or a text chart


def stage_figures(key: str, stage: dict[str, Any]) -> list[Figure]:
    try:
        module = importlib.import_module(f"bakeoff.report.sections.{key}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bakeoff.report.sections.{key}":
            raise
        return []
    return list(module.figures(stage))
