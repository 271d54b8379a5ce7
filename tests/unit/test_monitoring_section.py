"""The monitoring report section: every figure is well-formed SVG plus a Markdown table carrying
the same numbers, drawn only from the typed figure data; tools without a suite are left out; a
size whose calibration cannot separate shows as such, never as 0%; a schema-1 run (structured
facts) renders through upgrade_facts with no dict repr anywhere."""

import copy
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bakeoff.stages.monitoring.figures import (
    ConceptMonth,
    Delay,
    Performance,
    RateCell,
    ScenarioInfo,
    SizeCalibration,
    Suite,
    Timeline,
    upgrade_facts,
)
from bakeoff.stages.monitoring.section import figures
from bakeoff.stages.monitoring.spec import MONITORING
from bakeoff.stages.spec import resolve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/student-quick/results.json"
SCHEMA_1_COMMIT = "5ee8faf"  # the last commit whose worked example is schema 1
SIZES = [100, 1000]
SCENARIOS = {
    "no_drift": ScenarioInfo("No drift", "no drift", [], False, "held out"),
    "cov_temp_strong": ScenarioInfo("Temperature shift, strong", "covariate", ["temp"], True, "tilted"),
    "concept": ScenarioInfo("Concept drift", "concept", [], False, "labels"),
}
MONTHS = list(range(1, 13))


def tool(baseline: bool, alarms: int, months_warned: bool, perf: bool = False, separable: bool = True) -> dict:
    calibrated = lambda k: min(k, 1) if separable else None  # noqa: E731
    rates = {"no_drift": {s: RateCell(30, alarms, calibrated(alarms), 0) for s in SIZES},
             "cov_temp_strong": {s: RateCell(3, 3, calibrated(2), 3) for s in SIZES},
             "concept": {s: RateCell(3, 0, calibrated(0), 0) for s in SIZES}}
    note = "" if separable else "the dataset score sat at 230.6; dest scored 230.6 on 20 of 20 batches"
    calibration = {s: SizeCalibration(20, 2.5 + i if separable else None, "dataset score",
                                      [] if separable else ["dest"], note) for i, s in enumerate(SIZES)}
    suite = Suite(sizes=SIZES, scenarios=SCENARIOS, rates=rates, calibration=calibration,
                  peak_mb={100: 1.5, 1000: 2.5})
    delay = Delay(10, 10, 0, [], "0 month(s) after month 10")
    timeline = Timeline(
        months=MONTHS, rows=1000, auc=[0.8] * 3 + [0.65, 0.7, 0.7, 0.7, 0.69, 0.66, 0.64, 0.65, 0.69],
        auc_reference=0.65, tolerance=0.005, deserved=[m == 10 for m in MONTHS], score=[float(m) for m in MONTHS],
        default=[months_warned] * 12, flagged=[[] for _ in MONTHS], rank_correlation=-0.25, delay_default=delay,
        calibrated=[False] * 12 if separable else None, threshold=3.0 if separable else None,
        delay_calibrated=Delay(10, None, None, [], "missed") if separable else None, calibration_note=note)
    data = [suite, timeline]
    if perf:
        data.append(Performance(months=MONTHS[4:], estimated=[0.68] * 8, true=[0.7] * 8, rows=1000,
                                concept=ConceptMonth(5, 0.68, 0.6)))
    metrics = {f"check_ms_{s}": {"median": 10.0 * (i + 1), "ci95": [9.0, 12.0]} for i, s in enumerate(SIZES)}
    # Through JSON, as results.json carries it.
    return json.loads(json.dumps({"status": "ok", "baseline": baseline, "facts": {"import_seconds": 1.0},
                                  "figures": {d.KIND: d.dump() for d in data}, "metrics": metrics}))


def no_reprs(found) -> None:
    for figure in found:
        for text in (figure.svg, figure.text, figure.caption):
            assert "{'" not in text and "': " not in text and "[{" not in text, (figure.title, text[:200])


def test_every_figure_is_valid_svg_with_a_table():
    stage = {"tools": {"ks_chi2": tool(True, 2, True), "nannyml": tool(False, 9, False, perf=True),
                       "broken": {"status": "failed", "facts": {}, "metrics": {}}}}
    found = figures(stage)
    assert [f.title for f in found] == ["Drift caught against batch size", "False alarms", "Detection per scenario",
                                        "Real months of 2013", "Performance estimated without labels", "Cost per check"]
    for figure in found:
        root = ET.fromstring(figure.svg)
        assert root.tag == "svg" and "script" not in figure.svg
        assert figure.text.startswith("|") and "broken" not in figure.text
    alarms = found[1].text
    assert "2/30 = 7%" in alarms and "9/30 = 30%" in alarms
    assert "0.640" in found[3].text and "-0.25" in found[3].text  # the AUC row and each tool's rho
    assert "12 D" in found[3].text  # ks_chi2 warned in December with defaults
    no_reprs(found)


def test_a_size_that_cannot_be_calibrated_is_never_shown_as_zero():
    stage = {"tools": {"ks_chi2": tool(True, 2, True), "whylogs": tool(False, 30, True, separable=False)}}
    found = figures(stage)
    caught, alarms, per_scenario, months = found[0].text, found[1].text, found[2].text, found[3].text
    whylogs_calibrated = [line for line in alarms.splitlines() if line.startswith("| `whylogs` | calibrated")]
    assert whylogs_calibrated and "0/" not in whylogs_calibrated[0] and "cannot separate" in whylogs_calibrated[0]
    assert "dest scored 230.6" in alarms and "dest scored 230.6" in caught  # the note names the feature
    assert [line for line in per_scenario.splitlines() if line.startswith("| `whylogs` | calibrated")][0].count("n/a")
    assert "calibrated: calibration cannot separate" in months
    no_reprs(found)


def test_figure_data_round_trips_through_json():
    payload = tool(False, 1, False, perf=True)
    suite = Suite.find(payload)
    assert suite.sizes == SIZES and suite.rates["no_drift"][100] == RateCell(30, 1, 1, 0)
    assert suite.calibration[1000].threshold == 3.5 and suite.peak_mb[1000] == 2.5
    assert suite.pooled(100, "calibrated", drift=True) == (1, 3)
    assert Timeline.find(payload).delay_calibrated.text == "missed"
    assert Performance.find(payload).concept == ConceptMonth(5, 0.68, 0.6)
    unusable = Suite.find(tool(False, 1, False, separable=False))
    assert unusable.pooled(100, "calibrated", drift=False) is None and unusable.pooled(100, "default", drift=False)


def test_no_suite_no_figures():
    assert figures({"tools": {"x": {"status": "failed", "facts": {}}}}) == []
    assert figures({}) == []


@pytest.fixture(scope="module")
def schema_1_example() -> dict:
    """The worked example as it was stored before the typed channel (structured facts)."""
    path = ROOT / EXAMPLE
    if path.is_file():
        raw = json.loads(path.read_text())
        if raw.get("schema") == 1:
            return raw
    shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{SCHEMA_1_COMMIT}:{EXAMPLE}"],
                           capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"no schema-1 example here: {shown.stderr.strip()[:200]}")
    return json.loads(shown.stdout)


def test_the_schema_1_example_renders_through_upgrade_facts(schema_1_example):
    assert resolve(MONITORING.upgrade_facts) is upgrade_facts
    stage = copy.deepcopy(schema_1_example["stages"]["monitoring"])
    for entry in stage["tools"].values():
        facts, figure_data = upgrade_facts(entry.get("facts") or {})
        assert all(isinstance(v, (str, int, float, bool)) or v is None for v in facts.values())
        entry["facts"], entry["figures"] = facts, figure_data
    found = figures(stage)
    assert len(found) == 6
    for figure in found:
        assert ET.fromstring(figure.svg).tag == "svg"
    no_reprs(found)
    # whylogs' stored threshold was the p-value floor's score on every batch: not a measured 0%.
    whylogs = stage["tools"]["whylogs"]
    assert "cannot separate" in whylogs["facts"]["calibration_note"]
    assert Suite.find(whylogs).pooled(1000, "calibrated", drift=True) is None
    assert Timeline.find(whylogs).calibrated is None
    ks = Suite.find(stage["tools"]["ks_chi2"])
    assert ks.calibration[1000].usable and ks.pooled(1000, "calibrated", drift=False) == (1, 30)
    assert "alibi_detect" not in found[0].text  # failed env: no suite, left out


def test_the_host_upgrade_uses_the_stage_hook(schema_1_example):
    from bakeoff.host.results_model import upgrade

    raw = upgrade(copy.deepcopy(schema_1_example))
    tools = raw["stages"]["monitoring"]["tools"]
    assert Suite.find(tools["nannyml"]) is not None and Performance.find(tools["nannyml"]) is not None
    assert not any(k.startswith("_") for entry in tools.values() for k in entry["facts"])


def test_the_timeline_shows_the_calibrated_statistic_when_saturated_features_were_left_out():
    entry = tool(False, 30, True)
    timeline = Timeline.find(entry)
    timeline.score = [230.6] * 12
    timeline.calibrated_score = [1.5] * 12
    entry["figures"][Timeline.KIND] = json.loads(json.dumps(timeline.dump()))
    months = figures({"tools": {"whylogs": entry}})[3]
    assert "231 (1.5) D" in months.text and "in brackets, the calibrated statistic" in months.caption


def test_peak_memory_comes_from_the_scale_trial_and_old_runs_keep_the_suites():
    """The scale kind (the machine to itself) puts CheckMemory; a run stored before it carried
    the peaks in the suite's figure data, and still shows them."""
    from bakeoff.stages.monitoring.figures import CheckMemory

    new = tool(True, 2, True)
    new["figures"][CheckMemory.KIND] = json.loads(json.dumps(CheckMemory(peak_mb={100: 7.25, 1000: 8.5}).dump()))
    old = tool(False, 2, True)
    found = figures({"tools": {"ks_chi2": new, "evidently": old}})
    cost = next(f for f in found if f.title == "Cost per check")
    rows = {line.split("|")[1].strip(): line for line in cost.text.splitlines() if line.startswith("| `")}
    assert "7.25" in rows["`ks_chi2`"] and "8.5" in rows["`ks_chi2`"] and "2.5" not in rows["`ks_chi2`"]
    assert "1.5" in rows["`evidently`"] and "2.5" in rows["`evidently`"]
    assert CheckMemory.find(new).peak_mb == {100: 7.25, 1000: 8.5}
