"""The reference data cache: content, caching, atomicity, and the worker-side readers."""

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from bakeoff.host import prepare as prep
from bakeoff.data.batches import (
    CATEGORICAL,
    FEATURES,
    LABEL,
    NUMERIC,
    load_month,
    load_months,
    load_reference_model,
    training_frame,
)

SOURCE_ROWS = 336_776


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    steps = []
    info = prep.prepare(tmp_path_factory.mktemp("cache"), on_step=steps.append)
    return info, steps


def test_builds_twelve_monthly_files_a_model_and_a_manifest(prepared):
    info, steps = prepared
    assert steps == ["loading flights", "writing monthly batches", "training reference model",
                     "scoring every month with the reference model"]
    months = sorted(p.name for p in info.dir.glob("month=*.parquet"))
    assert months == [f"month={m:02d}.parquet" for m in range(1, 13)]
    assert {p.name for p in info.dir.iterdir()} == set(months) | {"model.pkl", "model_scores.parquet", "manifest.json"}
    assert info.dir.name == info.key == info.summary["key"]
    assert info.summary == json.loads((info.dir / "manifest.json").read_text())


def test_every_flight_is_kept_or_counted_as_excluded(prepared):
    info, _ = prepared
    rows = {m: len(load_month(info.dir, m)) for m in range(1, 13)}
    assert rows == {int(k): v for k, v in info.summary["rows_per_month"].items()}
    assert sum(rows.values()) == info.summary["rows_total"]
    assert sum(rows.values()) + info.summary["cancelled_excluded"] == SOURCE_ROWS
    assert sum(info.summary["excluded_breakdown"].values()) == info.summary["cancelled_excluded"]


def test_columns_and_label_are_clean(prepared):
    info, _ = prepared
    year = load_months(info.dir, range(1, 13))
    assert list(year.columns) == FEATURES + [LABEL]
    assert year[LABEL].notna().all()
    assert set(year[LABEL].unique()) == {0, 1}
    assert year[CATEGORICAL + ["month", "sched_dep_hour", "distance"]].notna().all().all()
    assert year["sched_dep_hour"].between(0, 23).all()
    assert year["weekday"].between(0, 6).all()
    # Weather joins for nearly every flight; the few gaps stay NaN rather than being invented.
    assert 0 < info.summary["rows_without_weather"] < 0.01 * len(year)
    assert abs(year[LABEL].mean() - info.summary["positive_rate"]) < 1e-6


def test_manifest_hashes_match_the_files(prepared):
    info, _ = prepared
    files = info.summary["files"]
    assert set(files) == {p.name for p in info.dir.iterdir()} - {"manifest.json"}
    for name, entry in files.items():
        assert hashlib.sha256((info.dir / name).read_bytes()).hexdigest() == entry["sha256"]


def test_validation_auc_is_plausible_and_reproduced_by_the_pickled_model(prepared):
    info, _ = prepared
    auc = info.summary["validation_auc"]
    assert 0.6 < auc < 0.95
    valid = load_month(info.dir, 4)
    scores = load_reference_model(info.dir).predict_proba(valid[FEATURES])[:, 1]
    assert roc_auc_score(valid[LABEL], scores) == auc


def test_second_call_is_a_cache_hit_that_touches_nothing(prepared):
    info, _ = prepared
    before = {p.name: p.stat().st_mtime_ns for p in info.dir.iterdir()}
    steps = []
    again = prep.prepare(info.dir.parent, on_step=steps.append)
    assert again.key == info.key and again.dir == info.dir
    assert again.summary == info.summary
    assert steps == [f"using cached data {info.key}"]
    assert {p.name: p.stat().st_mtime_ns for p in info.dir.iterdir()} == before
    assert [p.name for p in info.dir.parent.iterdir()] == [info.key]  # no temp folders left


def test_changing_prep_version_changes_the_key(prepared, monkeypatch):
    info, _ = prepared
    assert prep.cache_key() == info.key
    monkeypatch.setattr(prep, "PREP_VERSION", "changed")
    assert prep.cache_key() != info.key
    assert prep.cache_key(seed=1) != prep.cache_key()


def test_a_damaged_folder_is_not_taken_for_a_cache_hit(prepared, tmp_path):
    info, _ = prepared
    copy = shutil.copytree(info.dir, tmp_path / info.key)
    assert prep._complete_manifest(copy, info.key) == info.summary
    with open(copy / "month=07.parquet", "r+b") as fh:
        fh.truncate(100)
    assert prep._complete_manifest(copy, info.key) is None
    assert prep._complete_manifest(copy, "0" * 16) is None


def test_an_interrupted_prepare_leaves_no_folder(tmp_path, monkeypatch):
    def interrupted(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(prep, "_train_reference", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prep.prepare(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_training_frame_is_deterministic_per_seed(prepared):
    info, _ = prepared
    first = training_frame(info.dir, 2000, seed=7)
    second = training_frame(info.dir, 2000, seed=7)
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    x_train, y_train, x_valid, y_valid = first
    assert (len(x_train), len(y_train), len(x_valid), len(y_valid)) == (2000, 2000, 1000, 1000)
    assert list(x_train.columns) == FEATURES
    assert set(x_train["month"]) <= {1, 2, 3} and set(x_valid["month"]) == {4}
    # Shared categories keep the codes of train and valid aligned for native categorical models.
    for column in CATEGORICAL:
        assert x_train[column].dtype == x_valid[column].dtype
    other = training_frame(info.dir, 2000, seed=8)
    assert not np.array_equal(other[0][NUMERIC].to_numpy(), x_train[NUMERIC].to_numpy())


def test_training_frame_rejects_impossible_sizes(prepared):
    info, _ = prepared
    with pytest.raises(ValueError, match="rows must be"):
        training_frame(info.dir, 10**7, seed=1)
    with pytest.raises(ValueError, match="month must be"):
        load_month(info.dir, 13)
