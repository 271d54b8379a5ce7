"""`bakeoff run --budget MINUTES`: the sizes and repeats with the most evidence whose estimate
(from earlier trial durations in the same results database) fits, and never less than a quick
run with 3 repeats."""

from pathlib import Path

import pytest

from bakeoff.host import bake
from bakeoff.host.plan import make_plan
from bakeoff.host.store import Store, TrialRecord


def options(tmp_path: Path, **changes) -> bake.RunOptions:
    base = dict(stages=["tracking"], tools=[], quick=False, repeats=None, out=tmp_path, resume=None, timeout=None,
                keep_scratch=False, offline=False, command="bakeoff run", budget=None)
    return bake.RunOptions(**{**base, **changes})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A database holding one earlier quick run (2 s a trial) and one full run (60 s a trial)."""
    store = Store(tmp_path / "results.sqlite")
    selection = bake.select(["tracking"], [])
    for run_id, quick, seconds in (("q", True, 2.0), ("f", False, 60.0)):
        store.create_run(run_id, created="2026-12-01T00:00:00Z", command="", settings={"quick": quick},
                         host={}, data={})
        for trial in make_plan(selection.stages, selection.entries, 5):
            store.record_trial(run_id, TrialRecord(trial.trial_id, trial.stage, trial.entry, trial.kind,
                                                   trial.round, "ok", seconds=seconds))
    return store


def chosen(tmp_path: Path, store: Store, **changes) -> tuple[bake.RunOptions, dict]:
    return bake.fit_budget(options(tmp_path, **changes), bake.select(["tracking"], []), store)


def test_a_large_budget_gets_full_sizes_and_five_repeats(tmp_path, store):
    picked, fitted = chosen(tmp_path, store, budget=10_000)
    assert (picked.quick, picked.repeats, fitted["fits"]) == (False, 5, True)


def test_a_class_length_budget_gets_the_quick_run(tmp_path, store):
    selection = bake.select(["tracking"], [])
    quick_five = len(make_plan(selection.stages, selection.entries, 5)) * 2.0
    picked, fitted = chosen(tmp_path, store, budget=(quick_five + 1) / 60)
    assert (picked.quick, picked.repeats, fitted["fits"]) == (True, 5, True)
    assert fitted["estimate_s"] <= quick_five + 1


def test_nothing_fits_names_the_least_evidence_and_the_tools_that_fit(tmp_path, store):
    picked, fitted = chosen(tmp_path, store, budget=0.01)
    assert (picked.quick, picked.repeats, fitted["fits"]) == (True, 3, False)
    assert fitted["fits_with"] == [] and fitted["fits_with_s"] > 0.01 * 60  # not even the baseline


def test_a_class_slot_gets_the_cheapest_tools_that_fit(tmp_path):
    """Earlier quick trials of 1 s for the baseline, 2 s for dvclive, 30 s for every other
    tracker: a budget that holds the baseline and dvclive but no third tool names dvclive."""
    store = Store(tmp_path / "results.sqlite")
    selection = bake.select(["tracking"], [])
    store.create_run("q", created="2026-12-01T00:00:00Z", command="", settings={"quick": True}, host={}, data={})
    cost = {"jsonl": 1.0, "dvclive": 2.0}
    for trial in make_plan(selection.stages, selection.entries, 3):
        store.record_trial("q", TrialRecord(trial.trial_id, trial.stage, trial.entry, trial.kind, trial.round, "ok",
                                            seconds=cost.get(trial.entry, 30.0)))
    two = [e for e in selection.entries if e.name in cost]
    holds_two = bake.estimate_trials(store, selection.stages, True, make_plan(selection.stages, two, 3)).seconds
    picked, fitted = chosen(tmp_path, store, budget=(holds_two + 5) / 60, quick=True)
    assert not fitted["fits"] and fitted["fits_with"] == ["dvclive"]
    assert fitted["fits_with_s"] == round(holds_two)


def test_a_run_over_its_budget_is_refused_before_it_starts_with_what_fits(tmp_path, store):
    with pytest.raises(bake.ConfigError, match=r"--budget 0.01: the least evidence .* within 0.01 min here"):
        bake.open_run(options(tmp_path, budget=0.01))
    assert not any(p.is_dir() for p in tmp_path.iterdir())  # no run folder was made


def test_what_the_user_fixed_is_kept(tmp_path, store):
    picked, _ = chosen(tmp_path, store, budget=10_000, quick=True)
    assert (picked.quick, picked.repeats) == (True, 5)
    picked, _ = chosen(tmp_path, store, budget=10_000, repeats=7)
    assert (picked.quick, picked.repeats) == (False, 7)


def test_the_choice_is_kept_in_the_run_settings(tmp_path, store):
    run = bake.open_run(options(tmp_path, budget=10_000))
    assert run.settings["quick"] is False and run.settings["repeats"] == 5
    assert run.settings["budget"]["minutes"] == 10_000 and run.settings["budget"]["fits"]


def test_the_estimate_follows_the_schedule_of_the_run():
    """Trials run side by side take the wall time of two slots, longest first; measured ones add up."""
    assert bake.makespan([5.0, 3.0, 2.0], 2) == 5.0  # 5 | 3 then 2
    assert bake.makespan([5.0, 3.0, 2.0], 1) == 10.0
    selection = bake.select(["tracking"], ["jsonl", "tensorboard"])
    todo = make_plan(selection.stages, selection.entries, 3)
    typical = {(t.stage, t.entry, t.kind): 10.0 for t in todo}
    guess = bake.estimate_trials(None, selection.stages, True, todo, typical)
    groups = bake.machine_groups(todo, {s.name: s for s in selection.stages})
    solo = sum(1 for g in groups if len(g) == 1)
    paired = sum(-(-len(g) // 2) for g in groups if len(g) > 1)
    assert guess.seconds == 10.0 * (solo + paired) < 10.0 * len(todo)
    assert (guess.known, guess.total) == (len(todo), len(todo))
