"""Ratio-to-baseline charts: inline SVG for HTML, a text chart for Markdown.

Ratios are drawn on a log scale as bars growing from the ×1 line, so ×0.5 and ×2 look equally
far from the baseline. Whiskers show the 95% interval. Colour repeats the verdict that the text
states (Okabe–Ito blue and vermillion, grey), so nothing depends on telling colours apart.
The SVG is built with ElementTree, which guarantees well-formed, escaped markup.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from bakeoff.drawing.numbers import compact

COLOURS = {"better": "#0072B2", "worse": "#D55E00", "no clear difference": "#8C8C8C"}
SHORT_VERDICT = {"better": "better", "worse": "worse", "no clear difference": "no clear diff."}
WIDTH, LABEL_W, VALUE_W = 720, 150, 250
PLOT_X0, PLOT_X1 = LABEL_W + 10, WIDTH - VALUE_W - 10
ROW_H, BAR_H, TITLE_H, AXIS_H, GAP = 22, 12, 22, 18, 14


@dataclass(frozen=True)
class Bar:
    tool: str
    median: float | None  # None when the tool has no ratio (failed, or metric not measured)
    low: float | None
    high: float | None
    verdict: str  # better | worse | no clear difference | ""
    text: str  # "×1.80 [1.70–1.90]" or why there is no bar
    unstable: bool


@dataclass(frozen=True)
class ChartGroup:
    title: str  # "Sweep wall time (K runs) — lower is better"
    bars: list[Bar]


def log_domain(bars: Sequence[Bar]) -> tuple[float, float]:
    """Nice 1-2-5 bounds around every interval and ×1."""
    values = [v for b in bars for v in (b.low, b.median, b.high) if v is not None and v > 0]
    low, high = min(values + [1.0]), max(values + [1.0])
    if low == high:
        return 0.5, 2.0
    return _nice(low, down=True), _nice(high, down=False)


def _nice(value: float, *, down: bool) -> float:
    exponent = math.floor(math.log10(value))
    steps = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    return max(s for s in steps if s <= value) if down else min(s for s in steps if s >= value)


def _ticks(low: float, high: float) -> list[float]:
    start, stop = math.floor(math.log10(low)), math.ceil(math.log10(high))
    nice = [m * 10.0**e for e in range(start, stop + 1) for m in (1, 2, 5)]
    ticks = [t for t in nice if low * 0.999 <= t <= high * 1.001]
    if len(ticks) > 7:  # crowded: powers of ten and the bounds only
        ticks = [t for t in ticks if t in (low, high) or math.log10(t).is_integer()]
    return ticks


def _scale(low: float, high: float, x0: float, x1: float):
    span = math.log10(high) - math.log10(low)

    def at(value: float) -> float:
        clamped = min(max(value, low), high)
        return x0 + (math.log10(clamped) - math.log10(low)) / span * (x1 - x0)

    return at


def svg_chart(groups: Sequence[ChartGroup], *, baseline: str) -> str:
    height = sum(TITLE_H + AXIS_H + ROW_H * len(g.bars) + GAP for g in groups) + 30
    svg = ET.Element("svg", {
        "viewBox": f"0 0 {WIDTH} {height}", "width": str(WIDTH), "height": str(height),
        "role": "img", "font-family": "system-ui, sans-serif", "font-size": "12",
        "class": "ratio-chart",
    })
    ET.SubElement(svg, "title").text = f"Ratios to the baseline {baseline}, log scale, 95% intervals"
    y = 0.0
    for group in groups:
        y = _svg_group(svg, group, y, baseline)
    _svg_legend(svg, y + 4)
    return ET.tostring(svg, encoding="unicode")


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs})
    node.text = text
    return node


def _line(parent: ET.Element, x1: float, y1: float, x2: float, y2: float, **attrs: str) -> None:
    coords = {"x1": f"{x1:.1f}", "y1": f"{y1:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}"}
    ET.SubElement(parent, "line", {**coords, **attrs})


def _svg_group(svg: ET.Element, group: ChartGroup, y: float, baseline: str) -> float:
    g = ET.SubElement(svg, "g")
    _text(g, 0, y + 15, group.title, **{"font-weight": "bold"})
    low, high = log_domain(group.bars)
    at = _scale(low, high, PLOT_X0, PLOT_X1)
    top, bottom = y + TITLE_H + AXIS_H, y + TITLE_H + AXIS_H + ROW_H * len(group.bars)
    for tick in _ticks(low, high):
        _text(g, at(tick), top - 5, "×" + compact(tick), **{"text-anchor": "middle", "fill": "#555"})
        _line(g, at(tick), top, at(tick), bottom, stroke="#ddd")
    for row, bar in enumerate(group.bars):
        _svg_bar(g, bar, top + row * ROW_H, at)
    _line(g, at(1.0), top - 2, at(1.0), bottom, stroke="#000", **{"stroke-width": "1.5"})
    _text(g, at(1.0) + 4, bottom + 11, f"×1 = {baseline}", fill="#333", **{"font-size": "11"})
    return bottom + GAP


def _svg_bar(g: ET.Element, bar: Bar, y: float, at) -> None:
    mid = y + ROW_H / 2
    _text(g, LABEL_W, mid + 4, bar.tool, **{"text-anchor": "end"})
    mark = " ⚠" if bar.unstable else ""
    if bar.median is None:
        _text(g, PLOT_X0 + 4, mid + 4, bar.text, fill="#555", **{"font-style": "italic"})
        return
    x_one, x_med = at(1.0), at(bar.median)
    rect = ET.SubElement(g, "rect", {
        "x": f"{min(x_one, x_med):.1f}", "y": f"{mid - BAR_H / 2:.1f}",
        "width": f"{max(abs(x_med - x_one), 1.5):.1f}", "height": str(BAR_H),
        "fill": COLOURS.get(bar.verdict, "#8C8C8C"),
    })
    ET.SubElement(rect, "title").text = f"{bar.tool}: {bar.text} {bar.verdict}{mark}".strip()
    if bar.low is not None and bar.high is not None:
        x_lo, x_hi = at(bar.low), at(bar.high)
        _line(g, x_lo, mid, x_hi, mid, stroke="#000")
        for x in (x_lo, x_hi):
            _line(g, x, mid - 5, x, mid + 5, stroke="#000")
    label = f"{bar.text} {SHORT_VERDICT.get(bar.verdict, bar.verdict)}{mark}".strip()
    _text(g, PLOT_X1 + 10, mid + 4, label)


def _svg_legend(svg: ET.Element, y: float) -> None:
    g = ET.SubElement(svg, "g", {"class": "legend"})
    x = 0.0
    for verdict, colour in COLOURS.items():
        swatch = {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": "12", "height": "12", "fill": colour}
        ET.SubElement(g, "rect", swatch)
        _text(g, x + 16, y + 10, verdict)
        x += 30 + 7 * len(verdict)
    _text(g, x, y + 10, "whiskers: 95% interval · ⚠ CV above 10%", fill="#555")


def text_chart(groups: Sequence[ChartGroup], *, baseline: str, width: int = 36) -> str:
    """The same chart in monospace, for Markdown code blocks."""
    name_w = max((len(b.tool) for g in groups for b in g.bars), default=4)
    lines: list[str] = []
    for group in groups:
        low, high = log_domain(group.bars)
        col = _scale(low, high, 0, width - 1)
        lines += [group.title, " " * (name_w + 1) + _axis(low, high, col, width, baseline)]
        for bar in group.bars:
            lines.append(f"{bar.tool:<{name_w}} {_text_bar(bar, col, width)}".rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _axis(low: float, high: float, col, width: int, baseline: str) -> str:
    row = [" "] * (width + 12)
    for value in (low, 1.0, high):
        label = "×" + compact(value)
        start = min(max(round(col(value)) - len(label) // 2, 0), width + 12 - len(label))
        if all(c == " " for c in row[max(start - 1, 0) : start + len(label) + 1]):
            row[start : start + len(label)] = label
    return "".join(row).rstrip() + f"   (log scale, ×1 = {baseline})"


def _text_bar(bar: Bar, col, width: int) -> str:
    row = [" "] * width
    one = round(col(1.0))
    if bar.median is not None:
        if bar.low is not None and bar.high is not None:
            lo, hi = round(col(bar.low)), round(col(bar.high))
            row[lo : hi + 1] = "─" * (hi - lo + 1)
            row[lo], row[hi] = "├", "┤"
        med = round(col(bar.median))
        for i in range(min(one, med), max(one, med) + 1):
            row[i] = "█"
    row[one] = "│"
    mark = " ⚠" if bar.unstable else ""
    verdict = SHORT_VERDICT.get(bar.verdict, bar.verdict)
    return "".join(row) + f"  {bar.text} {verdict}{mark}".rstrip()


# Okabe–Ito, one hue per criterion; segments are also outlined white and titled, and the
# scores table states every figure, so no reading depends on telling the colours apart.
CRITERION_COLOURS = {
    "correctness": "#0072B2", "capabilities": "#E69F00", "speed": "#009E73", "cold_start": "#56B4E9",
    "resource": "#CC79A7", "simplicity": "#D55E00", "footprint": "#F0E442",
}
SCORE_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class ScoreRow:
    tool: str  # "1  jsonl"
    segments: list[tuple[str, float]]  # (criterion key, weighted share of the total), in order
    total: float | None  # None: excluded, `text` says why
    low: float | None
    high: float | None
    text: str  # "0.885 [0.884–0.885] recommended" or "excluded: …"


def score_chart(rows: Sequence[ScoreRow], *, legend: Sequence[tuple[str, str]], title: str) -> str:
    """Stacked weighted scores on a linear 0..1 axis, whiskers for the total's interval.

    `legend` pairs a criterion key with its label ("Correctness ×3")."""
    top = TITLE_H + AXIS_H
    legend_rows = math.ceil(len(legend) / 4)
    height = top + ROW_H * len(rows) + 24 + 18 * legend_rows
    svg = ET.Element("svg", {
        "viewBox": f"0 0 {WIDTH} {height}", "width": str(WIDTH), "height": str(height), "role": "img",
        "font-family": "system-ui, sans-serif", "font-size": "12", "class": "score-chart",
    })
    ET.SubElement(svg, "title").text = title
    _text(svg, 0, 15, title, **{"font-weight": "bold"})

    def at(value: float) -> float:
        return PLOT_X0 + min(max(value, 0.0), 1.0) * (PLOT_X1 - PLOT_X0)

    bottom = top + ROW_H * len(rows)
    for tick in SCORE_TICKS:
        _text(svg, at(tick), top - 5, compact(tick), **{"text-anchor": "middle", "fill": "#555"})
        _line(svg, at(tick), top, at(tick), bottom, stroke="#ddd")
    for index, row in enumerate(rows):
        _score_row(svg, row, top + index * ROW_H, at)
    _text(svg, at(0.0), bottom + 13, "weighted score: 1 = the best candidate on every criterion",
          fill="#333", **{"font-size": "11"})
    for index, (key, label) in enumerate(legend):
        x, y = (index % 4) * (WIDTH / 4), bottom + 22 + (index // 4) * 18
        ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": "12", "height": "12",
                                    "fill": CRITERION_COLOURS.get(key, "#8C8C8C"), "stroke": "#333", "stroke-width": "0.5"})
        _text(svg, x + 16, y + 10, label)
    return ET.tostring(svg, encoding="unicode")


def _score_row(svg: ET.Element, row: ScoreRow, y: float, at) -> None:
    mid = y + ROW_H / 2
    _text(svg, LABEL_W, mid + 4, row.tool, **{"text-anchor": "end"})
    if row.total is None:
        _text(svg, PLOT_X0 + 4, mid + 4, row.text, fill="#555", **{"font-style": "italic"})
        return
    x = at(0.0)
    for key, share in row.segments:
        width = at(share) - at(0.0)
        if width <= 0:
            continue
        rect = ET.SubElement(svg, "rect", {
            "x": f"{x:.1f}", "y": f"{mid - BAR_H / 2:.1f}", "width": f"{width:.1f}", "height": str(BAR_H),
            "fill": CRITERION_COLOURS.get(key, "#8C8C8C"), "stroke": "#fff", "stroke-width": "1",
        })
        ET.SubElement(rect, "title").text = f"{row.tool.split()[-1]}: {key.replace('_', ' ')} adds {share:.3f}"
        x += width
    if row.low is not None and row.high is not None and row.high > row.low:
        _line(svg, at(row.low), mid, at(row.high), mid, stroke="#000")
        for end in (row.low, row.high):
            _line(svg, at(end), mid - 5, at(end), mid + 5, stroke="#000")
    _text(svg, PLOT_X1 + 10, mid + 4, row.text)


def score_text_chart(rows: Sequence[ScoreRow], *, width: int = 30) -> str:
    """The weighted totals in monospace for Markdown: one bar per candidate on 0..1."""
    name_w = max((len(r.tool) for r in rows), default=4)
    lines = [" " * (name_w + 1) + "0" + " " * (width - 2) + "1"]
    for row in rows:
        if row.total is None:
            lines.append(f"{row.tool:<{name_w}} {row.text}")
            continue
        filled = round(min(max(row.total, 0.0), 1.0) * width)
        lines.append(f"{row.tool:<{name_w}} {'█' * filled}{'·' * (width - filled)}  {row.text}")
    return "\n".join(lines) + "\n"
