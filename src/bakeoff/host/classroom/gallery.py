"""`bakeoff gallery --from URL --out DIR`: the class store as a static, offline site.

index.html: a matrix of tools (rows: stage · tool) by teams (columns: each team's newest
publication) with each team's headline figure and verdict; where teams agree and disagree on the
same tool (the ratio to the baseline, taken by the same harness on each team's machine, is the
comparable figure: its spread across teams and whether the teams' 95% intervals overlap) and on
the recommended tool per stage; the exemplars the instructor marked. One page per publication
links its memo (report.html, copied beside it) and shows its POC.md files as escaped text.

Every figure comes from a published results.json or decision.json; nothing is computed that a
team did not measure. Anonymised, every team name is replaced by "Team A", "Team B"... (in order
of first publication) in every file written, the copied memos included. Host side.
"""

from __future__ import annotations

import json
import re
import shutil
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from bakeoff.drawing import numbers as fmt
from bakeoff.host.classroom.store import ClassStore, Stored
from bakeoff.host.registry import ConfigError
from bakeoff.host.results_model import as_dict, validate

MARKER = ".bakeoff-gallery"  # a folder holding it is ours to rebuild; any other non-empty one is refused


# -- team names --------------------------------------------------------------------------------

def letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: as spreadsheet columns."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = string.ascii_uppercase[rest] + text
    return text


class Names:
    """Team name -> the label the gallery shows, and a scrubber for text a team wrote."""

    def __init__(self, teams: list[str], anonymise: bool) -> None:
        self.anonymise = anonymise
        self.labels = {t: (f"Team {letters(i)}" if anonymise else t) for i, t in enumerate(teams)}
        variants = {}
        for team, label in self.labels.items():
            for form in {team, str(escape(team))}:  # as written, and as HTML-escaped inside a memo
                variants[form] = label
        # Longest first, whole words only, any case: "Otters" in a path /home/otters/ goes too.
        self._pattern = re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in
                                            sorted(variants, key=len, reverse=True)), re.IGNORECASE) \
            if anonymise and variants else None
        self._by_lower = {v.lower(): label for v, label in variants.items()}

    def label(self, team: str) -> str:
        return self.labels[team]

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self._by_lower[m.group(0).lower()], value)

    def html(self, value: str) -> str:
        """Text and attribute values only: tag and attribute names are left as they are."""
        if self._pattern is None:
            return value
        parts = re.split(r"(<[^>]*>)", value)
        return "".join(re.sub(r"\"[^\"]*\"|'[^']*'", lambda m: self.text(m.group(0)), part)
                       if part.startswith("<") else self.text(part) for part in parts)


# -- figures from a publication ------------------------------------------------------------------

@dataclass
class Run:
    """One publication, read: its results (upgraded to the current schema) and decision."""

    stored: Stored
    results: dict[str, Any]
    decision: dict[str, Any] | None
    label: str = ""

    @property
    def id(self) -> int:
        return self.stored.id


def read_run(stored: Stored) -> Run:
    source = f"publication {stored.id} ({stored.publication.run_id})"
    try:
        raw = json.loads(stored.publication.results_json)
        decision = json.loads(stored.publication.decision_json) if stored.publication.decision_json else None
    except ValueError as exc:
        raise ConfigError(f"{source} is not readable JSON ({exc}); fix: publish the run again") from None
    return Run(stored, as_dict(validate(raw, source)), decision)  # a newer schema: one-line refusal


def headline_metrics(stage: dict[str, Any]) -> list[str]:
    metrics = stage.get("metrics") or {}
    return [k for k, m in metrics.items() if m.get("headline")] or list(metrics)[:1]


def role(run: Run, stage: str, tool: str) -> str:
    """What the team's decision made of the tool, in the decision's own terms."""
    row = (run.results["stages"].get(stage) or {}).get("tools", {}).get(tool) or {}
    status = row.get("status", "")
    decided = ((run.decision or {}).get("stages") or {}).get(stage)
    if decided is None:
        return status if status != "ok" else "measured (no decision)"
    verdict = decided.get("verdict") or {}
    if tool == verdict.get("recommended"):
        return "recommended"
    if tool in (verdict.get("tied") or []):
        return "tied first"
    if tool == verdict.get("runner_up"):
        return "runner-up"
    if any(e.get("tool") == tool for e in decided.get("excluded") or []):
        return "excluded"
    ranks = {c.get("tool"): c.get("rank") for c in decided.get("candidates") or []}
    return f"rank {ranks[tool]}" if tool in ranks else (status or "not in the decision")


def chosen(run: Run, stage: str) -> str | None:
    """The team's recommended tool for a stage ("a = b" for a tie), None without a decision."""
    decided = ((run.decision or {}).get("stages") or {}).get(stage)
    if decided is None:
        return None
    verdict = decided.get("verdict") or {}
    if verdict.get("kind") == "tie":
        return " = ".join(sorted(verdict.get("tied") or []))
    return verdict.get("recommended") or "none"


@dataclass(frozen=True)
class Cell:
    figure: str  # "2.00 s [1.93–2.00]" or "—"
    ratio: str  # "×2.26 [2.26–2.27]", "baseline" or ""
    verdict: str
    status: str
    href: str  # the publication's page


def cell(run: Run, stage: str, tool: str, metric: str, href: str) -> Cell | None:
    data = run.results["stages"].get(stage) or {}
    row = (data.get("tools") or {}).get(tool)
    if row is None:
        return None
    entry = (row.get("metrics") or {}).get(metric) or {}
    unit = (data.get("metrics") or {}).get(metric, {}).get("unit") or entry.get("unit")
    figure = fmt.estimate(entry["median"], entry.get("ci95"), unit) if fmt.is_number(entry.get("median")) else "—"
    ratio = entry.get("ratio") or {}
    ratio_text = "baseline" if tool == data.get("baseline") else \
        (fmt.ratio(ratio["median"], ratio.get("ci95")) if fmt.is_number(ratio.get("median")) else "")
    return Cell(figure, ratio_text, role(run, stage, tool), str(row.get("status", "")), href)


# -- the index's views ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MatrixRow:
    stage: str
    stage_title: str
    tool: str
    tool_title: str
    metric: str  # the label of the headline figure shown
    cells: list[Cell | None]


@dataclass(frozen=True)
class Agreement:
    stage: str
    tool: str
    metric: str
    teams: int
    figures: list[str]  # "Team A ×2.26 [2.26–2.27]"
    spread: str  # "×1.90 to ×2.30 (highest / lowest 1.21)"
    verdict: str  # agree / disagree / one team only
    note: str


@dataclass(frozen=True)
class StageChoice:
    stage: str
    title: str
    choices: list[tuple[str, str]]  # (team label, recommended tool or "no decision")
    verdict: str


@dataclass(frozen=True)
class Exemplar:
    id: int
    label: str
    run_id: str
    note: str
    href: str


@dataclass
class PublicationPage:
    run: Run
    label: str
    team_count: int
    stages: list[dict[str, Any]] = field(default_factory=list)  # title, metrics, rows of (tool, cells)
    pocs: list[tuple[str, str, str, str]] = field(default_factory=list)  # stage, tool, text, file name
    files: list[tuple[str, str]] = field(default_factory=list)  # (file name, what it is)


def page_href(run: Run) -> str:
    return f"publications/{run.id}/index.html"


def stage_order(runs: list[Run]) -> list[tuple[str, str, list[str]]]:
    """(stage, title, tools) in the order teams published them: baseline first, then as first seen."""
    stages: dict[str, tuple[str, dict[str, None]]] = {}
    for run in runs:
        for key, data in run.results["stages"].items():
            title, tools = stages.setdefault(key, (str(data.get("title") or key), {}))
            baseline = data.get("baseline")
            for name in sorted(data.get("tools") or {}, key=lambda n: n != baseline):
                tools.setdefault(name, None)
    return [(k, title, list(tools)) for k, (title, tools) in stages.items()]


def tool_title(runs: list[Run], stage: str, tool: str) -> str:
    for run in runs:
        row = (run.results["stages"].get(stage) or {}).get("tools", {}).get(tool)
        if row:
            return str(row.get("title") or tool)
    return tool


def metric_label(runs: list[Run], stage: str, metric: str) -> str:
    for run in runs:
        m = (run.results["stages"].get(stage) or {}).get("metrics", {}).get(metric)
        if m:
            return f"{m.get('label', metric)} ({m.get('unit', '')})".replace(" ()", "")
    return metric


def first_headline(runs: list[Run], stage: str) -> str | None:
    for run in runs:
        if stage in run.results["stages"]:
            found = headline_metrics(run.results["stages"][stage])
            if found:
                return found[0]
    return None


def matrix(columns: list[Run], ordered) -> list[MatrixRow]:
    rows = []
    for stage, title, tools in ordered:
        metric = first_headline(columns, stage)
        for tool in tools:
            cells = [cell(run, stage, tool, metric, page_href(run)) if metric else None for run in columns]
            rows.append(MatrixRow(stage, title, tool, tool_title(columns, stage, tool),
                                  metric_label(columns, stage, metric) if metric else "", cells))
    return rows


def settings_differ(columns: list[Run], stage: str) -> str:
    """Which harness settings of the stage differ between the teams' runs ("" when none)."""
    seen = [((r.results.get("settings") or {}).get("sizes") or {}).get(stage) or {} for r in columns
            if stage in r.results["stages"]]
    modes = {bool((r.results.get("settings") or {}).get("quick")) for r in columns if stage in r.results["stages"]}
    keys = sorted({k for s in seen for k in s if len({json.dumps(x.get(k)) for x in seen}) > 1})
    parts = (["quick and full runs mixed"] if len(modes) > 1 else []) + \
        [f"{k} ({' vs '.join(sorted({str(s.get(k)) for s in seen}))})" for k in keys]
    return "settings differ: " + ", ".join(parts) if parts else ""


def agreements(columns: list[Run], ordered) -> list[Agreement]:
    """Per stage · tool · headline metric: the teams' ratios to the baseline side by side."""
    found = []
    for stage, _, tools in ordered:
        note = settings_differ(columns, stage)
        for tool in tools:
            metrics: dict[str, None] = {}
            for run in columns:
                data = run.results["stages"].get(stage) or {}
                if tool in (data.get("tools") or {}) and tool != data.get("baseline"):
                    metrics.update(dict.fromkeys(headline_metrics(data)))
            for metric in metrics:
                figures = []
                for run in columns:
                    row = (run.results["stages"].get(stage) or {}).get("tools", {}).get(tool) or {}
                    ratio = ((row.get("metrics") or {}).get(metric) or {}).get("ratio") or {}
                    if fmt.is_number(ratio.get("median")):
                        figures.append((run.label, ratio["median"], ratio.get("ci95")))
                if figures:
                    found.append(_agreement(stage, tool, metric_label(columns, stage, metric), figures, note))
    return found


def _agreement(stage: str, tool: str, metric: str, figures: list, note: str) -> Agreement:
    shown = [f"{label} {fmt.ratio(median, ci)}" for label, median, ci in figures]
    medians = [m for _, m, _ in figures]
    if len(figures) == 1:
        return Agreement(stage, tool, metric, 1, shown, "", "one team only", note)
    low, high = min(medians), max(medians)
    spread = f"×{fmt.number(low)} to ×{fmt.number(high)}" + \
        (f" (highest / lowest {fmt.number(high / low)})" if low > 0 else "")
    intervals = [ci for _, _, ci in figures if isinstance(ci, (list, tuple)) and len(ci) == 2]
    if len(intervals) < len(figures):
        verdict = "no intervals to compare"
    elif max(lo for lo, _ in intervals) <= min(hi for _, hi in intervals):  # on a line: all pairs overlap
        verdict = "agree: the 95% intervals overlap"
    else:
        verdict = "disagree: the 95% intervals do not all overlap"
    return Agreement(stage, tool, metric, len(figures), shown, spread, verdict, note)


def stage_choices(columns: list[Run], ordered) -> list[StageChoice]:
    found = []
    for stage, title, _ in ordered:
        picks = [(run.label, chosen(run, stage)) for run in columns if stage in run.results["stages"]]
        decided = {c for _, c in picks if c is not None}
        with_decision = sum(c is not None for _, c in picks)
        if not decided:
            verdict = "no team published a decision for this stage"
        elif len(decided) == 1:
            verdict = (f"same: {with_decision} of {len(picks)} teams recommend {next(iter(decided))}"
                       if with_decision > 1 else f"one team decided: {next(iter(decided))}")
        else:
            verdict = f"differ: {len(decided)} different choices among {with_decision} teams"
        found.append(StageChoice(stage, title, [(label, c or "no decision") for label, c in picks], verdict))
    return found


# -- writing the site ----------------------------------------------------------------------------

def environment() -> Environment:
    return Environment(loader=PackageLoader("bakeoff.host.classroom", "templates"), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def prepare_folder(out: Path) -> None:
    """A new or empty folder, or a gallery this command wrote before (rebuilt whole, so an
    anonymised build never keeps a name from an earlier one)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; fix: pass --out a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ConfigError(f"{out} is not empty and not a gallery bakeoff wrote; fix: pass a new or empty --out")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `bakeoff gallery`; rebuilt whole each time\n")


def publication_page(run: Run, names: Names, team_count: int) -> PublicationPage:
    page = PublicationPage(run, run.label, team_count)
    for stage, data in run.results["stages"].items():
        metrics = headline_metrics(data)
        baseline = data.get("baseline")
        tools = sorted(data.get("tools") or {}, key=lambda n: n != baseline)
        page.stages.append({
            "key": stage, "title": data.get("title") or stage,
            "metrics": [metric_label([run], stage, m) for m in metrics],
            "rows": [(t, tool_title([run], stage, t), [cell(run, stage, t, m, "") for m in metrics]) for t in tools],
            "chosen": chosen(run, stage),
        })
    for poc in run.stored.publication.poc_files:
        page.pocs.append((poc.stage, poc.tool, names.text(poc.text), f"POC-{poc.stage}-{poc.tool}.md"))
    return page


def write_publication(folder: Path, page: PublicationPage, names: Names, env: Environment) -> None:
    folder.mkdir(parents=True)
    p = page.run.stored.publication
    files = [("report.html", "the memo, as the team's run wrote it", names.html(p.report_html)),
             ("report.md", "the memo in Markdown", names.text(p.report_md)),
             ("results.json", "every figure, sample and probe outcome of the run", names.text(p.results_json))]
    if p.decision_json:
        files.append(("decision.json", "the decision under the team's profile", names.text(p.decision_json)))
    files += [(name, f"POC.md of {tool} ({stage})", text) for stage, tool, text, name in page.pocs]
    for name, _, text in files:
        (folder / name).write_text(text, encoding="utf-8")
    page.files = [(name, what) for name, what, _ in files]
    html = env.get_template("publication.html.j2").render(page=page, root="../../")
    (folder / "index.html").write_text(html, encoding="utf-8")


def build(url: str, out: Path, *, anonymise: bool = False) -> tuple[Path, int]:
    """Write the site; returns the index page and how many publications it shows."""
    with ClassStore(url, must_exist=True) as store:
        stored = store.publications()
        store_name = store.name
    runs = [read_run(s) for s in stored]
    teams = list(dict.fromkeys(r.stored.publication.team for r in runs))  # order of first publication
    names = Names(teams, anonymise)
    for run in runs:
        run.label = names.label(run.stored.publication.team)
    newest = {r.stored.publication.team: r for r in runs}  # later publications replace earlier ones
    columns = [newest[t] for t in teams]
    counts = {t: sum(r.stored.publication.team == t for r in runs) for t in teams}
    ordered = stage_order(columns)

    prepare_folder(out)
    env = environment()
    shutil.copyfile(Path(__file__).parent / "templates" / "gallery.css", out / "gallery.css")
    for run in runs:
        page = publication_page(run, names, counts[run.stored.publication.team])
        write_publication(out / "publications" / str(run.id), page, names, env)
    exemplars = [Exemplar(r.id, r.label, r.stored.publication.run_id, names.text(r.stored.exemplar), page_href(r))
                 for r in runs if r.stored.exemplar is not None]
    index = env.get_template("index.html.j2").render(
        store=names.text(store_name) if anonymise else store_name, anonymised=anonymise, runs=runs,
        columns=[(r, counts[r.stored.publication.team]) for r in columns], matrix=matrix(columns, ordered),
        agreements=agreements(columns, ordered), choices=stage_choices(columns, ordered), exemplars=exemplars,
        page_href=page_href, root="")
    (out / "index.html").write_text(index, encoding="utf-8")
    return out / "index.html", len(runs)
