"""The worked example in examples/ is a real run's memo; its verdicts must follow from its numbers.

Deciding again from the shipped results.json under the shipped profile must give the shipped
decision, and the memo must state it: if scoring changes, the example is regenerated (see
examples/README.md), never edited by hand.
"""

import json
import re
from pathlib import Path

import pytest

from bakeoff.host.decide import to_json
from bakeoff.host.decide.files import saved_profile
from bakeoff.host.outputs import decide_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "student-quick"


@pytest.fixture(scope="module")
def shipped():
    results = json.loads((EXAMPLE / "results.json").read_text(encoding="utf-8"))
    decision = json.loads((EXAMPLE / "decision.json").read_text(encoding="utf-8"))
    return results, decision


def test_the_example_is_a_quick_run_of_every_stage_under_the_student_profile(shipped):
    results, decision = shipped
    assert results["settings"]["quick"] is True
    assert set(results["stages"]) >= {"tracking", "serving", "monitoring"}
    assert decision["profile"]["profile"]["name"] == "Student team on laptops"
    assert decision["profile"]["source"].endswith("profiles/student.toml")
    for stage in results["stages"].values():
        assert any(t["status"] == "ok" for t in stage["tools"].values())


def test_deciding_again_from_the_shipped_numbers_gives_the_shipped_verdicts(shipped):
    """With the repeat run the example ships (confirmation-results.json), when it has one."""
    results, decision = shipped
    again = to_json(decide_run(results, EXAMPLE, saved_profile(EXAMPLE)))
    assert json.loads(json.dumps(again)) == decision


def test_the_memo_states_each_verdict_and_links_only_to_files_it_ships(shipped):
    _, decision = shipped
    memo = (EXAMPLE / "report.md").read_text(encoding="utf-8")
    for stage in decision["stages"].values():
        assert stage["verdict"]["headline"] in memo
    html = (EXAMPLE / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)  # self-contained
    for target in re.findall(r'href="(logs/[^"#]+)"', html):
        assert (EXAMPLE / target).is_file(), target
