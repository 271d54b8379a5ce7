"""Stored trials -> results.json: warm-up excluded, ratios paired by round, statuses typed."""

import pytest

from bakeoff.host.results import build_results
from bakeoff.host.store import Store, TrialRecord


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "results.sqlite")
    settings = {"quick": True, "repeats": 3, "stages": ["tracking"], "tools": [],
                "entries": {"tracking": ["jsonl", "tensorboard"]}}
    store.create_run("r", created="2026-01-01T00:00:00Z", command="bakeoff run", settings=settings,
                     host={}, data={})
    return store


def sweep(entry, round_, seconds, status="ok", reason=""):
    return TrialRecord(f"tracking/{entry}/sweep-r{round_}", "tracking", entry, "sweep", round_, status,
                       reason=reason, metrics={"tracking_seconds": seconds} if status == "ok" else {},
                       facts={"worker_seconds": 1.0})


def record(store, *trials):
    for trial in trials:
        store.record_trial("r", trial)


def test_ratios_pair_rounds_and_skip_the_warmup(store):
    record(store, sweep("jsonl", 0, 100.0), sweep("tensorboard", 0, 900.0),  # warm-up: ignored
           sweep("jsonl", 1, 1.0), sweep("tensorboard", 1, 2.0),
           sweep("jsonl", 2, 2.0), sweep("tensorboard", 2, 4.0),
           sweep("jsonl", 3, 4.0), sweep("tensorboard", 3, 8.0))
    tools = build_results(store, "r")["stages"]["tracking"]["tools"]
    figure = tools["tensorboard"]["metrics"]["tracking_seconds"]
    assert figure["samples"] == [2.0, 4.0, 8.0]
    assert figure["ratio"]["samples"] == [2.0, 2.0, 2.0]  # a slow machine in round 3 cancels out
    assert figure["ratio"]["median"] == 2.0 and figure["verdict"] == "worse"
    assert tools["jsonl"]["metrics"]["tracking_seconds"]["ratio"] is None


def test_a_failed_trial_makes_the_tool_failed_with_its_reason(store):
    record(store, sweep("jsonl", 0, 1.0), sweep("jsonl", 1, 1.0),
           sweep("tensorboard", 0, 1.0), sweep("tensorboard", 1, 0, status="failed", reason="Mismatch: values differ"))
    tool = build_results(store, "r")["stages"]["tracking"]["tools"]["tensorboard"]
    assert (tool["status"], tool["reason"]) == ("failed", "Mismatch: values differ")


def test_a_tool_that_never_ran_is_skipped_with_the_way_to_finish(store):
    record(store, sweep("jsonl", 0, 1.0), sweep("jsonl", 1, 1.0))
    tool = build_results(store, "r")["stages"]["tracking"]["tools"]["tensorboard"]
    assert tool["status"] == "skipped" and "--resume" in tool["reason"]


def test_a_once_per_tool_metric_uses_its_in_trial_samples(store):
    capabilities = TrialRecord("tracking/tensorboard/capabilities-r1", "tracking", "tensorboard", "capabilities", 1,
                               "ok", metrics={"search_ms": 3.0}, samples={"search_ms": [3.0, 2.0, 4.0]},
                               probes={"offline": {"status": "pass", "evidence": "ran in a netns"}})
    record(store, sweep("jsonl", 1, 1.0), sweep("tensorboard", 1, 1.0), capabilities)
    tool = build_results(store, "r")["stages"]["tracking"]["tools"]["tensorboard"]
    assert tool["metrics"]["search_ms"]["median"] == 3.0 and tool["metrics"]["search_ms"]["n"] == 3
    assert tool["probes"]["offline"]["status"] == "pass"


def test_overhead_is_time_outside_the_workers(store):
    first, second = sweep("jsonl", 1, 1.0), sweep("tensorboard", 1, 1.0)
    first.facts = {"worker_seconds": 1.0, "worker_ended_at": 1001.0}
    second.facts = {"worker_seconds": 1.0, "worker_ended_at": 1002.5}  # one after the other
    record(store, first, second)
    store.finish_run("r", "complete", {"trials": 2.5, "report": 0.1, "data": 5.0, "envs": 9.0})
    results = build_results(store, "r")
    assert results["overhead_seconds"] == pytest.approx(0.6)


def test_overhead_of_a_run_stored_before_the_stamps_is_unknown_not_zero(store):
    record(store, sweep("jsonl", 1, 1.0), sweep("tensorboard", 1, 1.0))  # worker seconds, no end stamps
    store.finish_run("r", "complete", {"trials": 1.5})
    assert build_results(store, "r")["overhead_seconds"] is None


def test_overhead_counts_side_by_side_workers_once(store):
    """Two workers that ran at the same time cover their common seconds once: the harness's share is
    the wall time in which no worker ran (here 0.5 s of the 3 s trials phase, plus the report)."""
    first = sweep("jsonl", 1, 1.0)
    second = sweep("tensorboard", 1, 1.0)
    first.facts = {"worker_seconds": 2.0, "worker_ended_at": 1002.0}   # ran 1000.0 - 1002.0
    second.facts = {"worker_seconds": 1.5, "worker_ended_at": 1002.5}  # ran 1001.0 - 1002.5, beside it
    record(store, first, second)
    store.finish_run("r", "complete", {"trials": 3.0, "report": 0.1})
    results = build_results(store, "r")
    assert results["overhead_seconds"] == pytest.approx(0.6)  # 3.0 + 0.1 - 2.5 covered
    facts = results["stages"]["tracking"]["tools"]["jsonl"]["facts"]
    assert "worker_ended_at" not in facts and "worker_seconds" not in facts


def test_stage_time_splits_checks_warmup_and_kinds_and_ranks_tools(store):
    """Where a stage's time went: checks and the warm-up round apart from the measured kind,
    kinds that share the machine marked, tools longest first, the wall from first start to last
    end after the checks (which a run of several stages makes all together, first)."""
    check = TrialRecord("tracking/jsonl/check-r1", "tracking", "jsonl", "check", 1, "ok", seconds=2.0,
                        facts={"worker_ended_at": 1002.0})
    trials = [check]
    for entry, round_, seconds, ended in (("jsonl", 0, 1.0, 1003.0), ("jsonl", 1, 1.5, 1005.0),
                                          ("tensorboard", 1, 4.0, 1009.0)):
        trial = sweep(entry, round_, 1.0)
        trial.seconds, trial.facts = seconds, {"worker_ended_at": ended}
        trials.append(trial)
    capabilities = TrialRecord("tracking/jsonl/capabilities-r1", "tracking", "jsonl", "capabilities", 1, "ok",
                               seconds=3.0, facts={"worker_ended_at": 1012.0})
    record(store, *trials, capabilities)
    store.finish_run("r", "complete", {"trials": 12.0})
    time = build_results(store, "r")["stages"]["tracking"]["time"]
    assert time["wall_seconds"] == pytest.approx(10.0)  # warm-up started at 1002, capabilities ended at 1012
    assert list(time["kinds"]) == ["check", "warm-up", "sweep", "capabilities"]
    assert time["kinds"]["sweep"] == {"trials": 2, "seconds": 5.5, "side_by_side": False}
    assert time["kinds"]["warm-up"]["side_by_side"] and time["kinds"]["capabilities"]["side_by_side"]
    assert list(time["tools"].items()) == [("jsonl", 7.5), ("tensorboard", 4.0)]
