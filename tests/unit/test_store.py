import sqlite3

import pytest

from bakeoff.host.registry import ConfigError
from bakeoff.host.store import SCHEMA_VERSION, Store, TrialRecord


def make_store(tmp_path):
    store = Store(tmp_path / "results.sqlite")
    store.create_run("r1", created="2026-01-01T00:00:00Z", command="bakeoff run", settings={"repeats": 3},
                     host={"cores": 2}, data={"key": "k"})
    return store


def test_trial_round_trips_with_raw_samples_and_probes(tmp_path):
    store = make_store(tmp_path)
    record = TrialRecord("tracking/a/sweep-r1", "tracking", "a", "sweep", 1, "ok", seconds=1.5, log="logs/x.log",
                         facts={"search": "search API"}, metrics={"sweep_seconds": 2.0},
                         samples={"single_log_ms": [0.1, 0.2, 0.3]},
                         probes={"offline": {"status": "pass", "evidence": "e"}})
    store.record_trial("r1", record)
    [back] = store.trials("r1")
    assert back == record
    assert store.finished_trials("r1") == {"tracking/a/sweep-r1"}


def test_rerecording_a_trial_replaces_it_whole(tmp_path):
    store = make_store(tmp_path)
    store.record_trial("r1", TrialRecord("t", "tracking", "a", "sweep", 1, "failed", metrics={"m": 1.0}))
    store.record_trial("r1", TrialRecord("t", "tracking", "a", "sweep", 1, "ok", metrics={"m": 2.0}))
    [back] = store.trials("r1")
    assert (back.status, back.metrics) == ("ok", {"m": 2.0})


def test_a_failed_write_leaves_nothing_half_written(tmp_path):
    store = make_store(tmp_path)
    bad = TrialRecord("t", "tracking", "a", "sweep", 1, "ok", probes={"p": {"status": "pass"}})  # no evidence
    with pytest.raises(KeyError):
        store.record_trial("r1", bad)
    assert store.trials("r1") == []


def test_phases_add_up_across_resumed_sessions(tmp_path):
    store = make_store(tmp_path)
    store.finish_run("r1", "interrupted", {"trials": 10.0})
    store.finish_run("r1", "complete", {"trials": 5.0, "report": 1.0})
    run = store.run("r1")
    assert run["phases"] == {"trials": 15.0, "report": 1.0}
    assert run["wall_seconds"] == 16.0 and run["status"] == "complete"


def test_unknown_run_is_a_config_error_naming_recent_runs(tmp_path):
    store = make_store(tmp_path)
    with pytest.raises(ConfigError, match="r1"):
        store.run("nope")


def test_other_schema_version_is_refused(tmp_path):
    make_store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "results.sqlite")
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    with pytest.raises(ConfigError, match="schema"):
        Store(tmp_path / "results.sqlite")
