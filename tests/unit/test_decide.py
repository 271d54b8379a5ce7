"""Scoring, constraint exclusion, ties and sensitivity of bakeoff.host.decide, on small made-up stages
whose right answers can be worked out by hand."""

import json
import math
from pathlib import Path

import pytest

from bakeoff.host.decide import decide, to_json
from bakeoff.host.decide.constraints import licence_allowed
from bakeoff.worker.measure import code_lines
from bakeoff.host.decide.decision import decide_stage
from bakeoff.host.decide.profile import CRITERIA, parse_profile
from bakeoff.host.results_model import upgrade

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_tracking.json"
PROBES = {"search_filter": "search", "local_ui": "UI", "offline": "offline", "model_registry": "registry",
          "roundtrip_exact": "exact"}


def tool(ratio: float, *, spread: float = 0.02, status: str = "ok", probes: dict | None = None, env_mb: float = 100.0,
         license: str = "MIT", lines: int = 50, options: dict | None = None, baseline: bool = False) -> dict:
    """One tool's entry; `ratio` is its sweep time ÷ the baseline's, ±`spread` (relative)."""
    metric = {"unit": "s", "better": "lower", "median": 2.0 * ratio, "ci95": [2.0 * ratio, 2.0 * ratio], "n": 5}
    metric["ratio"] = None if baseline else {"median": ratio, "ci95": [ratio * (1 - spread), ratio * (1 + spread)], "n": 5}
    return {
        "title": "Tool", "status": status, "reason": "" if status == "ok" else "worker exited with code 1",
        "license": license, "env": {"size_mb": env_mb, "packages": 10}, "adapter_lines": lines,
        "options": options or {}, "baseline": baseline,
        "metrics": {} if status != "ok" else {"sweep_seconds": metric},
        "probes": {name: {"status": s, "evidence": f"{name} {s} in this run"} for name, s in (probes or {}).items()},
    }


def results(**tools: dict) -> dict:
    stage = {"title": "Experiment tracking", "baseline": "base", "probes": PROBES,
             # No materiality threshold here: these tests exercise the ratio rule (see the materiality tests).
             "metrics": {"sweep_seconds": {"label": "Sweep wall time", "unit": "s", "better": "lower", "headline": True,
                                           "material": None}},
             "tools": {"base": tool(1.0, baseline=True), **tools}}
    # Written as schema 1 and upgraded as any stored run is: criteria and probe roles come from the stage's spec.
    return upgrade({"schema": 1, "run_id": "r1", "stages": {"tracking": stage}})


def profile(weights: dict | None = None, **constraints) -> object:
    zero = {c: 0 for c in CRITERIA}
    return parse_profile({"profile": {"name": "test"}, "weights": {**zero, **(weights or {"speed": 1})},
                          "constraints": constraints}, "test.toml")


def stage_of(res: dict, prof) -> object:
    return decide(res, prof).stages[0]


def scores(stage, criterion: str) -> dict[str, float]:
    return {c.tool: c.scores[criterion].score.point for c in stage.candidates}


# Scoring


def test_speed_scores_fall_with_the_log_of_the_distance_to_the_best():
    stage = stage_of(results(fast=tool(0.5), mid=tool(2.0), slow=tool(8.0)), profile())
    speed = scores(stage, "speed")
    assert speed["fast"] == 1.0  # the best
    assert speed["base"] == pytest.approx(1 - math.log10(2))  # twice as slow as the best
    assert speed["mid"] == pytest.approx(1 - math.log10(4))
    assert speed["slow"] == 0.0  # 16 times slower: beyond ×10 scores 0
    assert [c.tool for c in stage.candidates] == ["fast", "base", "mid", "slow"]
    assert stage.verdict.kind == "recommend" and stage.verdict.recommended == "fast"
    assert stage.verdict.runner_up == "base"


def test_higher_is_better_metrics_are_turned_round():
    res = results(a=tool(2.0), b=tool(4.0))
    for entry in res["stages"]["tracking"]["tools"].values():
        entry["metrics"]["sweep_seconds"]["better"] = "higher"
    res["stages"]["tracking"]["metrics"]["sweep_seconds"]["better"] = "higher"  # e.g. a throughput
    assert stage_of(res, profile()).verdict.recommended == "b"


def test_capabilities_score_is_the_share_of_probes_passed():
    res = results(rich=tool(1.0, probes={p: "pass" for p in PROBES}),
                  half=tool(1.0, probes={"search_filter": "pass", "local_ui": "pass", "offline": "fail"}))
    stage = stage_of(res, profile({"capabilities": 1}))
    caps = scores(stage, "capabilities")
    assert caps == {"rich": 1.0, "half": 0.5, "base": 0.0}
    part = next(c for c in stage.candidates if c.tool == "half").scores["capabilities"].parts[0]
    assert part.shown == "2 of 4 probes pass"


def test_correctness_counts_failed_checks_and_ignores_unsupported_ones():
    res = results(exact=tool(1.0, probes={"roundtrip_exact": "pass"}),
                  lossy=tool(1.0, probes={"roundtrip_exact": "fail"}),
                  silent=tool(1.0, probes={"roundtrip_exact": "unsupported"}))
    res["stages"]["tracking"]["tools"]["lossy"]["facts"] = {"metric_precision": "float32"}
    # A team that accepts both failures scores them; see the next test for one that does not.
    stage = stage_of(res, profile({"correctness": 1}, accept_failures=["roundtrip_exact", "metric_precision"]))
    correct = scores(stage, "correctness")
    assert correct["exact"] == correct["silent"] == correct["base"] == 1.0
    assert correct["lossy"] == pytest.approx(1 / 3)  # 1 of 3: the finished workload only
    lossy = next(c for c in stage.candidates if c.tool == "lossy").scores["correctness"].parts[0]
    assert lossy.shown == "1 of 3 checks pass" and lossy.detail == "roundtrip_exact; metric precision float32"
    assert stage.verdict.kind == "tie" and stage.verdict.evidence == ["They score the same on every weighted criterion."]


def test_a_tool_failing_a_core_check_is_not_recommended_and_the_verdict_says_so():
    res = results(lossy=tool(0.2, probes={"roundtrip_exact": "fail"}), exact=tool(1.0, probes={"roundtrip_exact": "pass"}))
    stage = stage_of(res, profile({"speed": 1}))  # lossy is five times faster, and wrong
    assert stage.verdict.recommended != "lossy" and "lossy" not in {c.tool for c in stage.candidates}
    assert any("fails a core correctness check: `roundtrip_exact` failed" in r
               for e in stage.excluded if e.tool == "lossy" for r in e.reasons)
    assert stage.verdict.evidence[0].startswith("Not recommended whatever its scores (correctness first): lossy (`roundtrip_exact` failed)")
    accepted = stage_of(res, profile({"speed": 1}, accept_failures=["roundtrip_exact"]))
    assert accepted.verdict.recommended == "lossy"


def test_a_correctness_metric_beyond_its_limit_gates_the_tool():
    res = results(noisy=tool(1.0), quiet=tool(1.0))
    stage = res["stages"]["tracking"]
    stage["metrics"]["false_alarm_pct"] = {"label": "False alarms", "unit": "%", "better": "lower",
                                           "criterion": "correctness", "limit": 20.0}
    for name, alarms in {"base": 5.0, "noisy": 100.0, "quiet": 4.0}.items():
        stage["tools"][name]["metrics"]["false_alarm_pct"] = {"unit": "%", "better": "lower", "median": alarms,
                                                               "ci95": [alarms, alarms]}
    decided = decide_stage("tracking", stage, profile({"correctness": 1}))
    assert "noisy" in {e.tool for e in decided.excluded} and "noisy" not in {c.tool for c in decided.candidates}


def test_differences_below_the_materiality_threshold_are_ties():
    res = results(quick=tool(0.5), slow=tool(1.0))  # sweep 1 s vs 2 s: ×2, but only a second
    stage = res["stages"]["tracking"]
    stage["metrics"]["sweep_seconds"]["material"] = 5.0  # a team does not feel under 5 s
    decided = decide_stage("tracking", stage, profile())
    assert scores(decided, "speed")["quick"] == scores(decided, "speed")["slow"] == 1.0
    assert decided.verdict.kind == "tie"
    stage["metrics"]["sweep_seconds"]["material"] = 0.1  # a team that feels a tenth of a second
    decided = decide_stage("tracking", stage, profile())
    speed = scores(decided, "speed")
    assert speed["quick"] == 1.0 and speed["slow"] == pytest.approx(1 - (1.0 - 0.1) / 0.9)  # 0 at ten thresholds
    custom = parse_profile({"profile": {"name": "t"}, "weights": {c: 0 for c in CRITERIA} | {"speed": 1},
                            "materiality": {"tracking": {"sweep_seconds": 5.0}}}, "t.toml")
    assert decide_stage("tracking", stage, custom).verdict.kind == "tie"  # the profile's threshold wins


def test_simplicity_and_footprint_favour_less():
    res = results(small=tool(1.0, lines=40, env_mb=100), big=tool(1.0, lines=160, env_mb=800))
    res["stages"]["tracking"]["tools"]["base"].update(adapter_lines=80, env={"size_mb": 400, "packages": 3})
    stage = stage_of(res, profile({"simplicity": 1, "footprint": 1}))
    # Materiality: 40 more lines (under 50) is a tie; 120 more costs (120 - 50) / 450.
    assert scores(stage, "simplicity") == {"small": 1.0, "base": 1.0, "big": pytest.approx(1 - 70 / 450)}
    # 300 MB more (over 250) costs (300 - 250) / 2250; 700 MB more costs 450 / 2250.
    assert scores(stage, "footprint") == {"small": 1.0, "base": pytest.approx(1 - 50 / 2250),
                                          "big": pytest.approx(1 - 450 / 2250)}
    assert stage.verdict.recommended == "small"
    assert not any(line.startswith("Simplicity") for line in stage.verdict.evidence)  # an immaterial gap is no evidence
    assert any(line.startswith("Install footprint: small 100\xa0MB env") for line in stage.verdict.evidence)


def test_a_metric_a_tool_did_not_measure_counts_as_the_worst():
    res = results(fast=tool(0.5), blind=tool(0.5))
    del res["stages"]["tracking"]["tools"]["blind"]["metrics"]["sweep_seconds"]
    stage = stage_of(res, profile())
    assert scores(stage, "speed")["blind"] == 0.0
    assert "not measured" in next(c for c in stage.candidates if c.tool == "blind").scores["speed"].note


def test_adapter_lines_skip_blanks_comments_and_docstrings():
    source = '"""Module doc\nover two lines."""\n\nimport os  # why\n# a comment\n\nclass A:\n    """Doc."""\n\n    def f(self):\n        return os.sep\n'
    assert code_lines(source) == 4  # import, class, def, return


def test_the_decision_serialises_to_json():
    decision = decide(json.loads(FIXTURE.read_text()), profile({"speed": 1, "capabilities": 2}))
    text = json.dumps(to_json(decision))
    assert '"verdict"' in text and '"profile"' in text


# Constraints


def test_each_constraint_excludes_with_its_reason():
    res = results(
        online=tool(0.5, probes={"offline": "fail", "local_ui": "pass"}),
        server=tool(0.5, probes={"offline": "pass", "local_ui": "pass"}, options={"server": True}),
        heavy=tool(0.5, probes={"offline": "pass", "local_ui": "pass"}, env_mb=5000),
        closed=tool(0.5, probes={"offline": "pass", "local_ui": "pass"}, license="Proprietary"),
        headless=tool(0.5, probes={"offline": "pass", "local_ui": "unsupported"}),
        broken=tool(0.5, status="failed"),
        good=tool(0.9, probes={"offline": "pass", "local_ui": "pass"}),
    )
    prof = profile(offline=True, no_server=True, ui=True, max_env_mb=1000, licenses=["MIT"], allow_no_tool=False)
    stage = stage_of(res, prof)
    reasons = {e.tool: " ".join(e.reasons) for e in stage.excluded}
    assert "must work with no network: probe `offline` fail: offline fail in this run" in reasons["online"]
    assert "needs an always-on server" in reasons["server"]
    assert "5,000 MB exceeds the 1,000 MB limit" in reasons["heavy"]
    assert "licence Proprietary is not on the allow-list (MIT)" in reasons["closed"]
    assert "must have a UI: probe `local_ui` unsupported" in reasons["headless"]
    assert reasons["broken"].startswith("failed: worker exited")
    assert "allow_no_tool = false" in reasons["base"]
    assert [c.tool for c in stage.candidates] == ["good"]
    assert stage.verdict.recommended == "good" and stage.verdict.runner_up is None
    assert "only tool that meets" in stage.verdict.evidence[0]


def test_required_probes_apply_only_where_a_stage_has_them():
    res = results(reg=tool(1.0, probes={"model_registry": "pass"}), noreg=tool(0.5, probes={"model_registry": "unsupported"}))
    stage = stage_of(res, profile(required_probes=["model_registry"]))
    assert {e.tool for e in stage.excluded} == {"noreg", "base"}
    del res["stages"]["tracking"]["probes"]["model_registry"]
    for entry in res["stages"]["tracking"]["tools"].values():
        entry["probes"].pop("model_registry", None)
    assert not stage_of(res, profile(required_probes=["model_registry"])).excluded


def test_a_constraint_the_stage_cannot_check_is_said_not_guessed():
    res = results(a=tool(1.0))
    del res["stages"]["tracking"]["probes"]["offline"]
    stage = stage_of(res, profile(offline=True))
    assert not stage.excluded
    assert stage.unchecked == ["`offline` is not checked here: no probe of this stage proves it"]


def test_no_candidate_left_is_a_verdict_of_its_own():
    stage = stage_of(results(a=tool(1.0, status="timed_out")), profile(allow_no_tool=False))
    assert stage.verdict.kind == "none" and stage.verdict.recommended is None
    assert stage.verdict.headline == "No tool meets the profile's constraints"


@pytest.mark.parametrize(("licence", "allowed", "ok"), [
    ("MIT", ["mit"], True), ("Apache-2.0 OR MIT", ["MIT"], True), ("Apache-2.0 AND MIT", ["MIT"], False),
    ("(BSD-3-Clause AND MIT)", ["MIT", "BSD-3-Clause"], True), ("", ["MIT"], False),
])
def test_licence_expressions(licence, allowed, ok):
    assert licence_allowed(licence, allowed) is ok


# Ties


def test_overlapping_ratio_intervals_share_one_score():
    stage = stage_of(results(a=tool(2.0, spread=0.1), b=tool(2.1, spread=0.1), c=tool(8.0)), profile())
    speed = scores(stage, "speed")
    assert speed["a"] == speed["b"]  # within noise of each other: not ranked on speed
    assert speed["c"] < speed["a"]


def test_a_tool_within_noise_of_the_baseline_ties_with_it():
    stage = stage_of(results(same=tool(1.02, spread=0.05)), profile())
    assert stage.verdict.kind == "tie" and set(stage.verdict.tied) == {"base", "same"}
    assert [c.rank for c in stage.candidates] == ["1–2", "1–2"]
    assert stage.verdict.recommended is None and stage.verdict.stability == "tie within measurement noise"


def test_totals_within_noise_are_a_tie_but_clear_gaps_are_not():
    res = results(a=tool(0.5, spread=0.2, lines=100), b=tool(0.55, spread=0.2, lines=100), c=tool(4.0, lines=100))
    stage = stage_of(res, profile({"speed": 1}))
    assert stage.verdict.kind == "tie" and stage.verdict.tied == ["a", "b"]
    assert stage.verdict.runner_up == "base"
    narrow = stage_of(results(a=tool(0.5, spread=0.01), b=tool(0.55, spread=0.01)), profile({"speed": 1}))
    assert narrow.verdict.kind == "recommend" and narrow.verdict.recommended == "a"


# Sensitivity


def trade_off() -> dict:
    """fast wins on speed, lean on simplicity; with speed 2 and simplicity 1, fast leads."""
    return results(fast=tool(0.5, lines=300), lean=tool(2.0, lines=50))


def test_sensitivity_finds_the_exact_factor_that_flips_the_verdict():
    res = trade_off()
    res["stages"]["tracking"]["tools"]["base"]["adapter_lines"] = 400
    weights = {"speed": 2, "simplicity": 1}
    stage = stage_of(res, profile(weights))
    assert stage.verdict.recommended == "fast"
    flip = next(f for f in stage.verdict.sensitivity if f.criterion == "simplicity")
    # By hand, with d = log10(4) and fast's simplicity s = 1 − (250 − 50)/450 = 5/9 (250 lines more,
    # 50 of them immaterial): fast = 2·1 + k·s, lean = 2·(1 − d) + k·1; equal at k = 2d/(1 − s) = 4.5 d.
    assert flip.to == "lean" and flip.factor == pytest.approx(4.5 * math.log10(4))
    assert flip.text == "flips to lean if simplicity weighs ×2.8 as much"
    assert stage.verdict.stability == flip.text or "speed" in stage.verdict.stability
    for factor, winner in ((flip.factor * 1.05, "lean"), (flip.factor * 0.95, "fast")):
        moved = stage_of(res, profile({"speed": 2, "simplicity": factor}))
        assert moved.verdict.recommended == winner or moved.verdict.kind == "tie"


def test_every_reported_flip_really_flips_and_nothing_nearer_does():
    res = trade_off()
    res["stages"]["tracking"]["tools"]["middle"] = tool(1.0, lines=100)
    weights = {"speed": 3, "simplicity": 1, "footprint": 1}
    stage = stage_of(res, profile(weights))
    leader = max(stage.candidates, key=lambda c: c.total.point).tool
    for flip in stage.verdict.sensitivity:
        for factor in (0.25, 0.5, 0.8, 1.25, 2.0, 4.0):
            moved = decide_stage("tracking", res["stages"]["tracking"], profile({**weights, flip.criterion: weights[flip.criterion] * factor}))
            new_leader = max(moved.candidates, key=lambda c: c.total.point).tool
            nearer = flip.factor is None or abs(math.log(factor)) < abs(math.log(flip.factor)) - 1e-9
            if nearer:
                assert new_leader == leader, (flip, factor)
        if flip.factor is not None:
            beyond = flip.factor * (1.02 if flip.factor > 1 else 0.98)
            moved = decide_stage("tracking", res["stages"]["tracking"], profile({**weights, flip.criterion: weights[flip.criterion] * beyond}))
            assert max(moved.candidates, key=lambda c: c.total.point).tool == flip.to


def test_a_dominant_winner_is_stable():
    res = results(best=tool(0.3, lines=20, env_mb=50), worse=tool(3.0, lines=300, env_mb=900))
    stage = stage_of(res, profile({"speed": 1, "simplicity": 1, "footprint": 1}))
    assert stage.verdict.recommended == "best" and stage.verdict.stability == "stable"
    assert all(f.factor is None and f.text.startswith("stable for any") for f in stage.verdict.sensitivity)


def test_evidence_names_the_figures_behind_the_choice():
    res = results(a=tool(0.5, lines=40, probes={"search_filter": "pass"}), b=tool(2.0, lines=90))
    stage = stage_of(res, profile({"speed": 3, "simplicity": 1, "capabilities": 1}))
    assert stage.verdict.recommended == "a" and stage.verdict.runner_up == "base"
    assert len(stage.verdict.evidence) <= 3
    first = stage.verdict.evidence[0]
    assert first.startswith("Speed (sweep wall time): a ×0.500 [0.490–0.510] vs base ×1 (baseline)")


def test_ranks_are_the_places_the_intervals_allow():
    from bakeoff.host.decide.scoring import Score
    from bakeoff.host.decide.verdict import rank

    total = {"a": Score(0.95, 0.90, 1.00), "b": Score(0.88, 0.85, 0.92), "c": Score(0.83, 0.80, 0.86), "d": Score(0.5, 0.5, 0.5)}
    # a overlaps b, b overlaps c, but a is clearly ahead of c: overlap does not chain.
    assert rank(total) == [("a", "1–2", 0), ("b", "1–3", 0), ("c", "2–3", 1), ("d", "4", 2)]


def test_each_metric_feeds_the_criterion_its_stage_names():
    from bakeoff.host.decide.criteria import stage_criteria

    stage = {"metrics": {"latency_p99_ms": {"unit": "ms", "better": "lower", "criterion": "speed"},
                         "throughput": {"unit": "req/s", "better": "higher", "criterion": "speed"},
                         "rss_mb": {"unit": "MB", "better": "lower", "criterion": "resource"},
                         "cold_start_seconds": {"unit": "s", "better": "lower", "criterion": "cold_start"},
                         "stop_seconds": {"unit": "s", "better": "lower", "criterion": "shown"},
                         "caught_pct": {"unit": "%", "better": "higher", "criterion": "correctness"}},
             "probes": {"roundtrip": {"label": "exact", "core": True}, "ui": {"label": "ui", "proves": "ui"}}}
    row = stage_criteria("newstage", stage, profile())
    assert row.metrics == {"correctness": ("caught_pct",), "speed": ("latency_p99_ms", "throughput"),
                           "cold_start": ("cold_start_seconds",), "resource": ("rss_mb",)}
    assert row.correctness_probes == ("roundtrip",)  # a shown metric and a feature probe feed nothing


def test_a_profile_can_choose_the_metrics_of_a_criterion():
    from bakeoff.host.decide.criteria import stage_criteria

    res = results(a=tool(1.0))
    custom = parse_profile({"profile": {"name": "t"}, "metrics": {"tracking": {"speed": ["sweep_seconds"]}}}, "t.toml")
    assert stage_criteria("tracking", res["stages"]["tracking"], custom).metrics["speed"] == ("sweep_seconds",)
    stage = decide_stage("tracking", res["stages"]["tracking"], custom)
    assert next(c for c in stage.criteria if c.key == "speed").inputs == "sweep_seconds"


def test_quality_figures_count_towards_correctness_as_shares():
    res = results(sharp=tool(1.0), blunt=tool(1.0))
    stage = res["stages"]["tracking"]
    stage["metrics"]["caught_pct"] = {"label": "Drift caught", "unit": "%", "better": "higher", "criterion": "correctness"}
    stage["metrics"]["false_alarm_pct"] = {"label": "False alarms", "unit": "%", "better": "lower", "criterion": "correctness"}
    figures = {"base": (60.0, 10.0), "sharp": (90.0, 0.0), "blunt": (90.0, 30.0)}
    for name, (caught, alarms) in figures.items():
        stage["tools"][name]["metrics"]["caught_pct"] = {"unit": "%", "better": "higher", "median": caught, "ci95": [caught, caught]}
        stage["tools"][name]["metrics"]["false_alarm_pct"] = {"unit": "%", "better": "lower", "median": alarms, "ci95": [alarms, alarms]}
    decided = decide_stage("newstage", stage, profile({"correctness": 1}))
    correct = scores(decided, "correctness")
    # Half the finished-workload checks (all pass), half the mean of the two quality shares.
    assert correct["sharp"] == pytest.approx(0.5 + 0.5 * (0.9 + 1.0) / 2)
    assert correct["blunt"] == pytest.approx(0.5 + 0.5 * (0.9 + 0.7) / 2)
    assert decided.verdict.recommended == "sharp"
    assert decided.verdict.evidence[0] == "Correctness (false alarms): sharp 0.00% [0.00–0.00] vs blunt 30.0% [30.0–30.0]"
