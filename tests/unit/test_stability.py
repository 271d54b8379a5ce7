"""Stability as evidence: a verdict that held in a repeat run says so with Kendall's tau; one
that flipped is unsettled, with what would settle it."""

from bakeoff.host.decide import decide
from bakeoff.host.decide.stability import confirm
from tests.unit.test_decide import profile, results, tool


def test_a_verdict_that_held_is_stable_with_its_rank_correlation():
    first = decide(results(fast=tool(0.5), mid=tool(2.0), slow=tool(8.0)), profile())
    again = decide(results(fast=tool(0.55), mid=tool(2.2), slow=tool(7.0)), profile())
    stage = confirm(first, again, "r2").stages[0]
    assert stage.confirmation.held and stage.confirmation.taus["total"] == 1.0
    assert stage.verdict.stability.startswith("held in repeat run r2 (Kendall tau: total 1.00, speed 1.00")


def test_a_verdict_that_flipped_is_unsettled_and_says_what_would_settle_it():
    first = decide(results(a=tool(0.5), b=tool(2.0)), profile())
    again = decide(results(a=tool(2.0), b=tool(0.5)), profile())
    stage = confirm(first, again, "r2").stages[0]
    assert not stage.confirmation.held and stage.confirmation.taus["total"] < 0
    assert stage.verdict.stability.startswith("UNSETTLED: the repeat run r2 says “Recommend")
    assert "more repeats" in stage.verdict.stability and "full run" in stage.verdict.stability


def test_a_lead_that_clears_the_noise_in_one_run_only_says_the_order_held():
    first = decide(results(a=tool(0.5, spread=0.3), b=tool(0.55, spread=0.3)), profile())  # level within noise
    again = decide(results(a=tool(0.5), b=tool(0.9)), profile())  # the same order, a clear lead
    stage = confirm(first, again, "r2").stages[0]
    assert first.stages[0].verdict.kind != again.stages[0].verdict.kind
    assert not stage.confirmation.held
    assert stage.verdict.stability.startswith("UNSETTLED: the repeat run r2 ranks the tools in the same order")
