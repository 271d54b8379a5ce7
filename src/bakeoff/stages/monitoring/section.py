"""The monitoring stage's own figures, from results.json: detection against batch size, the
false-alarm table, detection per scenario, the real months beside the true AUC, performance
estimation, cost per check. Each figure is an SVG (ElementTree: well formed and escaped) and the
same numbers as Markdown. The trials put what these need into each tool's typed figure data
(figures.py: Suite, Timeline, Performance), read here only through `Kind.find(tool)`; a tool
without a Suite (failed, or skipped) is left out. Host side: standard library only."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from bakeoff.drawing.numbers import number
from bakeoff.drawing.figure import Figure
from bakeoff.stages.monitoring.figures import CheckMemory, Performance, Suite, Timeline

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]  # Okabe-Ito
BASELINE_COLOUR = "#555555"
MONTH_NAMES = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
SETTINGS = (("default", "tool defaults"), ("calibrated", "calibrated to 5%"))


def figures(stage: dict[str, Any]) -> list[Figure]:
    tools = _tools(stage)
    if not tools:
        return []
    out = [_detection_vs_size(tools), _false_alarms(tools), _per_scenario(tools)]
    if any(t["timeline"] for t in tools):
        out.append(_timeline([t for t in tools if t["timeline"]]))
    if any(t["performance"] for t in tools):
        out.append(_performance(tools))
    out.append(_cost(tools))
    return out


# --- data -------------------------------------------------------------------------------------

def _tools(stage: dict[str, Any]) -> list[dict[str, Any]]:
    """Tools whose suite ran, baseline first, each with a colour and its figure data."""
    raw = stage.get("tools") or {}
    suites = {name: Suite.find(tool) for name, tool in raw.items()}
    names = sorted((n for n, suite in suites.items() if suite is not None),
                   key=lambda n: (not raw[n].get("baseline"), n))
    out = []
    for index, name in enumerate(names):
        colour = BASELINE_COLOUR if raw[name].get("baseline") else COLOURS[index % len(COLOURS)]
        out.append({"name": name, "colour": colour, "baseline": bool(raw[name].get("baseline")),
                    "suite": suites[name], "timeline": Timeline.find(raw[name]),
                    "performance": Performance.find(raw[name]), "memory": CheckMemory.find(raw[name]),
                    "metrics": raw[name].get("metrics") or {}})
    return out


def _sizes(tool: dict) -> list[int]:
    return list(tool["suite"].sizes)


def _pooled(tool: dict, size: int, count: str, drift: bool) -> tuple[int, int] | None:
    """(hits, batches) pooled over the drift scenarios or the no-drift one; None when the
    size's calibration cannot separate (no calibrated count exists)."""
    return tool["suite"].pooled(size, count, drift=drift)


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sane at 0 and n, unlike the normal one)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


NO_CALIBRATION = "cannot separate"


def _calibration_notes(tools: list[dict]) -> list[str]:
    """One line per tool whose calibration needed a fallback or failed, in its own words."""
    lines = []
    for tool in tools:
        notes = {}
        for size, calibration in tool["suite"].calibration.items():
            if calibration.note:
                notes.setdefault(calibration.note, []).append(_size_label(size))
        for note, sizes in notes.items():
            lines.append(f"- `{tool['name']}`, {', '.join(sizes)} rows: {note}")
    return ["", "Calibration notes:", *lines] if lines else []


def _count(pooled: tuple[int, int] | None) -> str:
    return NO_CALIBRATION if pooled is None else f"{_pct(*pooled)} ({pooled[0]}/{pooled[1]})"


def _cell_pct(cell, count: str) -> str:
    if cell is None:
        return "—"
    value = getattr(cell, count)
    return "n/a" if value is None else _pct(value, cell.n)


def _threshold(calibration) -> str:
    if not calibration.usable:
        return NO_CALIBRATION
    fallback = "" if calibration.statistic == "dataset score" else f" ({calibration.statistic})"
    return f"{calibration.threshold:.3g}{fallback}"


def _pct(hits: int, n: int) -> str:
    return f"{100 * hits / n:.0f}%" if n else "—"


def _size_label(size: int) -> str:
    return f"{int(size):,}"


def _short(size: int) -> str:
    rows = int(size)
    return f"{rows // 1000}k" if rows >= 1000 and rows % 1000 == 0 else str(rows)


# --- svg helpers ------------------------------------------------------------------------------

def _svg(width: float, height: float, title: str) -> ET.Element:
    svg = ET.Element("svg", {"viewBox": f"0 0 {width:.0f} {height:.0f}", "width": f"{width:.0f}",
                             "height": f"{height:.0f}", "role": "img", "font-family": "system-ui, sans-serif",
                             "font-size": "11"})
    ET.SubElement(svg, "title").text = title
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs}).text = text


def _line(parent: ET.Element, x1: float, y1: float, x2: float, y2: float, **attrs: str) -> None:
    ET.SubElement(parent, "line", {"x1": f"{x1:.1f}", "y1": f"{y1:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}",
                                   "stroke": attrs.pop("stroke", "#000"), **attrs})


def _poly(parent: ET.Element, points: list[tuple[float, float]], colour: str, dashed: bool) -> None:
    attrs = {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points), "fill": "none", "stroke": colour,
             "stroke-width": "2"}
    if dashed:
        attrs["stroke-dasharray"] = "5 3"
    ET.SubElement(parent, "polyline", attrs)


def _dot(parent: ET.Element, x: float, y: float, colour: str, tip: str, r: float = 3.5) -> None:
    ET.SubElement(ET.SubElement(parent, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": f"{r:.1f}",
                                                   "fill": colour}), "title").text = tip


def _legend(svg: ET.Element, tools: list[dict], y: float) -> None:
    x = 10.0
    for tool in tools:
        _line(svg, x, y - 4, x + 18, y - 4, stroke=tool["colour"], **{"stroke-width": "2"},
              **({"stroke-dasharray": "5 3"} if tool["baseline"] else {}))
        _text(svg, x + 22, y, tool["name"] + (" (baseline)" if tool["baseline"] else ""))
        x += 40 + 7 * len(tool["name"]) + (60 if tool["baseline"] else 0)


def _end_labels(svg: ET.Element, labels: list[tuple[float, float, str, str]], gap: float = 12.0) -> None:
    """Line-end labels (x, y, text, colour), nudged apart vertically so none overlap."""
    placed: list[float] = []
    for x, y, text, colour in sorted(labels, key=lambda item: item[1]):
        y = max(y, placed[-1] + gap) if placed else y
        placed.append(y)
        _text(svg, x, y + 4, text, fill=colour)


def _shade(rate: float) -> str:
    """White to Okabe-Ito blue with the rate (0..1)."""
    r, g, b = (int(255 + (c - 255) * rate) for c in (0x00, 0x72, 0xB2))
    return f"#{r:02x}{g:02x}{b:02x}"


# --- figures ----------------------------------------------------------------------------------

def _detection_vs_size(tools: list[dict]) -> Figure:
    sizes = _sizes(tools[0])
    panel_w, panel_h, left, top = 300.0, 170.0, 44.0, 30.0
    svg = _svg(2 * (panel_w + left) + 60, top + panel_h + 60, "Drifted batches caught against batch size")
    for p, (setting, label) in enumerate(SETTINGS):
        x0 = left + p * (panel_w + left + 10)
        _text(svg, x0, 16, f"Caught, {label}", **{"font-weight": "bold"})
        for tick in (0, 50, 100):
            y = top + panel_h * (1 - tick / 100)
            _line(svg, x0, y, x0 + panel_w, y, stroke="#ddd")
            _text(svg, x0 - 6, y + 4, f"{tick}%", **{"text-anchor": "end", "fill": "#555"})
        xs = [x0 + 20 + i * (panel_w - 40) / max(1, len(sizes) - 1) for i in range(len(sizes))]
        for x, size in zip(xs, sizes):
            _text(svg, x, top + panel_h + 14, f"{_size_label(size)} rows", **{"text-anchor": "middle", "fill": "#555"})
        for tool in tools:
            points = []
            for x, size in zip(xs, sizes):
                pooled = _pooled(tool, size, setting, drift=True)
                if pooled is None:  # no calibrated count at this size: no point, rather than a 0%
                    continue
                hits, n = pooled
                y = top + panel_h * (1 - hits / n) if n else top + panel_h
                points.append((x, y))
                _dot(svg, x, y, tool["colour"], f"{tool['name']}, {label}, {_size_label(size)} rows: "
                                                f"{hits}/{n} = {_pct(hits, n)}")
            _poly(svg, points, tool["colour"], tool["baseline"])
    _legend(svg, tools, top + panel_h + 40)
    head = "| Tool | Setting | " + " | ".join(f"Caught, {_size_label(s)} rows" for s in sizes) + " | " + \
        " | ".join(f"False alarms, {_size_label(s)} rows" for s in sizes) + " |"
    rows = [head, "|" + "---|" * (2 + 2 * len(sizes))]
    for tool in tools:
        for setting, label in SETTINGS:
            caught = [_pooled(tool, s, setting, drift=True) for s in sizes]
            false = [_pooled(tool, s, setting, drift=False) for s in sizes]
            rows.append(f"| `{tool['name']}` | {label} | " + " | ".join(_count(c) for c in caught)
                        + " | " + " | ".join(_count(f) for f in false) + " |")
    return Figure("Drift caught against batch size", (
        "Share of drifted batches caught, pooled over the 8 drift scenarios, by batch size: with each tool's "
        "defaults (left) and with a threshold calibrated on separate no-drift batches to at most 5% false alarms "
        "(right; no point where the calibration cannot separate anything, see the notes). The table adds the "
        "false-alarm rate on no-drift batches at each size."),
        ET.tostring(svg, encoding="unicode"), "\n".join(rows + _calibration_notes(tools)))


def _false_alarms(tools: list[dict]) -> Figure:
    sizes = _sizes(tools[0])
    label_w, cell_w, row_h, top = 190.0, 170.0, 20.0, 34.0
    lines = [(t, s, l) for t in tools for s, l in SETTINGS]
    svg = _svg(label_w + cell_w * len(sizes) + 20, top + row_h * len(lines) + 30, "False alarms on no-drift batches")
    for i, size in enumerate(sizes):
        x0 = label_w + i * cell_w
        _text(svg, x0 + cell_w / 2, 14, f"{_size_label(size)} rows", **{"text-anchor": "middle", "font-weight": "bold"})
        for tick in (0, 0.05, 0.5, 1.0):
            x = x0 + 10 + (cell_w - 30) * tick
            _line(svg, x, top - 6, x, top + row_h * len(lines), stroke="#bbb" if tick != 0.05 else "#D55E00",
                  **({"stroke-dasharray": "3 3"} if tick == 0.05 else {}))
            if tick == 0.05:  # the target, labelled below the rows so it does not crowd 0%
                _text(svg, x, top + row_h * len(lines) + 12, "5%", **{"text-anchor": "middle", "fill": "#D55E00",
                                                                     "font-size": "9"})
            else:
                _text(svg, x, top - 9, f"{tick:.0%}", **{"text-anchor": "middle", "fill": "#555", "font-size": "9"})
    for row, (tool, setting, label) in enumerate(lines):
        y = top + row_h * row + row_h / 2
        _text(svg, label_w - 8, y + 4, f"{tool['name']}, {label}", **{"text-anchor": "end"})
        for i, size in enumerate(sizes):
            x0 = label_w + i * cell_w + 10
            pooled = _pooled(tool, size, setting, drift=False)
            if pooled is None:
                _text(svg, x0, y + 4, NO_CALIBRATION, fill="#555", **{"font-size": "9"})
                continue
            hits, n = pooled
            if not n:
                continue
            low, high = wilson(hits, n)
            _line(svg, x0 + (cell_w - 30) * low, y, x0 + (cell_w - 30) * high, y, stroke=tool["colour"])
            _dot(svg, x0 + (cell_w - 30) * hits / n, y, tool["colour"],
                 f"{tool['name']}, {label}, {_size_label(size)} rows: {hits}/{n} false alarms "
                 f"[{low:.0%}–{high:.0%}]")
    table = ["| Tool | Setting | " + " | ".join(f"{_size_label(s)} rows" for s in sizes) + " |",
             "|" + "---|" * (2 + len(sizes))]
    for tool, setting, label in lines:
        cells = []
        for size in sizes:
            pooled = _pooled(tool, size, setting, drift=False)
            if pooled is None:
                cells.append(NO_CALIBRATION)
                continue
            hits, n = pooled
            low, high = wilson(hits, n)
            cells.append(f"{hits}/{n} = {_pct(hits, n)} [{low:.0%}–{high:.0%}]" if n else "—")
        table.append(f"| `{tool['name']}` | {label} | " + " | ".join(cells) + " |")
    thresholds = ["", "Calibrated thresholds (the statistic must exceed): " + "; ".join(
        f"`{t['name']}` " + ", ".join(f"{_size_label(s)}: " + _threshold(c) for s, c in t["suite"].calibration.items())
        for t in tools)] + _calibration_notes(tools)
    return Figure("False alarms", (
        "Share of no-drift batches (held-out rows of the training months) that raised a warning, per batch size "
        "and setting, with its 95% Wilson interval; the dashed line is the 5% target. Calibration batches are "
        "never among them."), ET.tostring(svg, encoding="unicode"), "\n".join(table + thresholds))


def _per_scenario(tools: list[dict]) -> Figure:
    scenarios = tools[0]["suite"].scenarios
    sizes = _sizes(tools[0])
    names = [n for n in scenarios if n != "no_drift"]
    label_w, cell, top = 200.0, 22.0, 116.0
    rows = [(t, k, lab) for t in tools for k, lab in (("default", "defaults"), ("calibrated", "calibrated"),
                                                        ("named", "named the feature"))]
    width = label_w + cell * len(sizes) * len(names) + 6 * len(names) + 150  # room for the slanted last label
    svg = _svg(width, top + cell * len(rows) + 20, "Detection per scenario and batch size")
    for j, name in enumerate(names):
        x0 = label_w + j * (cell * len(sizes) + 6)
        label = scenarios[name].label + (" (should stay quiet)" if not scenarios[name].drift else "")
        _text(svg, x0 + 4, top - 22, label, transform=f"rotate(-40 {x0 + 4:.1f} {top - 22:.1f})")
        for i, size in enumerate(sizes):
            _text(svg, x0 + cell * (i + 0.5), top - 4, _short(size),
                  **{"text-anchor": "middle", "fill": "#555", "font-size": "9"})
    for r, (tool, count, label) in enumerate(rows):
        y = top + r * cell
        _text(svg, label_w - 6, y + cell / 2 + 4, f"{tool['name']}, {label}", **{"text-anchor": "end"})
        for j, name in enumerate(names):
            for i, size in enumerate(sizes):
                found = tool["suite"].rates.get(name, {}).get(size)
                if not found or getattr(found, count) is None or (count == "named" and not scenarios[name].truth):
                    continue
                hits = getattr(found, count)
                rate = hits / found.n
                x = label_w + j * (cell * len(sizes) + 6) + i * cell
                rect = ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{cell - 1:.0f}",
                                                   "height": f"{cell - 1:.0f}", "fill": _shade(rate)})
                ET.SubElement(rect, "title").text = (f"{tool['name']}, {scenarios[name].label}, "
                                                     f"{_size_label(size)} rows, {label}: {hits}/{found.n}")
                _text(svg, x + (cell - 1) / 2, y + cell / 2 + 3, f"{100 * rate:.0f}",
                      **{"text-anchor": "middle", "font-size": "8", "fill": "#fff" if rate > 0.6 else "#000"})
    table = ["| Tool | Setting | " + " | ".join(scenarios[n].label for n in names) + " |",
             "|" + "---|" * (2 + len(names))]
    for tool, count, label in rows:
        cells = []
        for name in names:
            found = tool["suite"].rates.get(name, {})
            if count == "named" and not scenarios[name].truth:
                cells.append("—")
                continue
            cells.append(" · ".join(_cell_pct(found.get(s), count) for s in sizes))
        table.append(f"| `{tool['name']}` | {label} | " + " | ".join(cells) + " |")
    how = ["", "Scenarios: " + "; ".join(f"**{s.label}**: {s.how}" for s in scenarios.values())]
    return Figure("Detection per scenario", (
        "Percentage of batches with a warning, per scenario and batch size (cells left to right: "
        + ", ".join(f"{_size_label(s)}" for s in sizes) + " rows; in the table separated by ·). 'Named the "
        "feature' is the share of batches whose flagged features include every changed one. The concept-drift "
        "batches change only the labels: a feature-drift monitor should stay quiet on them. An empty cell "
        "(table: n/a): the calibration cannot separate anything at that size."),
        ET.tostring(svg, encoding="unicode"), "\n".join(table + how))


def _timeline(tools: list[dict]) -> Figure:
    line: Timeline = tools[0]["timeline"]
    months, auc = line.months, line.auc
    left, col, top, auc_h, row_h = 150.0, 42.0, 24.0, 110.0, 26.0
    width = left + col * len(months) + 20
    svg = _svg(width, top + auc_h + 30 + row_h * len(tools) + 40, "Real months of 2013: drift score and true AUC")
    low, high = min(auc) - 0.02, max(auc) + 0.02

    def ay(v: float) -> float:
        return top + auc_h * (1 - (v - low) / (high - low))

    xs = [left + col * (i + 0.5) for i in range(len(months))]
    train = [i for i, m in enumerate(months) if m < 4]
    if train:
        ET.SubElement(svg, "rect", {"x": f"{left:.1f}", "y": f"{top:.1f}", "width": f"{col * len(train):.1f}",
                                    "height": f"{auc_h:.1f}", "fill": "#eee"})
        _text(svg, left + 4, top + 12, "training months", fill="#555")
    limit = line.auc_reference - line.tolerance
    _line(svg, left, ay(limit), left + col * len(months), ay(limit), stroke="#D55E00", **{"stroke-dasharray": "4 3"})
    _text(svg, left - 6, ay(limit) + 4, f"{limit:.3f}", **{"text-anchor": "end", "fill": "#D55E00"})
    _text(svg, left - 6, top + 10, "true AUC", **{"text-anchor": "end", "font-weight": "bold"})
    _poly(svg, [(x, ay(v)) for x, v in zip(xs, auc)], "#000", False)
    for x, v, deserved, month in zip(xs, auc, line.deserved, months):
        _dot(svg, x, ay(v), "#D55E00" if deserved else "#000", f"{MONTH_NAMES[month - 1]}: AUC {v:.3f}"
             + (" (deserves a warning)" if deserved else ""))
        _text(svg, x, top + auc_h + 16, MONTH_NAMES[month - 1], **{"text-anchor": "middle"})
    base = top + auc_h + 30
    for r, tool in enumerate(tools):
        t: Timeline = tool["timeline"]
        y = base + r * row_h + row_h / 2
        _text(svg, left - 6, y + 4, tool["name"], **{"text-anchor": "end"})
        biggest = max(t.score) or 1.0
        calibrated_months = t.calibrated if t.calibrated is not None else [None] * len(t.score)
        for x, month, score, default, calibrated in zip(xs, months, t.score, t.default, calibrated_months):
            radius = 2 + 8 * math.sqrt(max(score, 0) / biggest)
            attrs = {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": f"{radius:.1f}",
                     "fill": tool["colour"] if default else "#fff", "stroke": tool["colour"],
                     "stroke-width": "2.5" if calibrated else "1", "stroke-dasharray": "" if calibrated else "2 2"}
            circle = ET.SubElement(svg, "circle", attrs)
            ET.SubElement(circle, "title").text = (
                f"{tool['name']}, {MONTH_NAMES[month - 1]}: score {score:.3g}; "
                f"default warning {'yes' if default else 'no'}, "
                + (f"calibrated: {NO_CALIBRATION}" if calibrated is None else
                   f"calibrated warning {'yes' if calibrated else 'no'}"))
    _text(svg, 10, base + row_h * len(tools) + 16, "circle area = drift score, per tool relative to its largest month",
          fill="#555")
    _text(svg, 10, base + row_h * len(tools) + 30, "filled = warning with defaults; solid ring = warning with the "
          f"calibrated threshold (dashed ring: none, or the calibration {NO_CALIBRATION})", fill="#555")
    head = ("| | " + " | ".join(MONTH_NAMES[m - 1] for m in months)
            + " | Spearman ρ (score vs AUC loss) | Detection delay |")
    table = [head, "|" + "---|" * (len(months) + 3),
             "| True AUC | " + " | ".join(f"{'**' if d else ''}{v:.3f}{'**' if d else ''}"
                                         for v, d in zip(auc, line.deserved)) + " | | |"]
    for tool in tools:
        t = tool["timeline"]
        calibrated_months = t.calibrated if t.calibrated is not None else [False] * len(t.score)
        statistic = t.calibrated_score or [None] * len(t.score)
        cells = [f"{s:.3g}{'' if v is None else f' ({v:.3g})'}{' D' if d else ''}{' C' if c else ''}"
                 for s, v, d, c in zip(t.score, statistic, t.default, calibrated_months)]
        rho = t.rank_correlation
        calibrated_delay = t.delay_calibrated.text if t.delay_calibrated else f"calibration {NO_CALIBRATION}"
        table.append(f"| `{tool['name']}` | " + " | ".join(cells) + f" | {'—' if rho is None else f'{rho:.2f}'} | "
                     f"defaults: {t.delay_default.text}; calibrated: {calibrated_delay} |")
    return Figure("Real months of 2013", (
        f"Each month as a production batch of {line.rows:,} rows against the reference (training months "
        f"Jan–Mar). True AUC: the reference model on the whole month; bold (table) or orange (chart) where it falls "
        f"more than {line.tolerance} below the validation month's {line.auc_reference:.3f}, i.e. the month "
        "deserves a warning. Per tool: the dataset drift score (in brackets, the calibrated statistic where saturated "
        "features were left out), D = warning with defaults, C = warning with the calibrated threshold. "
        "Spearman ρ over the out-of-sample months Apr–Dec; detection delay with the months streamed in order."), ET.tostring(svg, encoding="unicode"), "\n".join(table))


def _performance(tools: list[dict]) -> Figure:
    with_estimates = [t for t in tools if t["performance"]]
    first: Performance = with_estimates[0]["performance"]
    months = first.months
    left, col, top, h = 60.0, 44.0, 20.0, 150.0
    values = [v for t in with_estimates for v in t["performance"].estimated + first.true]
    low, high = min(values) - 0.02, max(values) + 0.02
    svg = _svg(left + col * len(months) + 180, top + h + 40, "Estimated against true ROC AUC per month")

    def y(v: float) -> float:
        return top + h * (1 - (v - low) / (high - low))

    xs = [left + col * (i + 0.5) for i in range(len(months))]
    for tick in (low, (low + high) / 2, high):
        _text(svg, left - 6, y(tick) + 4, f"{tick:.2f}", **{"text-anchor": "end", "fill": "#555"})
    for x, month in zip(xs, months):
        _text(svg, x, top + h + 16, MONTH_NAMES[month - 1], **{"text-anchor": "middle"})
    _poly(svg, [(x, y(v)) for x, v in zip(xs, first.true)], "#000", False)
    labels = [(xs[-1] + 10, y(first.true[-1]), "true AUC (whole month)", "#000")]
    for tool in with_estimates:
        estimated = tool["performance"].estimated
        _poly(svg, [(x, y(v)) for x, v in zip(xs, estimated)], tool["colour"], True)
        for x, v, month in zip(xs, estimated, months):
            _dot(svg, x, y(v), tool["colour"], f"{tool['name']}, {MONTH_NAMES[month - 1]}: estimated {v:.3f}")
        labels.append((xs[-1] + 10, y(estimated[-1]), f"{tool['name']} estimate", tool["colour"]))
    _end_labels(svg, labels)
    table = ["| | " + " | ".join(MONTH_NAMES[m - 1] for m in months) + " | Concept drift month |",
             "|" + "---|" * (len(months) + 2),
             "| True AUC | " + " | ".join(f"{v:.3f}" for v in first.true) + f" | {first.concept.true:.3f} |"]
    for tool in with_estimates:
        perf = tool["performance"]
        table.append(f"| `{tool['name']}` estimate | " + " | ".join(f"{v:.3f}" for v in perf.estimated)
                     + f" | {perf.concept.estimated:.3f} |")
    return Figure("Performance estimated without labels", (
        f"ROC AUC estimated from {first.rows:,}-row batches of features and model scores only, against the model's "
        "true AUC on the whole month. Last column: the first production month with the label rule changed "
        "(concept drift): the scores, and so the estimate, do not move while the true AUC does."),
        ET.tostring(svg, encoding="unicode"), "\n".join(table))


def _cost(tools: list[dict]) -> Figure:
    sizes = _sizes(tools[0])
    left, top, w, h = 60.0, 20.0, 360.0, 160.0
    svg = _svg(left + w + 200, top + h + 60, "Time per check against batch size")
    series = {}
    for tool in tools:
        series[tool["name"]] = [(tool["metrics"].get(f"check_ms_{s}") or {}).get("median") for s in sizes]
    values = [v for vs in series.values() for v in vs if v]
    if values:
        low, high = math.log10(min(values) / 1.5), math.log10(max(values) * 1.5)
        xs = [left + 20 + i * (w - 40) / max(1, len(sizes) - 1) for i in range(len(sizes))]

        def y(v: float) -> float:
            return top + h * (1 - (math.log10(v) - low) / (high - low))

        for tick in (m * 10.0 ** e for e in range(math.floor(low), math.ceil(high) + 1) for m in (1, 2, 5)):
            if low <= math.log10(tick) <= high:
                _line(svg, left, y(tick), left + w, y(tick), stroke="#ddd")
                _text(svg, left - 6, y(tick) + 4, f"{tick:g} ms", **{"text-anchor": "end", "fill": "#555"})
        for x, size in zip(xs, sizes):
            _text(svg, x, top + h + 14, f"{_size_label(size)} rows", **{"text-anchor": "middle", "fill": "#555"})
        labels = []
        for tool in tools:
            points = [(x, y(v)) for x, v in zip(xs, series[tool["name"]]) if v]
            _poly(svg, points, tool["colour"], tool["baseline"])
            for (x, yy), v, size in zip(points, [v for v in series[tool["name"]] if v], sizes):
                _dot(svg, x, yy, tool["colour"], f"{tool['name']}, {_size_label(size)} rows: {v:.3g} ms per check")
            if points:
                labels.append((points[-1][0] + 8, points[-1][1], tool["name"], tool["colour"]))
        _end_labels(svg, labels)
    table = ["| Tool | " + " | ".join(f"ms per check, {_size_label(s)} rows" for s in sizes) + " | "
             + " | ".join(f"peak MB, {_size_label(s)} rows" for s in sizes) + " |", "|" + "---|" * (1 + 2 * len(sizes))]
    for tool in tools:
        times = []
        for size in sizes:
            entry = tool["metrics"].get(f"check_ms_{size}") or {}
            ci = entry.get("ci95") or [None, None]
            times.append(f"{number(entry['median'])} [{number(ci[0])}–{number(ci[1])}]"
                         if entry.get("median") and None not in ci else "—")
        peaks = tool["memory"].peak_mb if tool.get("memory") else tool["suite"].peak_mb
        table.append(f"| `{tool['name']}` | " + " | ".join(times) + " | "
                     + " | ".join(number(peaks[s]) if s in peaks else "—" for s in sizes) + " |")
    return Figure("Cost per check", (
        "Median time of one check (log scale) with its 95% interval over the repeated cost trials, and the peak "
        "memory one check allocated (tracemalloc: Python and NumPy buffers), by batch size."),
        ET.tostring(svg, encoding="unicode"), "\n".join(table))
