"""The monitoring stage's pure logic: calibration (and calibration that cannot separate), rates,
delay, rank correlation, scores, verdict checks."""

import math

import numpy as np
import pytest

from bakeoff.stages.monitoring.contract import Verdict, distance_score, p_value_score
from bakeoff.stages.monitoring.scenarios import MONITORED
from bakeoff.stages.monitoring.section import wilson
from bakeoff.stages.monitoring.verdicts import (
    alarms,
    calibrate,
    calibrated_threshold,
    detection_delay,
    named,
    saturated,
    spearman,
)
from bakeoff.stages.monitoring.workload import Mismatch, sanity_check, validate


def test_calibrated_threshold_is_the_conformal_order_statistic():
    scores = list(range(1, 21))  # 20 scores: k = ceil(0.95 * 21) = 20 -> the largest
    assert calibrated_threshold(scores) == 20
    scores = list(range(1, 201))  # 200 scores: k = ceil(0.95 * 201) = 191
    assert calibrated_threshold(scores) == 191
    assert calibrated_threshold([3.0]) == 3.0
    assert calibrated_threshold([5, 1, 4, 2, 3]) == 5  # order does not matter


def test_calibration_keeps_false_alarms_at_or_below_five_percent_on_exchangeable_scores():
    rng = np.random.default_rng(7)
    rates = []
    for _ in range(400):
        threshold = calibrated_threshold(rng.normal(size=20))
        rates.append(np.mean(alarms(rng.normal(size=200), threshold)))
    assert np.mean(rates) <= 0.055  # 1/21 = 4.8% expected; interpolating would give about 9.5%


def test_calibration_refuses_what_it_cannot_rank():
    with pytest.raises(ValueError):
        calibrated_threshold([])
    with pytest.raises(ValueError):
        calibrated_threshold([1.0, math.inf])


def test_a_tie_at_the_threshold_does_not_alarm():
    assert alarms([1.0, 1.0, 1.5], 1.0) == [False, False, True]


CAP = p_value_score(0.0, 0.05)  # a p-value at the floor: whylogs' chi-squared on a rare category


def feature_checks(rng, n: int, stuck: dict[str, float] | None = None) -> tuple[list[float], list[dict[str, float]]]:
    """n no-drift checks of 12 features with continuous scores, some features stuck at a value."""
    features = []
    for _ in range(n):
        scores = {name: float(rng.exponential(0.3)) for name in MONITORED}
        scores.update(stuck or {})
        features.append(scores)
    return [max(f.values()) for f in features], features


def test_a_continuous_score_is_not_saturated_and_calibrates_as_before():
    rng = np.random.default_rng(1)
    scores, features = feature_checks(rng, 20)
    calibration = calibrate(scores, features)
    assert calibration.usable and calibration.threshold == calibrated_threshold(scores)
    assert calibration.statistic == "dataset score" and calibration.note == "" and not calibration.excluded
    assert calibration.value(9.0, {"temp": 0.1}) == 9.0  # the dataset score itself


def test_a_score_at_its_cap_on_every_calibration_batch_is_saturated():
    assert saturated([CAP] * 20, CAP)
    assert saturated([CAP] * 11 + [1.0] * 9, CAP)  # half or more sit on the threshold
    assert not saturated([CAP] * 2 + list(range(18)), CAP)  # two cap hits among varied scores: a quantile
    assert not saturated([0.0] * 20, 0.0)  # "no evidence" on every batch is not a ceiling: any rise is caught


def test_one_feature_at_the_cap_is_named_and_left_out_so_the_others_still_separate():
    rng = np.random.default_rng(2)
    scores, features = feature_checks(rng, 20, stuck={"dest": CAP})
    assert set(scores) == {CAP}  # the dataset score is the cap on every batch, as whylogs' was
    calibration = calibrate(scores, features)
    assert calibration.saturated == ("dest",) and calibration.excluded == ("dest",)
    assert calibration.usable and calibration.threshold < 3
    assert "dest scored 230.6 on 20 of 20" in calibration.note
    drifted = {**features[0], "temp": 50.0}
    quiet = {**features[1]}
    assert calibration.alarms([(CAP, drifted), (CAP, quiet)]) == [True, False]


def test_a_feature_that_reaches_the_cap_on_one_calibration_batch_is_left_out_too():
    """whylogs at 1,000 rows: dest at the cap on every batch, carrier on some; without carrier
    out too, the fallback's threshold would be the cap again and nothing could exceed it."""
    rng = np.random.default_rng(5)
    scores, features = feature_checks(rng, 20, stuck={"dest": CAP})
    features[3]["carrier"] = CAP
    calibration = calibrate(scores, features)
    assert calibration.excluded == ("carrier", "dest") and calibration.threshold < 3
    assert "carrier scored 230.6 on 1 of 20" in calibration.note


def test_a_cap_reached_by_one_batch_without_a_stuck_feature_is_not_guessed():
    rng = np.random.default_rng(6)
    scores, features = feature_checks(rng, 20)
    features[0]["origin"] = CAP
    scores[0] = CAP
    calibration = calibrate(scores, features)  # nothing shows CAP is a cap: an ordinary quantile
    assert calibration.threshold == CAP and calibration.statistic == "dataset score"


def test_a_calibration_that_cannot_separate_has_no_threshold_and_no_rate():
    scores = [CAP] * 20
    every_feature_stuck = [{name: CAP for name in MONITORED} for _ in scores]
    calibration = calibrate(scores, every_feature_stuck)
    assert not calibration.usable and calibration.threshold is None
    assert calibration.alarms([(CAP, every_feature_stuck[0])]) is None
    assert "cannot separate" in calibration.note and "dest" in calibration.note
    nothing_stuck = calibrate(scores, [{"temp": float(i)} for i in range(20)])  # a cap of the dataset score alone
    assert not nothing_stuck.usable and "no single feature" in nothing_stuck.note


def test_calibration_on_the_saturated_fallback_keeps_false_alarms_near_five_percent():
    rng = np.random.default_rng(11)
    rates = []
    for _ in range(200):
        calibration = calibrate(*feature_checks(rng, 20, stuck={"dest": CAP}))
        checks = list(zip(*feature_checks(rng, 100, stuck={"dest": CAP})))
        rates.append(np.mean(calibration.alarms(checks)))
    assert np.mean(rates) <= 0.06  # 1/21 = 4.8% expected


def test_wilson_interval_is_sane_at_the_edges():
    low, high = wilson(0, 30)
    assert low == 0.0 and 0.10 < high < 0.12
    low, high = wilson(30, 30)
    assert 0.88 < low < 0.90 and high == 1.0
    low, high = wilson(3, 30)
    assert low < 0.1 < high
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_spearman_uses_ranks_and_is_undefined_for_a_constant_score():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)  # monotone, not linear
    assert spearman([4, 3, 2, 1], [1, 2, 3, 4]) == pytest.approx(-1.0)
    assert math.isnan(spearman([5, 5, 5, 5], [1, 2, 3, 4]))


def test_detection_delay_counts_months_from_the_first_deserved_one():
    months = list(range(1, 13))
    deserved = [m >= 10 for m in months]
    caught_late = detection_delay(months, deserved, [m == 12 for m in months])
    assert caught_late["delay_months"] == 2 and caught_late["unneeded"] == []
    on_time = detection_delay(months, deserved, [m in (5, 10) for m in months])
    assert on_time["delay_months"] == 0 and on_time["unneeded"] == [5]
    missed = detection_delay(months, deserved, [m == 4 for m in months])
    assert missed["delay_months"] is None and missed["text"].startswith("missed")
    nothing = detection_delay(months, [False] * 12, [True] * 12)
    assert nothing["first_deserved"] is None and len(nothing["unneeded"]) == 12


def test_named_needs_every_changed_feature():
    assert named(["temp", "dest"], ["temp"])
    assert not named(["distance", "humid"], ["distance", "wind_speed", "humid"])
    assert not named(["temp"], [])  # no ground-truth feature: nothing to name


def test_scores_sit_at_one_on_the_tools_own_threshold():
    assert p_value_score(0.05, 0.05) == pytest.approx(1.0)
    assert p_value_score(1.0, 0.05) == 0.0
    assert p_value_score(0.0, 0.05) == pytest.approx(math.log(1e-300) / math.log(0.05))  # finite, capped
    assert p_value_score(0.001, 0.05) > 1.0 > p_value_score(0.2, 0.05)
    assert distance_score(0.2, 0.1) == pytest.approx(2.0)


def verdict(**changes) -> Verdict:
    base = dict(drift=True, score=3.0, feature_scores={c: 0.5 for c in MONITORED}, flagged=["temp"])
    return Verdict(**{**base, **changes})


def test_a_well_formed_verdict_passes_and_a_malformed_one_is_a_mismatch():
    assert validate(verdict(), "ok") is not None
    with pytest.raises(Mismatch, match="finite"):
        validate(verdict(score=math.nan), "nan score")
    with pytest.raises(Mismatch, match="no score for"):
        validate(verdict(feature_scores={"temp": 1.0}), "missing features")
    with pytest.raises(Mismatch, match="unknown"):
        validate(verdict(flagged=["temperature"]), "unknown feature")
    with pytest.raises(Mismatch, match="not a Verdict"):
        validate({"drift": True}, "dict")


def test_a_monitor_that_misses_celsius_fails_the_sanity_check():
    sanity_check(verdict(), 1000)
    with pytest.raises(Mismatch, match="not flagged on temp"):
        sanity_check(verdict(flagged=["dest"]), 1000)
