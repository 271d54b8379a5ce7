"""The cicd stage's own report figures, from results.json: push to verdict and to deploy per
tool, the per-job overhead (a + b x N), one good pipeline's timeline per tool, and each tool's
pipeline file beside the baseline's script. Host side, standard library only."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from bakeoff.drawing.figure import Figure
from bakeoff.stages.cicd.figures import Overhead, PipelineFiles, PushTimeline

COLOURS = {"good": "#009E73", "bad": "#D55E00", "deployed": "#0072B2"}  # Okabe-Ito
FAILED_STEP = "#D55E00"
OK_STEP = "#56B4E9"


def figures(stage: dict[str, Any]) -> list[Figure]:
    tools = ordered(stage)
    if not tools:
        return []
    out = [push_times(tools)]
    if any(Overhead.find(t) for _, t in tools):
        out.append(overhead_table(tools))
    if any(PushTimeline.find(t) for _, t in tools):
        out.append(timelines(tools))
    out += pipeline_files(tools)
    return out


def ordered(stage: dict[str, Any]) -> list[tuple[str, dict]]:
    raw = stage.get("tools") or {}
    return [(n, raw[n]) for n in sorted(raw, key=lambda n: (not raw[n].get("baseline"), n))]


def median(tool: dict, metric: str) -> float | None:
    found = (tool.get("metrics") or {}).get(metric)
    value = found.get("median") if found else None
    return value if isinstance(value, int | float) and math.isfinite(value) else None


def fmt(value: float | None, unit: str = " s") -> str:
    return "—" if value is None else f"{value:.2f}{unit}"


def svg_root(width: float, height: float, title: str) -> ET.Element:
    svg = ET.Element("svg", {"viewBox": f"0 0 {width:.0f} {height:.0f}", "width": f"{width:.0f}",
                             "height": f"{height:.0f}", "role": "img", "font-family": "system-ui, sans-serif",
                             "font-size": "11"})
    ET.SubElement(svg, "title").text = title
    return svg


def text(parent: ET.Element, x: float, y: float, value: str, **attrs: str) -> None:
    ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs}).text = value


def bar(parent: ET.Element, x: float, y: float, w: float, h: float, fill: str, label: str) -> None:
    rect = ET.SubElement(parent, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{max(w, 0.5):.1f}",
                                          "height": f"{h:.1f}", "fill": fill})
    ET.SubElement(rect, "title").text = label


# --- push to verdict and to deploy -----------------------------------------------------------

SERIES = (("good", "push_to_verdict_good_s", "verdict, good change"),
          ("bad", "push_to_verdict_bad_s", "verdict, bad change"),
          ("deployed", "push_to_deployed_s", "new model serving"))


def push_times(tools: list[tuple[str, dict]]) -> Figure:
    values = {n: [median(t, m) for _, m, _ in SERIES] for n, t in tools}
    top = max([v for vs in values.values() for v in vs if v is not None] or [1.0])
    label_w, plot_w, row_h = 130, 420, 12
    height = len(tools) * (row_h * 3 + 14) + 30
    svg = svg_root(label_w + plot_w + 80, height, "Push to verdict and push to deployed, per tool (median, s)")
    y = 8
    for name, _ in tools:
        text(svg, 4, y + row_h * 1.8, name, **{"font-weight": "bold"})
        for (key, _, label), value in zip(SERIES, values[name]):
            if value is not None:
                bar(svg, label_w, y, value / top * plot_w, row_h - 2, COLOURS[key], f"{name}: {label} {value:.2f} s")
                text(svg, label_w + value / top * plot_w + 4, y + row_h - 3, f"{value:.1f} s")
            y += row_h
        y += 14
    x = 4
    for key, _, label in SERIES:
        bar(svg, x, height - 16, 10, 10, COLOURS[key], label)
        text(svg, x + 14, height - 7, label)
        x += 150
    rows = ["| tool | push to verdict, good | push to verdict, bad | push to deployed |", "|---|---:|---:|---:|"]
    rows += [f"| {n} | " + " | ".join(fmt(v) for v in values[n]) + " |" for n, _ in tools]
    return Figure(title="Push to verdict and to deploy",
                  caption=("Seconds from `git push` to the tool's verdict on the good change (model as good as the "
                           "reference) and on the bad change (shuffled labels, blocked at the gate), and to the new "
                           "model serving behind its health check. Medians over the measured rounds."),
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


# --- per-job overhead ------------------------------------------------------------------------

def overhead_table(tools: list[tuple[str, dict]]) -> Figure:
    sizes = sorted({n for _, t in tools if (o := Overhead.find(t)) for n in o.seconds})
    rows = ["| tool | a: per pipeline | b: per job | " + " | ".join(f"N={n}" for n in sizes) + " |",
            "|---|---:|---:|" + "---:|" * len(sizes)]
    label_w, plot_w, row_h = 130, 380, 16
    top = max([v for _, t in tools if (o := Overhead.find(t)) for v in o.seconds.values()] or [1.0])
    svg = svg_root(label_w + plot_w + 80, len(tools) * row_h * 2 + 20, "Push to verdict of N empty jobs")
    y = 6
    for name, tool in tools:
        found = Overhead.find(tool)
        a, b = median(tool, "pipeline_fixed_s"), median(tool, "per_job_s")
        cells = [fmt((found.seconds if found else {}).get(n)) for n in sizes]
        rows.append(f"| {name} | {fmt(a)} | {fmt(b)} | " + " | ".join(cells) + " |")
        text(svg, 4, y + 12, name, **{"font-weight": "bold"})
        if a is not None and b is not None:
            end = a + b * max(sizes)
            bar(svg, label_w, y, a / top * plot_w, row_h - 4, "#999999", f"{name}: a = {a:.2f} s")
            bar(svg, label_w + a / top * plot_w, y, max(b * max(sizes), 0) / top * plot_w, row_h - 4, "#0072B2",
                f"{name}: b x {max(sizes)} = {b * max(sizes):.2f} s")
            text(svg, label_w + end / top * plot_w + 4, y + 11, f"a {a:.2f} s + b {b:.2f} s x N")
        y += row_h * 2
    return Figure(title="Per-job overhead",
                  caption=("Push to verdict of pipelines of N empty jobs in a row, fitted as a + b x N: a is what "
                           "every pipeline costs (hook, checkout, scheduling), b what each further job adds. The bar "
                           f"shows a (grey) and b x {max(sizes) if sizes else 'N'} (blue); medians over the rounds."),
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


# --- one pipeline per tool, job by job -------------------------------------------------------

def timelines(tools: list[tuple[str, dict]]) -> Figure:
    runs = [(n, r) for n, t in tools if (p := PushTimeline.find(t)) for r in p.runs if r.change == "good"]
    top = max([max([j.end_s for j in r.jobs] + [r.verdict_s, r.deployed_s or 0]) for _, r in runs] or [1.0])
    label_w, plot_w, row_h = 130, 460, 14
    lanes = {n: sorted({j.job for j in r.jobs}, key=lambda s: min(j.start_s for j in r.jobs if j.job == s))
             for n, r in runs}
    height = sum(len(v) * row_h + 26 for v in lanes.values()) + 24
    svg = svg_root(label_w + plot_w + 60, height, "One good pipeline per tool: each job's run, seconds after the push")
    rows = ["| tool | job | start s | end s | exit |", "|---|---|---:|---:|---:|"]
    y = 6

    def at(seconds: float) -> float:
        return label_w + seconds / top * plot_w

    for name, run in runs:
        text(svg, 4, y + 12, name, **{"font-weight": "bold"})
        y += 16
        for lane in lanes[name]:
            text(svg, 14, y + row_h - 4, lane, fill="#333")
            for job in (j for j in run.jobs if j.job == lane):
                bar(svg, at(job.start_s), y + 1, at(job.end_s) - at(job.start_s), row_h - 3,
                    OK_STEP if job.code == 0 else FAILED_STEP, f"{name} {job.job}: {job.start_s:.2f}-{job.end_s:.2f} s")
                rows.append(f"| {name} | {job.job} | {job.start_s:.2f} | {job.end_s:.2f} | {job.code} |")
            y += row_h
        for seconds, colour, label in ((run.verdict_s, COLOURS["good"], "verdict"),
                                       (run.deployed_s, COLOURS["deployed"], "serving")):
            if seconds is not None:
                ET.SubElement(svg, "line", {"x1": f"{at(seconds):.1f}", "x2": f"{at(seconds):.1f}",
                                            "y1": f"{y - len(lanes[name]) * row_h:.1f}", "y2": f"{y:.1f}",
                                            "stroke": colour, "stroke-width": "2"})
                rows.append(f"| {name} | ({label}) | {seconds:.2f} | | |")
        y += 10
    text(svg, 4, height - 6, "bars: a job's step as ci/step.sh timed it · green line: verdict · blue line: new "
                             "model serving · gaps between bars are the tool's own time")
    return Figure(title="One pipeline, job by job",
                  caption=("The good change's pipeline in one measured round, per tool, in seconds after `git push`: "
                           "each bar is one job's work as the repository's ci/step.sh timed it (the same clock for "
                           "every tool); what lies between the bars, and before the first, is the tool's own time."),
                  svg=ET.tostring(svg, encoding="unicode"), text="\n".join(rows))


# --- the pipeline files ------------------------------------------------------------------------

def pipeline_files(tools: list[tuple[str, dict]]) -> list[Figure]:
    found = [(n, f) for n, t in tools if (f := PipelineFiles.find(t))]
    if not found:
        return []
    baseline_name, baseline = found[0]
    out = []
    for name, files in found[1:] or found[:1]:
        columns = [(f"{baseline_name}: {p}", body) for p, body in baseline.files.items()]
        if name != baseline_name:
            where = "in the repository" if files.in_repo else "on the CI server, not in the repository"
            columns += [(f"{name}: {p} ({where})", body) for p, body in files.files.items()]
        out.append(Figure(
            title=f"Pipeline file: {name} beside {baseline_name}" if name != baseline_name else f"Pipeline: {name}",
            caption=("The same ML pipeline (lint, test, train, evaluate, gate, register, deploy: every job calls "
                     "ci/step.sh) as the baseline's shell script and as the tool's own file, exactly as rendered."),
            svg=code_columns(columns), text="\n\n".join(f"`{title}`\n\n```\n{body.rstrip()}\n```"
                                                        for title, body in columns)))
    return out


def code_columns(columns: list[tuple[str, str]], char_w: float = 5.6, line_h: float = 11.5) -> str:
    widths = [min(max(len(line) for line in [title, *body.splitlines()]), 110) * char_w + 16 for title, body in columns]
    lines = max(len(body.splitlines()) for _, body in columns)
    svg = svg_root(sum(widths) + 8, (lines + 2) * line_h + 12, "Pipeline files side by side")
    x = 4
    for (title, body), width in zip(columns, widths):
        text(svg, x, line_h, title, **{"font-weight": "bold"})
        block = ET.SubElement(svg, "text", {"x": f"{x:.1f}", "y": f"{2 * line_h + 4:.1f}",
                                            "font-family": "ui-monospace, monospace", "font-size": "9.5",
                                            "xml:space": "preserve"})
        for index, line in enumerate(body.splitlines()):
            span = ET.SubElement(block, "tspan", {"x": f"{x:.1f}", "dy": "0" if index == 0 else f"{line_h}"})
            span.text = line[:110] or " "
        x += width
    return ET.tostring(svg, encoding="unicode")
