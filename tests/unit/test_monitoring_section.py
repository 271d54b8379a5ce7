"""The monitoring report section on a synthetic stage: every figure is well-formed SVG plus a
Markdown table carrying the same numbers; tools without a suite are left out."""

import xml.etree.ElementTree as ET

from bakeoff.report.sections.monitoring import figures

SIZES = [100, 1000]
SCENARIOS = {
    "no_drift": {"label": "No drift", "group": "no drift", "truth": [], "drift": False, "how": "held out"},
    "cov_temp_strong": {"label": "Temperature shift, strong", "group": "covariate", "truth": ["temp"], "drift": True,
                        "how": "tilted"},
    "concept": {"label": "Concept drift", "group": "concept", "truth": [], "drift": False, "how": "labels"},
}


def tool(baseline: bool, alarms: int, months_warned: bool, perf: bool = False) -> dict:
    cell = lambda k: {"n": 30, "default": k, "calibrated": min(k, 1), "named": 0}  # noqa: E731
    rates = {"no_drift": {str(s): cell(alarms) for s in SIZES},
             "cov_temp_strong": {str(s): {"n": 3, "default": 3, "calibrated": 2, "named": 3} for s in SIZES},
             "concept": {str(s): {"n": 3, "default": 0, "calibrated": 0, "named": 0} for s in SIZES}}
    months = list(range(1, 13))
    facts = {
        "_suite": {"sizes": SIZES, "rates": rates, "thresholds": {"100": 2.5, "1000": 3.0},
                   "calibration_batches": {"100": 20, "1000": 20}, "scenarios": SCENARIOS,
                   "peak_mb": {"100": 1.5, "1000": 2.5}},
        "_timeline": {"months": months, "rows": 1000,
                      "auc": [0.8] * 3 + [0.65, 0.7, 0.7, 0.7, 0.69, 0.66, 0.64, 0.65, 0.69],
                      "auc_reference": 0.65, "tolerance": 0.005, "deserved": [m == 10 for m in months],
                      "score": [float(m) for m in months], "default": [months_warned] * 12, "calibrated": [False] * 12,
                      "threshold": 3.0, "flagged": [[] for _ in months], "rank_correlation": -0.25,
                      "delay": {"default": {"text": "0 month(s) after month 10"}, "calibrated": {"text": "missed"}}},
    }
    if perf:
        facts["_performance"] = {"months": months[4:], "estimated": [0.68] * 8, "true": [0.7] * 8, "rows": 1000,
                                 "concept": {"month": 5, "estimated": 0.68, "true": 0.6}}
    metrics = {f"check_ms_{s}": {"median": 10.0 * (i + 1), "ci95": [9.0, 12.0]} for i, s in enumerate(SIZES)}
    return {"status": "ok", "baseline": baseline, "facts": facts, "metrics": metrics}


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


def test_no_suite_no_figures():
    assert figures({"tools": {"x": {"status": "failed", "facts": {}}}}) == []
    assert figures({}) == []
