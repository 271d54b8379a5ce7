"""The scenario generator on the real prepared data: the split, determinism, and that each
injected change is what its ground truth says."""

import numpy as np
import pandas as pd
import pytest

from bakeoff.data.batches import load_month
from bakeoff.stages.monitoring.scenarios import (
    CATEGORICAL,
    DRIFT_SCENARIOS,
    MONITORED,
    SCENARIOS,
    UNSEEN_CARRIER,
    Scenarios,
    quality_problem_batch,
)


@pytest.fixture(scope="module")
def scenarios(data_dir) -> Scenarios:
    return Scenarios(data_dir, seed=2013, reference_rows=50_000)


def test_month_is_not_monitored_and_every_scenario_states_its_truth():
    assert "month" not in MONITORED and set(CATEGORICAL) <= set(MONITORED)
    for name, scenario in SCENARIOS.items():
        assert set(scenario.truth) <= set(MONITORED), name
        assert scenario.drift == bool(scenario.truth), name  # drift scenarios name what they changed
    assert "concept" not in DRIFT_SCENARIOS and "no_drift" not in DRIFT_SCENARIOS and len(DRIFT_SCENARIOS) == 8


def test_the_split_is_disjoint_and_covers_the_window(scenarios):
    parts = [scenarios.reference, scenarios.calibration_pool, scenarios.evaluation_pool]
    assert sum(len(p) for p in parts) == len(scenarios.window)
    assert len(scenarios.reference) == 50_000
    keys = [set(map(tuple, p.astype(str).to_numpy())) for p in parts]
    whole = set(map(tuple, scenarios.window.astype(str).to_numpy()))
    # Identical flights can repeat in the data, so compare as multisets through the union's size.
    assert len(keys[0] | keys[1] | keys[2]) == len(whole)


def test_another_split_is_another_shuffle(data_dir, scenarios):
    other = Scenarios(data_dir, seed=2013, reference_rows=50_000, split=1)
    assert not other.reference.equals(scenarios.reference)


def test_batches_are_deterministic_and_distinct(scenarios):
    first = scenarios.batch("cov_temp_medium", 1000, 0).features
    pd.testing.assert_frame_equal(first, scenarios.batch("cov_temp_medium", 1000, 0).features)
    assert not first.equals(scenarios.batch("cov_temp_medium", 1000, 1).features)
    assert not first.equals(scenarios.batch("cov_temp_small", 1000, 0).features)
    assert list(first.columns) == MONITORED and len(first) == 1000


def test_a_no_drift_batch_never_repeats_a_row_of_its_pool(scenarios):
    batch = scenarios.batch("no_drift", 10_000, 0).features
    pool = scenarios.evaluation_pool[MONITORED]
    assert batch.duplicated().sum() <= pool.duplicated().sum()  # only the pool's own duplicates


def test_temperature_shift_grows_with_its_magnitude(scenarios):
    mean, sd = scenarios.stats["temp"]
    shifts = {name: (scenarios.batch(name, 10_000, 0).features["temp"].mean() - mean) / sd
              for name in ("no_drift", "cov_temp_small", "cov_temp_medium", "cov_temp_strong")}
    assert abs(shifts["no_drift"]) < 0.05
    assert 0.04 < shifts["cov_temp_small"] < 0.2
    assert 0.2 < shifts["cov_temp_medium"] < 0.45
    assert 0.6 < shifts["cov_temp_strong"] < 1.3


def test_categorical_and_quality_injections(scenarios):
    reference = scenarios.reference
    share = lambda frame, carrier: float((frame["carrier"] == carrier).mean())  # noqa: E731
    mix = scenarios.batch("cat_carrier_mix", 10_000, 0).features
    assert share(mix, "EV") > 1.6 * share(reference, "EV") and share(mix, "UA") < 0.7 * share(reference, "UA")
    unseen = scenarios.batch("cat_unseen", 10_000, 0).features
    assert UNSEEN_CARRIER not in set(reference["carrier"]) and 0.04 < share(unseen, UNSEEN_CARRIER) < 0.06
    missing = scenarios.batch("quality_missing", 10_000, 0).features
    assert 0.23 < missing["wind_speed"].isna().mean() < 0.28
    celsius = scenarios.batch("quality_unit", 10_000, 0).features
    assert celsius["temp"].max() < 25 < reference["temp"].mean()


def test_concept_drift_changes_labels_only_for_evening_flights(scenarios):
    frame = scenarios.evaluation_pool.head(5_000)
    changed = scenarios.concept_labels(frame, np.random.default_rng(1))
    evening = frame["sched_dep_hour"] >= 18
    pd.testing.assert_frame_equal(changed[MONITORED], frame[MONITORED])
    assert (changed.loc[~evening, "late"] == frame.loc[~evening, "late"]).all()
    assert (changed.loc[evening, "late"] != frame.loc[evening, "late"]).any()


def test_month_batches_come_from_their_month(scenarios):
    batch = scenarios.month_batch(2, 1000)
    assert len(batch.features) == 1000 and len(batch.labels) == 1000
    assert set(batch.model_frame["month"]) == {2}
    late = scenarios.month_batch(9, 1000)
    assert set(late.model_frame["month"]) == {9}


def test_quality_problem_batch_breaks_two_columns(scenarios):
    broken = quality_problem_batch(scenarios.batch("no_drift", 1000, 0))
    assert broken["distance"].map(type).eq(str).all() and broken["distance"].str.endswith(" mi").all()
    assert broken["wind_speed"].isna().mean() > 0.15


def test_model_scores_travel_as_data_and_equal_the_models_own(data_dir, scenarios):
    from bakeoff.data.batches import load_reference_model

    from bakeoff.stages.monitoring.scenarios import MODEL_FEATURES, month_scores

    month = load_month(data_dir, 5)
    stored = month_scores(data_dir, 5)
    assert np.array_equal(stored, load_reference_model(data_dir).predict_proba(month[MODEL_FEATURES])[:, 1])
    batch = scenarios.month_batch(5, 1000)
    rows = month.reset_index().merge(batch.model_frame.assign(score=batch.scores), on=MODEL_FEATURES)
    assert batch.scores is not None and len(batch.scores) == 1000
    assert np.allclose(stored[rows["index"]], rows["score"])  # each drawn row kept its own score
    assert scenarios.batch("no_drift", 100, 0).scores is None  # only production month batches carry them
