"""`bakeoff grade RUN`: partial credit for a tool's proof of concept, from evidence only.

A rubric (TOML; host/kit/rubric.toml is the default) weighs criteria bakeoff knows. Each
criterion checks a list of items (a core probe passed, a POC.md section written, a `why` for a
configuration...), splits its points equally over them, and every item says what earned it or
why not and where that is (a JSON pointer into results.json, a line of POC.md, tool.toml).
Written as Markdown, JSON and JUnit XML: one test case per item, so a classroom autograder that
gives all or nothing per test still gives partial credit. Host side.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable
from xml.etree import ElementTree as ET

from bakeoff.drawing import numbers as fmt
from bakeoff.host.registry import ConfigError

# The headings of a tool-evaluation rubric, as POC.md (host/kit/POC.md.j2) writes them.
POC_SECTIONS = ["The problem the tool addresses", "How it serves the stage", "The same work against the baseline",
                "Strengths and limitations", "Evidence", "Recommendation"]
NOT_YET = "not implemented yet"
OUTSIDE_VARIABLE = "BAKEOFF_TOOLS_PATH"


@dataclass(frozen=True)
class Item:
    name: str
    earned: float
    possible: float
    evidence: str  # what earned the points, or why not
    where: str  # results.json#/json/pointer, POC.md:LINE, tool.toml


@dataclass
class CriterionGrade:
    name: str
    points: float
    items: list[Item] = field(default_factory=list)

    @property
    def earned(self) -> float:
        return sum(i.earned for i in self.items)


@dataclass
class Grade:
    run_id: str
    stage: str
    tool: str
    rubric: str
    criteria: list[CriterionGrade]

    @property
    def earned(self) -> float:
        return sum(c.earned for c in self.criteria)

    @property
    def possible(self) -> float:
        return sum(c.points for c in self.criteria)

    @property
    def percent(self) -> float:
        return 100 * self.earned / self.possible if self.possible else 0.0


@dataclass(frozen=True)
class Evidence:
    """What a grade is made from: the run's results, the tool's row in it, its POC.md text."""

    results: dict[str, Any]
    stage: str
    entry: str
    row: dict[str, Any]
    poc: str | None  # POC.md's text, None when not found
    poc_name: str  # how the grade names the file


# -- criteria ---------------------------------------------------------------------------------

def _pointer(ev: Evidence, *parts: str) -> str:
    return "results.json#/" + "/".join(["stages", ev.stage, "tools", ev.entry, *parts])


def _stage(ev: Evidence) -> dict[str, Any]:
    return ev.results["stages"][ev.stage]


def correctness(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    status, reason = ev.row.get("status"), ev.row.get("reason") or ""
    checks = [("workload checks", status == "ok",
               "every measured trial finished ok: the workload checks what the tool gave back before any figure"
               if status == "ok" else f"{status}: {reason}", _pointer(ev, "status"))]
    for name, meta in (_stage(ev).get("probes") or {}).items():
        if isinstance(meta, dict) and meta.get("core"):
            outcome = (ev.row.get("probes") or {}).get(name)
            checks.append((f"core probe {name}", bool(outcome) and outcome.get("status") == "pass",
                           _outcome_text(outcome, reason), _pointer(ev, "probes", name)))
    return checks


def probes_exercised(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    checks = []
    for name in _stage(ev).get("probes") or {}:
        outcome = (ev.row.get("probes") or {}).get(name)
        answered = bool(outcome) and outcome.get("status") in ("pass", "fail", "unsupported") \
            and bool(outcome.get("evidence")) and NOT_YET not in str(outcome.get("evidence"))
        checks.append((f"probe {name}", answered, _outcome_text(outcome, ev.row.get("reason") or ""),
                       _pointer(ev, "probes", name)))
    return checks


def measured(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    checks = []
    baseline = _stage(ev).get("baseline")
    for name, meta in (_stage(ev).get("metrics") or {}).items():
        entry = (ev.row.get("metrics") or {}).get(name) or {}
        ok = fmt.is_number(entry.get("median")) and (ev.entry == baseline or bool(entry.get("ratio")))
        text = (f"{fmt.number(entry['median'])} {meta.get('unit', '')}"
                + (f", ratio to {baseline} {fmt.number(entry['ratio']['median'])}" if entry.get("ratio") else "")
                if fmt.is_number(entry.get("median")) else f"not measured ({ev.row.get('reason') or 'no figure'})")
        checks.append((f"metric {name}", ok, text, _pointer(ev, "metrics", name)))
    return checks


def repeats(ev: Evidence, options: dict) -> list[tuple[str, float, str, str]]:
    target = float(options.get("target", 5))
    counts = [m.get("n") for m in (ev.row.get("metrics") or {}).values() if m and fmt.is_number(m.get("n"))]
    n = min(counts) if counts else 0
    text = (f"{fmt.integer(n)} measured repeats per figure (target {fmt.integer(target)})" if counts
            else f"no measured figure ({ev.row.get('reason') or 'not measured'})")
    return [("measured repeats", min(1.0, n / target) if target else 1.0, text, _pointer(ev, "metrics"))]


def intervals(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    limit = float(options.get("max_width", 0.25))
    checks = []
    for name, entry in (ev.row.get("metrics") or {}).items():
        ratio = (entry or {}).get("ratio") or {}
        low, high = (ratio.get("ci95") or [None, None])[:2]
        if not (fmt.is_number(ratio.get("median")) and fmt.is_number(low) and fmt.is_number(high)) or not ratio["median"]:
            continue
        width = (high - low) / abs(ratio["median"])
        checks.append((f"interval {name}", width <= limit,
                       f"ratio {fmt.number(ratio['median'])} [{fmt.number(low)}, {fmt.number(high)}]: width "
                       f"{fmt.percent(width)} of the median ({'within' if width <= limit else 'above'} {fmt.percent(limit)})",
                       _pointer(ev, "metrics", name, "ratio", "ci95")))
    if not checks:
        checks.append(("intervals", False, "no ratio with an interval: the tool was not measured against the baseline",
                       _pointer(ev, "metrics")))
    return checks


def _filled(text: Any, min_words: int = 1) -> bool:
    words = str(text or "").split()
    return len(words) >= min_words and "TODO" not in str(text)


def configuration(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    min_words = int(options.get("min_words", 15))
    tool = ev.row.get("tool") or ev.entry
    rows = {name: row for name, row in (_stage(ev).get("tools") or {}).items() if (row.get("tool") or name) == tool}
    license_text = ev.row.get("license") or ""
    checks = [("licence", _filled(license_text), f"licence: {license_text or 'missing'}", _pointer(ev, "license"))]
    for name, row in rows.items():
        config, why = row.get("config") or "", row.get("why") or ""
        checks.append((f"{name}: config", _filled(config, 3), _short(config) or "missing",
                       f"results.json#/stages/{ev.stage}/tools/{name}/config"))
        checks.append((f"{name}: why", _filled(why, min_words),
                       f"{len(why.split())} words{' (still TODO)' if 'TODO' in why else ''}: {_short(why)}",
                       f"results.json#/stages/{ev.stage}/tools/{name}/why"))
    return checks


def poc_sections(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    min_words = int(options.get("min_words", 25))
    if ev.poc is None:
        return [(f"POC.md: {title}", False, f"{ev.poc_name} not found: set {OUTSIDE_VARIABLE} to the tool's folder's "
                 "parent, or pass --poc FILE", ev.poc_name) for title in POC_SECTIONS]
    sections = _sections(ev.poc)
    checks = []
    for title in POC_SECTIONS:
        found = sections.get(title.lower())
        if found is None:
            checks.append((f"POC.md: {title}", False, f"no `## {title}` heading", ev.poc_name))
            continue
        line, body = found
        words = len(_own_prose(body).split())
        checks.append((f"POC.md: {title}", words >= min_words,
                       f"{words} words of the team's own text (at least {min_words})", f"{ev.poc_name}:{line}"))
    return checks


def reproduce(ev: Evidence, options: dict) -> list[tuple[str, bool, str, str]]:
    command = str(ev.results.get("command") or "")
    lacks_path = _is_outside(ev) and OUTSIDE_VARIABLE not in command
    ok = "bakeoff run" in command and not lacks_path
    text = (f"`{command}`" if command else "no command recorded") + (
        f" (lacks {OUTSIDE_VARIABLE}: the tool cannot be found again)" if command and lacks_path else "")
    return [("reproduce command", ok, text, "results.json#/command")]


def _is_outside(ev: Evidence) -> bool:
    return not str(ev.row.get("adapter") or "").startswith("bakeoff.")


def _outcome_text(outcome: dict | None, reason: str) -> str:
    if not outcome:
        return f"not run ({reason})" if reason else "not run"
    return f"{outcome.get('status')}: {_short(outcome.get('evidence'))}"


def _short(text: Any, limit: int = 160) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _sections(text: str) -> dict[str, tuple[int, str]]:
    """`## heading` (lower case) -> (its line number, its body up to the next heading)."""
    found: dict[str, tuple[int, str]] = {}
    current, start, body = None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            if current is not None:
                found[current] = (start, "\n".join(body))
            current, start, body = line[3:].strip().lower(), number, []
        elif current is not None:
            body.append(line)
    if current is not None:
        found[current] = (start, "\n".join(body))
    return found


def _own_prose(body: str) -> str:
    """A section's text without what bakeoff wrote: comments, generated blocks, tables, code."""
    body = re.sub(r"<!-- bakeoff:(\w+):start -->.*?<!-- bakeoff:\1:end -->", " ", body, flags=re.S)
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    body = re.sub(r"```.*?```", " ", body, flags=re.S)
    return "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("|"))


CRITERIA: dict[str, tuple[Callable[[Evidence, dict], list], set[str]]] = {
    # name -> (the check, the settings it takes beyond `points`)
    "correctness": (correctness, set()),
    "probes_exercised": (probes_exercised, set()),
    "measured": (measured, set()),
    "repeats": (repeats, {"target"}),
    "intervals": (intervals, {"max_width"}),
    "configuration": (configuration, {"min_words"}),
    "poc_sections": (poc_sections, {"min_words"}),
    "reproduce": (reproduce, set()),
}


# -- rubric and grading -----------------------------------------------------------------------

@dataclass(frozen=True)
class Rubric:
    title: str
    source: str
    criteria: dict[str, dict[str, Any]]  # name -> {"points": p, settings...}


def default_rubric_path() -> str:
    return "bakeoff/host/kit/rubric.toml"


def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric file (default: the one shipped); an unknown criterion or setting is one line."""
    from bakeoff.host.scaffold import kit_text

    source = str(path) if path else default_rubric_path()
    try:
        raw = tomllib.loads(path.read_text() if path else kit_text("rubric.toml"))
    except OSError as exc:
        raise ConfigError(f"cannot read rubric {source} ({exc.strerror or exc}); fix: pass an existing --rubric file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rubric {source}: {exc}; fix the file's TOML syntax") from None
    unknown_top = set(raw) - {"title", "criteria"}
    if unknown_top:
        raise ConfigError(f"rubric {source}: unknown key {sorted(unknown_top)[0]!r}; a rubric has `title` and [criteria.<name>] tables")
    criteria = raw.get("criteria") or {}
    if not criteria:
        raise ConfigError(f"rubric {source} has no [criteria.<name>] table; choose from: {', '.join(CRITERIA)}")
    for name, settings in criteria.items():
        if name not in CRITERIA:
            raise ConfigError(f"rubric {source}: unknown criterion {name!r}; choose from: {', '.join(CRITERIA)}")
        if not isinstance(settings, dict) or not fmt.is_number(settings.get("points")) or settings["points"] < 0:
            raise ConfigError(f"rubric {source}: criterion {name!r} needs `points = N` (N >= 0)")
        extra = set(settings) - {"points"} - CRITERIA[name][1]
        if extra:
            allowed = ", ".join(sorted(CRITERIA[name][1])) or "only `points`"
            raise ConfigError(f"rubric {source}: criterion {name!r} has unknown setting {sorted(extra)[0]!r}; it takes {allowed}")
    return Rubric(str(raw.get("title") or "rubric"), source, criteria)


def grade(results: dict[str, Any], stage: str, entry: str, rubric: Rubric, poc: str | None, poc_name: str) -> Grade:
    row = results["stages"][stage]["tools"][entry]
    evidence = Evidence(results, stage, entry, row, poc, poc_name)
    graded = []
    for name, settings in rubric.criteria.items():
        check, _ = CRITERIA[name]
        found = check(evidence, settings)
        share = settings["points"] / len(found) if found else 0.0
        graded.append(CriterionGrade(name, float(settings["points"]), [
            Item(label, share * float(done), share, text, where) for label, done, text, where in found]))
    return Grade(str(results.get("run_id") or ""), stage, entry, rubric.title, graded)


def graded_entries(results: dict[str, Any], tool: str | None) -> list[tuple[str, str]]:
    """(stage, entry) pairs to grade: the named tool's, else every tool of the run that is not a
    baseline and not one of bakeoff's own (a student's tool)."""
    found = []
    for stage, data in (results.get("stages") or {}).items():
        for name, row in (data.get("tools") or {}).items():
            if tool is not None:
                if tool in (name, row.get("tool")):
                    found.append((stage, name))
            elif not row.get("baseline") and not str(row.get("adapter") or "bakeoff.").startswith("bakeoff."):
                found.append((stage, name))
    if not found:
        known = sorted({n for d in (results.get("stages") or {}).values() for n in (d.get("tools") or {})})
        raise ConfigError(f"no tool {tool!r} in run {results.get('run_id')}; choose from: {', '.join(known)}" if tool
                          else f"run {results.get('run_id')} has no outside tool to grade; pass --tool, one of: "
                               f"{', '.join(known)}")
    return found


# -- outputs ----------------------------------------------------------------------------------

def to_json(g: Grade) -> dict[str, Any]:
    return {"run_id": g.run_id, "stage": g.stage, "tool": g.tool, "rubric": g.rubric, "earned": round(g.earned, 2),
            "possible": g.possible, "percent": round(g.percent, 1),
            "criteria": [{"name": c.name, "points": c.points, "earned": round(c.earned, 2),
                          "items": [asdict(i) for i in c.items]} for c in g.criteria]}


def to_markdown(g: Grade) -> str:
    lines = [f"# Grade: {g.tool} ({g.stage}), run {g.run_id}", "",
             f"**{_points(g.earned)} / {_points(g.possible)} points ({g.percent:.0f}%)** under “{g.rubric}”. "
             "Every point below names what earned it and where.", "",
             "| criterion | points | out of |", "|---|--:|--:|"]
    lines += [f"| {c.name} | {_points(c.earned)} | {_points(c.points)} |" for c in g.criteria]
    for c in g.criteria:
        lines += ["", f"## {c.name}: {_points(c.earned)} / {_points(c.points)}", "",
                  "| item | earned | evidence | where |", "|---|--:|---|---|"]
        lines += [f"| {i.name} | {_points(i.earned)} / {_points(i.possible)} | {_cell(i.evidence)} | `{i.where}` |"
                  for i in c.items]
    return "\n".join(lines) + "\n"


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_junit(grades: list[Grade]) -> str:
    """One <testsuite> per graded tool, one <testcase> per item (fails unless fully earned),
    points as properties: an autograder's all-or-nothing per test becomes partial credit."""
    suites = ET.Element("testsuites", name="bakeoff grade")
    for g in grades:
        items = [(c, i) for c in g.criteria for i in c.items]
        suite = ET.SubElement(suites, "testsuite", name=f"{g.stage}.{g.tool}", tests=str(len(items)),
                              failures=str(sum(i.earned < i.possible for _, i in items)))
        props = ET.SubElement(suite, "properties")
        for key, value in (("run_id", g.run_id), ("earned", f"{g.earned:.2f}"), ("possible", f"{g.possible:.2f}"),
                           ("percent", f"{g.percent:.1f}")):
            ET.SubElement(props, "property", name=key, value=value)
        for criterion, item in items:
            case = ET.SubElement(suite, "testcase", classname=f"{g.tool}.{criterion.name}", name=item.name)
            case_props = ET.SubElement(case, "properties")
            ET.SubElement(case_props, "property", name="points", value=f"{item.possible:.2f}")
            ET.SubElement(case_props, "property", name="earned", value=f"{item.earned:.2f}")
            ET.SubElement(case_props, "property", name="where", value=item.where)
            if item.earned < item.possible:
                failure = ET.SubElement(case, "failure", message=f"{item.earned:.2f}/{item.possible:.2f}: {item.evidence}"[:500])
                failure.text = f"{item.evidence}\nwhere: {item.where}"
            else:
                ET.SubElement(case, "system-out").text = f"{item.evidence}\nwhere: {item.where}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_grades(grades: list[Grade], folder: Path) -> list[Path]:
    """grade.md, grade.json and grade.xml (JUnit) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "grade.md", folder / "grade.json", folder / "grade.xml"]
    paths[0].write_text("\n".join(to_markdown(g) for g in grades), encoding="utf-8")
    paths[1].write_text(json.dumps({"grades": [to_json(g) for g in grades]}, indent=1) + "\n", encoding="utf-8")
    paths[2].write_text(to_junit(grades), encoding="utf-8")
    return paths
