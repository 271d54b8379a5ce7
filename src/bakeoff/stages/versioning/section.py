"""The versioning stage's own figures, from results.json: storage against the number of
versions per tool (with the raw size of each version for scale), and commit and checkout time
against versions. They are drawn from each tool's typed `Timeline` (figures.py); a tool
without one (failed) is left out. The probe matrix is the report's generic one. Host side,
standard library only."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from bakeoff.drawing.figure import Figure
from bakeoff.stages.versioning.figures import Timeline

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]  # Okabe-Ito
DASHES = ["", "6 3", "2 2", "8 3 2 3"]  # a second cue besides colour
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 56, 170, 24, 40


def figures(stage: dict[str, Any]) -> list[Figure]:
    series = _series(stage)
    if not series:
        return []
    return [_storage(series), _commit_times(series), _checkouts(series)]


def _series(stage: dict[str, Any]) -> list[dict[str, Any]]:
    raw = stage.get("tools") or {}
    names = sorted(raw, key=lambda n: (not raw[n].get("baseline"), n))
    found = []
    for index, name in enumerate(names):
        timeline = Timeline.find(raw[name])
        if timeline and timeline.commits:
            baseline = bool(raw[name].get("baseline"))
            found.append({"name": name, "timeline": timeline, "baseline": baseline,
                          "colour": "#555555" if baseline else COLOURS[index % len(COLOURS)],
                          "dash": DASHES[index % len(DASHES)]})
    return found


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{min(decimals, 4)}f}"


def _chart(title: str, series: list[tuple[dict, list[float]]], labels: list[str], unit: str,
           reference: list[float] | None = None) -> str:
    """Lines of y against version number, one per tool, a legend on the right."""
    values = [v for _, ys in series for v in ys] + (reference or [])
    top = max(values, default=0.0) * 1.08 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (i / max(1, len(labels) - 1)) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    svg = ET.Element("svg", {"viewBox": f"0 0 {WIDTH} {HEIGHT}", "width": str(WIDTH), "height": str(HEIGHT),
                             "role": "img", "font-family": "system-ui, sans-serif", "font-size": "11"})
    ET.SubElement(svg, "title").text = title
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        level = top * fraction
        ET.SubElement(svg, "line", {"x1": str(LEFT), "x2": str(LEFT + plot_w), "y1": f"{y(level):.1f}",
                                    "y2": f"{y(level):.1f}", "stroke": "#eee"})
        ET.SubElement(svg, "text", {"x": str(LEFT - 4), "y": f"{y(level) + 4:.1f}", "text-anchor": "end",
                                    "fill": "#555"}).text = _fmt(level)
    for i, label in enumerate(labels):
        ET.SubElement(svg, "text", {"x": f"{x(i):.1f}", "y": str(TOP + plot_h + 14), "text-anchor": "middle",
                                    "fill": "#555"}).text = label
    ET.SubElement(svg, "text", {"x": str(LEFT), "y": str(TOP - 8), "fill": "#333"}).text = unit
    lines = [*series]
    if reference:
        lines.append(({"name": "raw data", "colour": "#999999", "dash": "1 3"}, reference))
    for row, (tool, ys) in enumerate(lines):
        attrs = {"points": " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(ys)), "fill": "none",
                 "stroke": tool["colour"], "stroke-width": "2"}
        if tool["dash"]:
            attrs["stroke-dasharray"] = tool["dash"]
        ET.SubElement(svg, "polyline", attrs)
        legend_y = TOP + 8 + row * 16
        ET.SubElement(svg, "line", {"x1": str(WIDTH - RIGHT + 10), "x2": str(WIDTH - RIGHT + 34),
                                    "y1": str(legend_y), "y2": str(legend_y), "stroke": tool["colour"],
                                    "stroke-width": "2", **({"stroke-dasharray": tool["dash"]} if tool["dash"] else {})})
        ET.SubElement(svg, "text", {"x": str(WIDTH - RIGHT + 38), "y": str(legend_y + 4),
                                    "fill": "#333"}).text = tool["name"]
    return ET.tostring(svg, encoding="unicode")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _storage(series: list[dict]) -> Figure:
    labels = [c.version for c in series[0]["timeline"].commits]
    lines = [(s, [c.store_mb for c in s["timeline"].commits]) for s in series]
    raw = [c.raw_mb for c in series[0]["timeline"].commits]
    rows = [[s["name"], *(_fmt(v) for v in ys)] for s, ys in lines] + [["raw data", *(_fmt(v) for v in raw)]]
    return Figure(
        title="Storage against the number of versions",
        caption=("Everything each tool keeps (workspace and remote; a hard-linked file counted once) in MB after "
                 "each commit: v1..v12 add a month each, v13 corrects 1% of March's rows. The dotted line is the "
                 "version's own data, what it would weigh with no versioning. One measured round."),
        svg=_chart("Storage (MB) after each version", lines, labels, "MB", raw),
        text=_table(["tool", *labels], rows))


def _commit_times(series: list[dict]) -> Figure:
    labels = [c.version for c in series[0]["timeline"].commits]
    lines = [(s, [c.seconds for c in s["timeline"].commits]) for s in series]
    rows = [[s["name"], *(_fmt(v) for v in ys)] for s, ys in lines]
    return Figure(
        title="Commit time against the number of versions",
        caption=("Seconds for each commit (file tools: add, commit and push; table tools: the write that makes "
                 "the version), in version order, so a cost that grows with history shows as a rising line. "
                 "The first commit includes creating the store's first objects. One measured round."),
        svg=_chart("Commit time (s) per version", lines, labels, "s"),
        text=_table(["tool", *labels], rows))


def _checkouts(series: list[dict]) -> Figure:
    versions = sorted({c.version for s in series for c in s["timeline"].checkouts}, key=lambda v: int(v[1:]))
    lines = []
    for s in series:
        by_version = {c.version: c.seconds for c in s["timeline"].checkouts}
        lines.append((s, [by_version.get(v, float("nan")) for v in versions]))
    rows = [[s["name"], *(_fmt(v) for v in ys),
             " ".join(c.version for c in s["timeline"].checkouts)] for s, ys in lines]
    drawable = [(s, ys) for s, ys in lines if all(math.isfinite(v) for v in ys)]
    return Figure(
        title="Checkout time against the version checked out",
        caption=("Seconds to get a version back, verified (file tools: every file byte-identical; table tools: "
                 "every row), for versions with 3, 7 and 12 months of data; the versions were checked out in a "
                 "shuffled order, shown in the last column. One measured round."),
        svg=_chart("Checkout time (s) per version", drawable, versions, "s"),
        text=_table(["tool", *versions, "order"], rows))
