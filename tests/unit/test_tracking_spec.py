"""The tracking stage's trial kinds and sizes: what may share the machine, and sizes the
workload can run on."""

import ast
import inspect
import textwrap

import pytest

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.tracking import probes
from bakeoff.stages.tracking.contract import TrackingAdapter
from bakeoff.stages.tracking.spec import TRACKING


def test_the_probe_outcomes_share_the_machine_and_the_timed_search_does_not():
    assert TRACKING.kinds["capabilities"].shares_machine
    assert not TRACKING.kinds["scale"].shares_machine
    assert not TRACKING.kinds["sweep"].shares_machine


def test_the_capabilities_trial_puts_no_metric():
    # A kind that shares the machine may yield no time or memory figure (stages/spec.py).
    source = inspect.getsource(probes.capabilities_trial)
    assert "metrics" not in source and "samples" not in source
    # Nor does the UI probe's evidence carry the UI's start time (it used to).
    tree = ast.parse(textwrap.dedent(inspect.getsource(probes.Probes.local_ui)))
    assert not any(isinstance(node, ast.JoinedStr) and "waited" in ast.unparse(node) for node in ast.walk(tree))


@pytest.mark.parametrize("sizes", [TRACKING.quick, TRACKING.full, {**TRACKING.quick, **TRACKING.warmup}])
def test_sizes_leave_single_log_latencies_after_the_first_five(sizes):
    assert sizes["single_logs"] > 5 and sizes["runs"] >= 1 and sizes["train_rows"] >= 1_000


def test_quick_sizes_are_no_larger_than_full_ones():
    for key, value in TRACKING.quick.items():
        assert value <= TRACKING.full[key], key


def test_a_ui_is_not_served_by_default():
    class Minimal(TrackingAdapter):
        pass

    with pytest.raises(Unsupported):
        Minimal().served_ui()
    assert probes.served_ui(Minimal()) == ""
