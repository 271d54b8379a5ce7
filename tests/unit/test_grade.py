"""`bakeoff grade`: each point comes from evidence and names it; a rubric with an unknown
criterion is refused; partial credit survives into JUnit XML, one test case per item."""

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from bakeoff.host import grade
from bakeoff.host.registry import ConfigError
from bakeoff.host.scaffold import fill_blocks, poc_text, stage_spec

HEADLINE = {"label": "Sum", "unit": "s", "better": "lower", "criterion": "speed", "headline": True}


def results(*, status="ok", probes=None, metrics=None, why="w " * 20, command="BAKEOFF_TOOLS_PATH=/t bakeoff run"):
    mine = {"tool": "mytool", "status": status, "reason": "" if status == "ok" else "Unsupported: `open` not implemented yet",
            "license": "MIT", "config": "local files, defaults", "why": why, "adapter": "tracking:MytoolTracking",
            "probes": probes or {}, "metrics": metrics or {}}
    return {"run_id": "r1", "command": command, "settings": {"repeats": 3},
            "stages": {"tracking": {"baseline": "jsonl",
                                    "metrics": {"sweep_seconds": HEADLINE},
                                    "probes": {"exact": {"label": "exact", "core": True}, "ui": {"label": "ui", "core": False}},
                                    "tools": {"jsonl": {"tool": "jsonl", "baseline": True, "adapter": "bakeoff.tools.jsonl.tracking:J",
                                                        "status": "ok", "metrics": {}, "probes": {}},
                                              "mytool": mine}}}}


def measured(n=3, low=0.9, high=1.1):
    return {"sweep_seconds": {"median": 2.0, "ci95": [1.9, 2.1], "n": n, "ratio": {"median": 1.0, "ci95": [low, high], "n": n}}}


def graded(data, poc=None):
    return grade.grade(data, "tracking", "mytool", grade.load_rubric(), poc, "POC.md")


def test_the_shipped_rubric_loads_and_names_only_known_criteria():
    rubric = grade.load_rubric()
    assert set(rubric.criteria) <= set(grade.CRITERIA) and sum(c["points"] for c in rubric.criteria.values()) == 100


@pytest.mark.parametrize("text, message", [
    ('[criteria.speed]\npoints = 5\n', "unknown criterion 'speed'; choose from: correctness"),
    ('[criteria.repeats]\npoints = 5\ntargett = 3\n', "unknown setting 'targett'; it takes target"),
    ('[criteria.repeats]\n', "needs `points = N`"),
    ('[criteria.repeats\npoints = 5\n', "fix the file's TOML syntax"),
])
def test_a_bad_rubric_is_one_line_naming_the_fault(tmp_path, text, message):
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        grade.load_rubric(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_failed_scaffold_earns_only_what_its_evidence_shows():
    g = graded(results(status="failed", probes={"ui": {"status": "unsupported", "evidence": "`ui` not implemented yet"}}))
    by_name = {c.name: c for c in g.criteria}
    assert by_name["correctness"].earned == 0 and by_name["measured"].earned == 0
    assert by_name["probes_exercised"].earned == 0  # "not implemented yet" is not an answer
    assert by_name["reproduce"].earned == by_name["reproduce"].points
    assert 0 < g.percent < 30
    item = by_name["correctness"].items[0]
    assert "not implemented yet" in item.evidence and item.where == "results.json#/stages/tracking/tools/mytool/status"


def test_credit_rises_with_each_piece_of_evidence():
    bare = graded(results(status="failed")).percent
    probed = graded(results(status="failed", probes={"exact": {"status": "pass", "evidence": "6"},
                                                     "ui": {"status": "unsupported", "evidence": "no UI in this tool"}})).percent
    ran = graded(results(probes={"exact": {"status": "pass", "evidence": "6"}}, metrics=measured())).percent
    assert bare < probed < ran


def test_repeats_earn_partial_credit_and_wide_intervals_none():
    g = graded(results(metrics=measured(n=3, low=0.5, high=1.5)))
    by_name = {c.name: c for c in g.criteria}
    assert by_name["repeats"].earned == pytest.approx(by_name["repeats"].points * 3 / 5)
    assert by_name["intervals"].earned == 0 and "width 100%" in by_name["intervals"].items[0].evidence


def test_a_why_still_marked_todo_earns_nothing():
    g = graded(results(why="TODO: why this configuration " * 5))
    why = next(i for c in g.criteria if c.name == "configuration" for i in c.items if i.name.endswith("why"))
    assert why.earned == 0 and "still TODO" in why.evidence


def test_reproduce_needs_the_outside_path_for_an_outside_tool():
    g = graded(results(command="bakeoff run --stage tracking"))
    item = next(c for c in g.criteria if c.name == "reproduce").items[0]
    assert item.earned == 0 and "lacks BAKEOFF_TOOLS_PATH" in item.evidence


def test_poc_sections_count_only_the_teams_own_prose():
    template = poc_text("mytool", stage_spec("tracking"), None, None)
    assert all(f"## {title}" in template for title in grade.POC_SECTIONS)
    empty = next(c for c in graded(results(), template).criteria if c.name == "poc_sections")
    assert empty.earned == 0  # headings, comments and bakeoff's generated blocks are not the team's work
    filled = fill_blocks(template, {"figures": "| a | b |\n" * 40})
    written = filled.replace("## Recommendation\n", "## Recommendation\n\n" + "Adopt it for the student team. " * 6 + "\n")
    section = next(c for c in graded(results(), written).criteria if c.name == "poc_sections")
    done = [i for i in section.items if i.earned]
    assert [i.name for i in done] == ["POC.md: Recommendation"] and done[0].where.startswith("POC.md:")


def test_junit_has_one_case_per_item_failing_unless_fully_earned(tmp_path):
    g = graded(results(probes={"exact": {"status": "pass", "evidence": "6"}}, metrics=measured()))
    paths = grade.write_grades([g], tmp_path)
    suite = ET.parse(tmp_path / "grade.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    items = [i for c in g.criteria for i in c.items]
    assert len(cases) == len(items) == int(suite.get("tests"))
    assert int(suite.get("failures")) == sum(i.earned < i.possible for i in items) == \
        sum(case.find("failure") is not None for case in cases)
    assert {p.name for p in paths} == {"grade.md", "grade.json", "grade.xml"}
    assert f"({g.percent:.0f}%)" in Path(tmp_path / "grade.md").read_text()
