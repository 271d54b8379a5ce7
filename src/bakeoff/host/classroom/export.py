"""`bakeoff export RUN --format csv,latex,svg`: a run's tables and charts, for a paper.

Tables: per-stage metrics with their 95% intervals and ratios to the baseline, the probe matrix,
and the decision (from host/decide, under the run's own profile or --profile). CSV keeps full
precision; LaTeX is a small booktabs document (bakeoff-tables.tex) that \\input's one file per
table, so a paper can \\input a single table. Charts are the report's own SVG (the ratio chart,
each stage's figures, the decision's score chart) written as standalone files: nothing is drawn
twice. Host side.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from bakeoff.drawing import numbers as fmt
from bakeoff.host.decide import Decision, Profile, decide, saved_profile
from bakeoff.host.registry import ConfigError
from bakeoff.host.report import build_report
from bakeoff.host.report.stage import slug

FORMATS = ("csv", "latex", "svg")
SVG_NS = "http://www.w3.org/2000/svg"
PROBE_SHORT = {"pass": "pass", "fail": "fail", "unsupported": "unsup.", None: "--"}


def parse_formats(text: str) -> list[str]:
    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ConfigError(f"unknown export format {', '.join(unknown) or repr(text)}; fix: choose from "
                          f"{', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(chosen))


def run_decision(results: dict[str, Any], run_dir: Path, profile: Profile | None) -> Decision | None:
    """The decision under --profile, else under the profile the run's decision.json was made with."""
    chosen = profile or saved_profile(run_dir)
    return decide(results, chosen) if chosen is not None else None


# -- the tables, as rows ---------------------------------------------------------------------------

def _tools(stage: dict[str, Any]) -> list[str]:
    baseline = stage.get("baseline")
    return sorted(stage.get("tools") or {}, key=lambda n: n != baseline)


def _bound(ci: Any, i: int) -> Any:
    return ci[i] if isinstance(ci, (list, tuple)) and len(ci) == 2 else ""


def metric_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage · tool · metric; a figure the run did not measure stays empty."""
    rows = []
    for key, stage in results["stages"].items():
        for tool in _tools(stage):
            row = stage["tools"][tool]
            for name, meta in (stage.get("metrics") or {}).items():
                entry = (row.get("metrics") or {}).get(name) or {}
                ratio = entry.get("ratio") or {}
                rows.append({
                    "stage": key, "tool": tool, "status": row.get("status", ""), "baseline": tool == stage.get("baseline"),
                    "metric": name, "label": meta.get("label", name), "unit": meta.get("unit", ""),
                    "better": meta.get("better", ""), "headline": bool(meta.get("headline")),
                    "n": entry.get("n", ""), "median": entry.get("median", ""),
                    "ci95_low": _bound(entry.get("ci95"), 0), "ci95_high": _bound(entry.get("ci95"), 1),
                    "cv": entry.get("cv", ""), "unstable": entry.get("unstable", ""),
                    "ratio_median": ratio.get("median", ""), "ratio_ci95_low": _bound(ratio.get("ci95"), 0),
                    "ratio_ci95_high": _bound(ratio.get("ci95"), 1), "verdict": entry.get("verdict", ""),
                })
    return rows


def probe_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, stage in results["stages"].items():
        for tool in _tools(stage):
            outcomes = stage["tools"][tool].get("probes") or {}
            for name, meta in (stage.get("probes") or {}).items():
                outcome = outcomes.get(name) or {}
                rows.append({"stage": key, "tool": tool, "probe": name, "label": meta.get("label", name),
                             "core": bool(meta.get("core")), "status": outcome.get("status", "not run"),
                             "evidence": outcome.get("evidence", "")})
    return rows


def decision_rows(decision: Decision | None) -> list[dict[str, Any]]:
    if decision is None:
        return []
    return [{"stage": s.stage, "profile": decision.profile.name, "kind": s.verdict.kind,
             "recommended": s.verdict.recommended or "", "tied": ", ".join(s.verdict.tied),
             "runner_up": s.verdict.runner_up or "", "headline": s.verdict.headline,
             "stability": s.verdict.stability, "excluded": ", ".join(e.tool for e in s.excluded)}
            for s in decision.stages]


def ranking_rows(decision: Decision | None) -> list[dict[str, Any]]:
    rows = []
    for s in decision.stages if decision else []:
        for c in s.candidates:
            rows.append({"stage": s.stage, "rank": c.rank, "tool": c.tool, "title": c.title,
                         "total": c.total.point, "total_low": c.total.low, "total_high": c.total.high,
                         "excluded": False, "reasons": ""})
        for e in s.excluded:
            rows.append({"stage": s.stage, "rank": "", "tool": e.tool, "title": e.title, "total": "",
                         "total_low": "", "total_high": "", "excluded": True, "reasons": "; ".join(e.reasons)})
    return rows


# -- CSV -------------------------------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


METRIC_HEADER = ["stage", "tool", "status", "baseline", "metric", "label", "unit", "better", "headline", "n",
                 "median", "ci95_low", "ci95_high", "cv", "unstable", "ratio_median", "ratio_ci95_low",
                 "ratio_ci95_high", "verdict"]
PROBE_HEADER = ["stage", "tool", "probe", "label", "core", "status", "evidence"]
DECISION_HEADER = ["stage", "profile", "kind", "recommended", "tied", "runner_up", "headline", "stability", "excluded"]
RANKING_HEADER = ["stage", "rank", "tool", "title", "total", "total_low", "total_high", "excluded", "reasons"]


def export_csv(results: dict[str, Any], decision: Decision | None, out: Path) -> list[Path]:
    written = [write_csv(out / "metrics.csv", metric_rows(results), METRIC_HEADER),
               write_csv(out / "probes.csv", probe_rows(results), PROBE_HEADER)]
    if decision is not None:
        written += [write_csv(out / "decision.csv", decision_rows(decision), DECISION_HEADER),
                    write_csv(out / "ranking.csv", ranking_rows(decision), RANKING_HEADER)]
    return written


# -- LaTeX -----------------------------------------------------------------------------------------

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "×": r"$\times$", "–": "--", "—": "---", "\u00a0": "~", "·": r"$\cdot$", "≥": r"$\geq$",
                 "≤": r"$\leq$", "±": r"$\pm$", "µ": r"$\mu$", "→": r"$\to$", "…": r"\dots{}",
                 "↓": r"$\downarrow$", "↑": r"$\uparrow$", "’": "'", "“": "``", "”": "''"}


def tex(value: Any) -> str:
    """Text safe for pdflatex with its default fonts: specials escaped, a character it cannot set
    written as its ASCII letters (é -> e) or '?'."""
    out = []
    text = str(value)
    for i, ch in enumerate(text):
        if ch == "-" and text[i + 1:i + 2] == "-":  # "--quick" stays two hyphens, not an en dash
            out.append("-{}")
        elif ch in LATEX_SPECIAL:
            out.append(LATEX_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(tex(plain) if plain else "?")
    return "".join(out)


def _table(caption: str, label: str, spec: str, header: list[str], body: list[list[str]], *,
           note: str = "", wide: bool = False) -> str:
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small", rf"\caption{{{caption}}}", rf"\label{{{label}}}"]
    lines.append(r"\resizebox{\linewidth}{!}{%" if wide else "")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(cells) + r" \\" for cells in body]
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if wide else "")]
    if note:
        lines += [r"\par\smallskip", rf"\parbox{{\linewidth}}{{\footnotesize {note}}}"]
    lines.append(r"\end{table}")
    return "\n".join(line for line in lines if line) + "\n"


def _columns(n: int, first: str = "l", reserve: str = "3cm") -> str:
    """A first column as wide as it needs, then n ragged columns sharing the rest of the line."""
    width = rf"\dimexpr(\linewidth-{reserve})/{n}-2\tabcolsep\relax"
    return first + (rf">{{\raggedright\arraybackslash}}p{{{width}}}" * n)


def metrics_table(key: str, stage: dict[str, Any]) -> str:
    metrics = {k: m for k, m in (stage.get("metrics") or {}).items() if m.get("headline")} or stage.get("metrics") or {}
    header = ["Tool"] + [tex(f"{m.get('label', k)} ({m.get('unit', '')})".replace(" ()", "")) for k, m in metrics.items()]
    body = []
    for tool in _tools(stage):
        row = stage["tools"][tool]
        figures = [(row.get("metrics") or {}).get(name) or {} for name in metrics]
        body.append([tex(tool) + (" (baseline)" if tool == stage.get("baseline") else "")]
                    + [tex(fmt.estimate(e.get("median"), e.get("ci95"))) for e in figures])
        ratios = [e.get("ratio") or {} for e in figures]
        if any(fmt.is_number(r.get("median")) for r in ratios):  # a second, smaller line: the ratio
            body.append([""] + [r"\footnotesize " + tex(fmt.ratio(r["median"], r.get("ci95")))
                                if fmt.is_number(r.get("median")) else "" for r in ratios])
    caption = tex(f"{stage.get('title', key)}: median [95% bootstrap interval] per tool; below it, the ratio to "
                  f"the baseline ({stage.get('baseline')}) taken pairwise within each repeat round.")
    return _table(caption, f"tab:metrics-{slug(key)}", _columns(len(metrics)), header, body)


def probes_table(key: str, stage: dict[str, Any]) -> str:
    probes = stage.get("probes") or {}
    header = ["Tool"] + [str(i) for i in range(1, len(probes) + 1)]
    body = [[tex(tool)] + [PROBE_SHORT.get(((stage["tools"][tool].get("probes") or {}).get(p) or {}).get("status"), "--")
                           for p in probes] for tool in _tools(stage)]
    legend = "; ".join(f"{i} {tex(name)}: {tex(meta.get('label', name))}{' (core)' if meta.get('core') else ''}"
                       for i, (name, meta) in enumerate(probes.items(), 1))
    return _table(tex(f"{stage.get('title', key)}: probe outcomes (pass, fail, unsup. = unsupported, -- = not run)."),
                  f"tab:probes-{slug(key)}", "l" + "c" * len(probes), header, body, note=legend,
                  wide=len(probes) > 8)


def decision_table(decision: Decision) -> str:
    body = [[tex(r["stage"]), tex(r["recommended"] or r["tied"] or "none"), tex(r["runner_up"] or "--"),
             tex(r["excluded"] or "--"), tex(r["stability"])] for r in decision_rows(decision)]
    ranking = [[tex(r["stage"]), tex(r["rank"]), tex(r["tool"]), tex(fmt.estimate(r["total"], [r["total_low"], r["total_high"]]))]
               for r in ranking_rows(decision) if not r["excluded"]]
    return (_table(tex(f"Decision under the profile {decision.profile.name}: the recommended tool per stage."),
                   "tab:decision", _columns(4, reserve="2.5cm"),
                   ["Stage", "Recommended", "Runner-up", "Excluded", "Stability"], body)
            + _table(tex("Ranking of the candidates: weighted score [95% interval]; a range of ranks means the "
                         "intervals allow either place."), "tab:ranking", "lllr", ["Stage", "Rank", "Tool", "Score"],
                     ranking))


def document(results: dict[str, Any], parts: list[str]) -> str:
    inputs = "\n".join(rf"\input{{{p}}}" + ("\n\\clearpage" if p.startswith("probes-") else "") for p in parts)
    return "\n".join([
        r"\documentclass[a4paper,10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{array}",
        r"\usepackage{graphicx}",
        r"\begin{document}",
        rf"\section*{{Bake-off run {tex(results.get('run_id', ''))}}}",
        tex(f"Written by bakeoff export from the run's results.json; command: {results.get('command', '')}."),
        inputs,
        r"\end{document}",
        "",
    ])


def export_latex(results: dict[str, Any], decision: Decision | None, out: Path) -> list[Path]:
    tables: dict[str, str] = {}
    for key, stage in results["stages"].items():
        tables[f"metrics-{slug(key)}"] = metrics_table(key, stage)
        tables[f"probes-{slug(key)}"] = probes_table(key, stage)
    if decision is not None:
        tables["decision"] = decision_table(decision)
    written = []
    for name, text in tables.items():
        (out / f"{name}.tex").write_text(text, encoding="utf-8")
        written.append(out / f"{name}.tex")
    main = out / "bakeoff-tables.tex"
    main.write_text(document(results, list(tables)), encoding="utf-8")
    return [main, *written]


# -- SVG -------------------------------------------------------------------------------------------

def standalone_svg(svg: str) -> str:
    """An inline SVG of the report as a file of its own: with its namespace and an XML declaration."""
    opening = re.match(r"\s*<svg\b[^>]*>", svg)
    if opening and "xmlns=" not in opening.group(0):
        svg = svg.replace("<svg", f'<svg xmlns="{SVG_NS}"', 1)
    ET.fromstring(svg)  # well-formed, or this is a bug in the drawing code
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg.strip() + "\n"


def export_svg(results: dict[str, Any], run_dir: Path, decision: Decision | None, out: Path) -> list[Path]:
    view = build_report(results, run_dir, decision)
    charts: dict[str, str] = {}
    for stage in view.stages:
        if stage.chart_svg:
            charts[f"ratios-{slug(stage.key)}"] = stage.chart_svg
        for figure in stage.figures:
            charts[f"{slug(stage.key)}-{slug(figure.title)}"] = figure.svg
        if stage.verdict is not None and stage.verdict.chart_svg:
            charts[f"scores-{slug(stage.key)}"] = stage.verdict.chart_svg
    written = []
    for name, svg in charts.items():
        (out / f"{name}.svg").write_text(standalone_svg(svg), encoding="utf-8")
        written.append(out / f"{name}.svg")
    return written


def export(results: dict[str, Any], run_dir: Path, out: Path, formats: list[str],
           profile: Profile | None = None) -> list[Path]:
    """Write the chosen formats into `out`; returns the files written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out} ({exc.strerror}); fix: pass --out a writable folder") from None
    decision = run_decision(results, run_dir, profile)
    written: list[Path] = []
    if "csv" in formats:
        written += export_csv(results, decision, out)
    if "latex" in formats:
        written += export_latex(results, decision, out)
    if "svg" in formats:
        written += export_svg(results, run_dir, decision, out)
    return written
