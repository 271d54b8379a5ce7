"""A figure of a stage's own: what `section` functions return (see StageSpec.section).

The generic tables, probe matrix and ratio chart need nothing from a stage; a section is for what
only one stage has (a latency-versus-throughput curve, a drift timeline, storage against
versions...), drawn from the stage's typed figure data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    title: str
    caption: str  # says what is plotted, with units
    svg: str  # well-formed inline SVG built with xml.etree (no scripts, no external references)
    text: str  # the same information for report.md: a Markdown table or a text chart
