"""The orchestration stage's own figures, from results.json: run time against N no-op tasks
with each tool's fitted line a + b*N, the a/b table with intervals, the pipeline with data
passed by path beside the same pipeline with each tool's idiomatic passing (labelled: what
passes how), and one warm pipeline run per tool as a timeline from the tool's own task
timestamps. Host side, standard library only;
the probe matrix and ratio charts are the report's generic ones."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from bakeoff.drawing.figure import Figure
from bakeoff.drawing.numbers import number
from bakeoff.stages.orchestration.figures import FanOutFit, PipelineTimeline

COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]  # Okabe-Ito
BASELINE_COLOUR = "#555555"
TASK_COLOURS = {"prepare": "#0072B2", "features": "#009E73", "train": "#D55E00", "evaluate": "#CC79A7",
                "register": "#E69F00"}


def figures(stage: dict[str, Any]) -> list[Figure]:
    tools = _tools(stage)
    out = []
    fits = [(t, FanOutFit.find(t)) for t in tools]
    fits = [(t, f) for t, f in fits if f is not None and f.points]
    if fits:
        out.append(_time_against_n(fits))
        out.append(_fit_table(tools))
    if any(_metric(t, "pipeline_seconds") or (t.get("facts") or {}).get("passing") for t in tools):
        out.append(_passing_table(tools))
    timelines = [(t, PipelineTimeline.find(t)) for t in tools]
    timelines = [(t, tl) for t, tl in timelines if tl is not None and tl.bars]
    if timelines:
        out.append(_gantt(timelines))
    return out


def _tools(stage: dict[str, Any]) -> list[dict[str, Any]]:
    raw = stage.get("tools") or {}
    names = sorted(raw, key=lambda n: (not raw[n].get("baseline"), n))
    return [{**raw[n], "name": n,
             "colour": BASELINE_COLOUR if raw[n].get("baseline") else COLOURS[i % len(COLOURS)]}
            for i, n in enumerate(names)]


def _metric(tool: dict, name: str) -> dict:
    return (tool.get("metrics") or {}).get(name) or {}


def _svg(width: int, height: int, title: str) -> ET.Element:
    svg = ET.Element("svg", {"viewBox": f"0 0 {width} {height}", "width": str(width), "height": str(height),
                             "role": "img", "font-family": "system-ui, sans-serif", "font-size": "11"})
    ET.SubElement(svg, "title").text = title
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    element = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": "#333", **attrs})
    element.text = text


def _time_against_n(fits: list[tuple[dict, FanOutFit]]) -> Figure:
    width, height, left, right, top, bottom = 640, 320, 56, 170, 16, 40
    n_max = max(p.n for _, f in fits for p in f.points)
    y_max = max(max(p.seconds for p in f.points) for _, f in fits) * 1.1 or 1.0
    svg = _svg(width, height, "Run time against N no-op tasks, with each tool's fitted line a + b*N")

    def x(n: float) -> float:
        return left + n / n_max * (width - left - right)

    def y(s: float) -> float:
        return top + (1 - s / y_max) * (height - top - bottom)

    ET.SubElement(svg, "line", {"x1": str(left), "y1": str(y(0)), "x2": str(width - right), "y2": str(y(0)), "stroke": "#999"})
    ET.SubElement(svg, "line", {"x1": str(left), "y1": str(top), "x2": str(left), "y2": str(y(0)), "stroke": "#999"})
    for tick in (0, y_max / 2, y_max):
        _text(svg, left - 6, y(tick) + 4, number(tick), **{"text-anchor": "end"})
    for n in sorted({p.n for _, f in fits for p in f.points} | {0}):
        _text(svg, x(n), y(0) + 14, str(n), **{"text-anchor": "middle"})
    _text(svg, (left + width - right) / 2, height - 6, "N no-op tasks", **{"text-anchor": "middle"})
    _text(svg, 4, top + 4, "s")
    rows = ["| tool | N | run time (s, one trial) | fitted a + b*N (s) |", "|---|---:|---:|---:|"]
    for index, (tool, fit) in enumerate(fits):
        a = _metric(tool, "fixed_cost_seconds").get("median", fit.a_seconds)
        b_ms = _metric(tool, "per_task_ms").get("median", fit.b_seconds * 1000)
        b = b_ms / 1000
        ends = [(0, a), (n_max, a + b * n_max)]
        clipped = [(n, max(0.0, min(s, y_max))) for n, s in ends]
        ET.SubElement(svg, "line", {"x1": f"{x(clipped[0][0]):.1f}", "y1": f"{y(clipped[0][1]):.1f}",
                                    "x2": f"{x(clipped[1][0]):.1f}", "y2": f"{y(clipped[1][1]):.1f}",
                                    "stroke": tool["colour"], "stroke-width": "1.5"})
        for point in fit.points:
            ET.SubElement(svg, "circle", {"cx": f"{x(point.n):.1f}", "cy": f"{y(point.seconds):.1f}", "r": "3",
                                          "fill": tool["colour"]})
            rows.append(f"| {tool['name']} | {point.n} | {number(point.seconds)} | {number(a + b * point.n)} |")
        _text(svg, width - right + 8, top + 12 + index * 15, tool["name"], fill=tool["colour"])
    return Figure(title="Run time against the number of tasks",
                  caption="Fan-out of N no-op tasks: wall time of one run (seconds, dots: the last measured trial) "
                          "and each tool's line a + b*N with the medians of a and b over the measured trials.",
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


def _interval(metric: dict) -> str:
    ci = metric.get("ci95")
    if not metric or ci is None:
        return "—"
    return f"{number(metric['median'])} [{number(ci[0])}, {number(ci[1])}]"


def _fit_table(tools: list[dict]) -> Figure:
    rows = ["| tool | fixed cost a (s) | per-task overhead b (ms) | pipeline (s) | parallel efficiency |",
            "|---|---:|---:|---:|---:|"]
    width, line = 640, 18
    svg = _svg(width, line * (len(tools) + 2), "Fixed cost and per-task overhead, median [95% interval]")
    heads = ["tool", "a (s)", "b (ms)", "pipeline (s)", "parallel eff."]
    columns = [8, 200, 330, 460, 560]
    for x, head in zip(columns, heads):
        _text(svg, x, line, head, **{"font-weight": "bold"})
    for index, tool in enumerate(tools):
        cells = [tool["name"], _interval(_metric(tool, "fixed_cost_seconds")), _interval(_metric(tool, "per_task_ms")),
                 _interval(_metric(tool, "pipeline_seconds")), _interval(_metric(tool, "parallel_efficiency"))]
        rows.append("| " + " | ".join(cells) + " |")
        for x, cell in zip(columns, cells):
            _text(svg, x, line * (index + 2), cell, fill=tool["colour"] if x == 8 else "#333")
    return Figure(title="Fixed cost a and per-task overhead b",
                  caption="time = a + b*N fitted per trial over the fan-out sizes; median over the measured trials "
                          "with its 95% bootstrap interval. Pipeline: the warm run, prepare to register.",
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


def _passing_table(tools: list[dict]) -> Figure:
    """The pipeline by path (the comparison) and with the tool's own passing, never mixed: two
    columns, each with its label."""
    rows = ["| tool | by path (s) | idiomatic passing (s) | how, by path | how, idiomatically |",
            "|---|---:|---:|---|---|"]
    width, line = 640, 18
    svg = _svg(width, line * (len(tools) + 2), "Pipeline wall time: data by path against each tool's own passing")
    columns = [8, 200, 360]
    for x, head in zip(columns, ["tool", "by path (s)", "idiomatic passing (s)"]):
        _text(svg, x, line, head, **{"font-weight": "bold"})
    for index, tool in enumerate(tools):
        facts = tool.get("facts") or {}
        value = facts.get("passing_value", "")
        idiomatic = _interval(_metric(tool, "pipeline_value_seconds"))
        if idiomatic == "—" and value.startswith("unsupported"):
            idiomatic = "unsupported"
        cells = [tool["name"], _interval(_metric(tool, "pipeline_seconds")), idiomatic]
        rows.append("| " + " | ".join([*cells, facts.get("passing", "—"), value or "—"]).replace("\n", " ") + " |")
        for x, cell in zip(columns, cells):
            _text(svg, x, line * (index + 2), cell, fill=tool["colour"] if x == 8 else "#333")
    return Figure(title="Data passing: by path and each tool's own way",
                  caption="The warm pipeline, median [95% interval] over the measured trials. By path: every task "
                          "writes its output file and returns a reference string (the comparison, in the ratios). "
                          "Idiomatic: the frames and the model pass the tool's own way (the last column says how), "
                          "measured in the same trials, shown apart and not scored. Outputs equal the baseline's "
                          "bit for bit in both.",
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


def _gantt(timelines: list[tuple[dict, PipelineTimeline]]) -> Figure:
    width, left, right, lane, top = 640, 130, 16, 22, 20
    span = max(max(tl.wall_seconds, max(b.end for b in tl.bars)) for _, tl in timelines) or 1.0
    height = top + lane * len(timelines) + 40
    svg = _svg(width, height, "One warm pipeline run per tool, from the tool's own task timestamps")

    def x(s: float) -> float:
        return left + max(0.0, s) / span * (width - left - right)

    rows = ["| tool | task | start (s after trigger) | end (s) | attempts | timestamps from |", "|---|---|---:|---:|---:|---|"]
    for index, (tool, timeline) in enumerate(timelines):
        y = top + index * lane
        _text(svg, 4, y + 14, tool["name"], fill=tool["colour"])
        ET.SubElement(svg, "line", {"x1": f"{x(0):.1f}", "y1": f"{y + 18}", "x2": f"{x(timeline.wall_seconds):.1f}",
                                    "y2": f"{y + 18}", "stroke": "#bbb"})
        for bar in timeline.bars:
            rect = ET.SubElement(svg, "rect", {"x": f"{x(bar.start):.1f}", "y": f"{y + 3}",
                                               "width": f"{max(1.0, x(bar.end) - x(bar.start)):.1f}", "height": "13",
                                               "fill": TASK_COLOURS.get(bar.task, "#888")})
            ET.SubElement(rect, "title").text = f"{bar.task}: {bar.start:.2f}–{bar.end:.2f} s"
            rows.append(f"| {tool['name']} | {bar.task} | {bar.start:.3f} | {bar.end:.3f} | {bar.attempts} | {timeline.source} |")
    legend_y = top + lane * len(timelines) + 14
    for i, (task, colour) in enumerate(TASK_COLOURS.items()):
        ET.SubElement(svg, "rect", {"x": str(left + i * 95), "y": str(legend_y - 9), "width": "10", "height": "10", "fill": colour})
        _text(svg, left + i * 95 + 14, legend_y, task)
    _text(svg, left, legend_y + 18, f"0 to {number(span)} s after the trigger; grey line: until the run call returned")
    return Figure(title="One pipeline run per tool",
                  caption="Each task's start and end in seconds after the run was triggered, from the tool's own "
                          "records (the table names the source; tools that keep none show the task functions' markers).",
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))
