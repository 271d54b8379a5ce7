"""No report ever shows Python reprs: every stage's section and tables, rendered from a real
results file (the shipped worked example, stored before the typed channel and upgraded)."""

import json
import re
from pathlib import Path

from bakeoff.host.report import render_report
from bakeoff.host.results_model import validate

EXAMPLE = Path(__file__).parents[2] / "examples" / "student-quick" / "results.json"
REPR = re.compile(r"\{'[^']*': ")  # a dict's repr (a tool's own error text may name an object; that is evidence)


def test_the_shipped_example_upgrades_to_the_typed_model():
    results = validate(json.loads(EXAMPLE.read_text()), str(EXAMPLE))
    assert results.schema_ == 2
    for stage in results.stages.values():
        assert all(m.criterion for m in stage.metrics.values())
        for tool in stage.tools.values():
            assert all(not isinstance(v, (dict, list)) for v in tool.facts.values())


def test_every_stage_of_a_real_run_renders_without_reprs(tmp_path):
    md, html = render_report(json.loads(EXAMPLE.read_text()), tmp_path)
    for path in (md, html):
        text = path.read_text()
        found = REPR.findall(text)
        assert not found, f"{path.name} shows Python reprs: {found[:5]}"


def test_the_data_section_reads_the_manifest(tmp_path):
    md, _ = render_report(json.loads(EXAMPLE.read_text()), tmp_path)
    # The section's own heading: orchestration's "Data passing" comes before it now.
    data = md.read_text().split("\n## Data\n", 1)[1].split("\n## ", 1)[0]
    assert "Features (13): month, weekday" in data.replace("**", "")
    assert "Jan, Feb, Mar → Apr" in data and "327,346 of 336,776" in data and "—" not in data
