from bakeoff.host import registry
from bakeoff.host.plan import make_plan
from bakeoff.stages.tracking.spec import TRACKING


def entries():
    base = registry.entries("tracking")[0]
    return [base, base.model_copy(update={"name": "b"}), base.model_copy(update={"name": "c"})]


def test_plan_interleaves_tools_within_each_round_after_a_warmup():
    plan = make_plan([TRACKING], entries(), repeats=3)
    sweeps = [(t.round, t.entry) for t in plan if t.kind == "sweep"]
    assert sweeps[:6] == [(0, "jsonl"), (0, "b"), (0, "c"), (1, "jsonl"), (1, "b"), (1, "c")]
    assert len(sweeps) == 3 * 4
    assert [t.measured for t in plan if t.kind == "sweep"][:3] == [False, False, False]


def test_once_kinds_run_once_per_tool_at_the_end():
    plan = make_plan([TRACKING], entries(), repeats=2)
    once = [t for t in plan if t.kind in TRACKING.once_kinds]
    for kind in TRACKING.once_kinds:
        assert [t.entry for t in once if t.kind == kind] == ["jsonl", "b", "c"]
    assert plan[-len(once):] == once


def test_trial_ids_are_unique_and_stable():
    plan = make_plan([TRACKING], entries(), repeats=5)
    ids = [t.trial_id for t in plan]
    assert len(ids) == len(set(ids))
    assert ids == [t.trial_id for t in make_plan([TRACKING], entries(), repeats=5)]


def test_the_warmup_round_runs_on_the_stages_warmup_sizes_and_measured_rounds_on_the_full_ones():
    from bakeoff.host.bake import trial_sizes

    plan = make_plan([TRACKING], entries(), repeats=1)
    settings = {"sizes": {"tracking": TRACKING.settings(quick=True)}, "warmup": {"tracking": TRACKING.warmup}}
    warmup, measured = (next(t for t in plan if t.kind == "sweep" and t.round == r) for r in (0, 1))
    assert trial_sizes(warmup, settings)["runs"] == TRACKING.warmup["runs"] < TRACKING.quick["runs"]
    assert trial_sizes(measured, settings) == TRACKING.settings(quick=True)
    # A run stored before warm-up sizes existed resumes with its own sizes throughout.
    assert trial_sizes(warmup, {"sizes": settings["sizes"]}) == TRACKING.settings(quick=True)


def test_checks_run_side_by_side_and_every_measured_trial_alone():
    from bakeoff.host.bake import machine_groups
    from bakeoff.host.plan import Trial

    checks = [Trial("s", name, "check", 1, 60) for name in ("a", "b", "c")]
    measured = [Trial("s", name, "sweep", 1, 60) for name in ("a", "b")]
    later_check = Trial("t", "a", "check", 1, 60)
    groups = machine_groups([*checks, *measured, later_check])
    assert groups == [checks, [measured[0]], [measured[1]], [later_check]]


def test_kinds_marked_shares_machine_run_side_by_side_and_measured_kinds_alone():
    """Only a kind whose every figure is a count, rate or outcome is marked; a run of such
    trials forms one group (two at a time), and a measured kind between them breaks it."""
    import pytest

    from bakeoff.host.bake import machine_groups
    from bakeoff.host.plan import Trial
    from bakeoff.stages.monitoring.spec import MONITORING
    from bakeoff.stages.spec import StageSpec, TrialKind

    specs = {"monitoring": MONITORING}
    assert MONITORING.kinds["suite"].shares_machine and not MONITORING.kinds["scale"].shares_machine
    assert not MONITORING.kinds[MONITORING.repeated_kind].shares_machine
    entries = registry.entries("monitoring")[:3]
    plan = make_plan([MONITORING], entries, repeats=1)
    groups = machine_groups(plan, specs)
    suites = [t for t in plan if t.kind == "suite"]
    assert suites in groups and len(suites) == len(entries)
    for group in groups:
        if len(group) > 1:
            assert all(t.kind in ("check", "suite") or not t.measured for t in group)
    assert all([t] in groups for t in plan if t.kind == "scale" or (t.kind == "cost" and t.measured))
    # The warm-up round's figures are discarded: its trials run side by side too.
    warmups = [t for t in plan if t.kind == "cost" and not t.measured]
    assert len(warmups) == len(entries) and any(set(warmups) <= set(g) for g in groups)
    # ... but never in the checks' group: every check ends before any tool's first trial.
    checks = next(g for g in groups if g[0].kind == "check")
    assert all(t.kind == "check" for t in checks) and len(checks) == len(entries)
    from bakeoff.stages.cicd.spec import CICD

    assert CICD.kinds["capabilities"].shares_machine
    assert not CICD.kinds["matrix"].shares_machine and not CICD.kinds[CICD.repeated_kind].shares_machine
    # Without the stages' specs nothing but the checks shares the machine.
    assert all([t] in machine_groups(plan) for t in suites)
    with pytest.raises(ValueError, match="cannot share the machine"):
        StageSpec(name="x", title="", question="", contract="", quick={}, full={}, metrics={}, probes={},
                  kinds={"k": TrialKind("m:f", repeated=True, shares_machine=True)})


def test_a_side_by_side_group_starts_its_longest_trials_first():
    from bakeoff.host.bake import longest_first
    from bakeoff.host.plan import Trial

    group = [Trial("s", name, "probes", 1, 60) for name in ("a", "b", "c", "d")]
    typical = {("s", "b", "probes"): 120.0, ("s", "d", "probes"): 30.0, ("s", "a", "probes"): 60.0}
    assert [t.entry for t in longest_first(group, typical)] == ["b", "a", "d", "c"]


def test_a_tool_that_cannot_run_here_keeps_its_row_with_the_reason_and_gets_no_trial(tmp_path):
    """lakeFS and Pachyderm have no server in the registries here: selected, they get no env and
    no trial, and results.json still shows them, with the reason, never compared."""
    from bakeoff.host import bake
    from bakeoff.host.results import build_results
    from bakeoff.host.store import Store

    selection = bake.select(["versioning"], ["lakefs", "pachyderm"])
    assert {e.name for e in selection.unavailable} == {"lakefs", "pachyderm"}
    assert [e.name for e in selection.entries] == ["snapshot_copy"] and "lakefs" not in {t.name for t in selection.tools}
    assert {t.entry for t in make_plan(selection.stages, selection.entries, 1)} == {"snapshot_copy"}

    store = Store(tmp_path / "results.sqlite")
    reasons = {e.name: e.unavailable for e in selection.unavailable}
    store.create_run("r", created="2026-01-01T00:00:00Z", command="bakeoff run", host={}, data={},
                     settings={"quick": True, "repeats": 1, "stages": ["versioning"], "tools": [],
                               "entries": {"versioning": ["snapshot_copy"]}, "unavailable": {"versioning": reasons}})
    row = build_results(store, "r")["stages"]["versioning"]["tools"]["lakefs"]
    assert (row["status"], row["title"]) == ("unavailable", "lakeFS")
    assert "PyPI has only its clients" in row["reason"] and not row["metrics"] and not row["probes"]


def test_an_unavailable_tool_has_no_adapter_and_a_runnable_one_needs_one(tmp_path):
    import pytest

    folder = tmp_path / "ghost"
    folder.mkdir()
    (folder / "tool.toml").write_text('[tool]\nname = "ghost"\ntitle = "Ghost"\nlicense = "MIT"\n'
                                      '[stages.versioning.ghost]\nconfig = "x"\nwhy = "y"\n')
    with pytest.raises(registry.ConfigError, match="needs an adapter"):
        registry.load_tool(folder)


def test_a_tool_that_cannot_run_here_does_not_make_the_run_not_ok(tmp_path):
    import json

    from bakeoff.host.cli import tools_not_ok

    tools = {"lakefs": {"status": "unavailable"}, "dvc-copy": {"status": "failed"}, "lance": {"status": "ok"}}
    (tmp_path / "results.json").write_text(json.dumps({"stages": {"versioning": {"tools": tools}}}))
    assert tools_not_ok(tmp_path) == ["versioning · dvc-copy: failed"]
