"""`bakeoff compare`: Kendall's tau between two runs' rankings, per stage and headline metric."""

import copy
import json
from pathlib import Path

import pytest

from bakeoff.host.decide.rank_agreement import agreement, below_target
from tests.conftest import bakeoff_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "student-quick"


def example() -> dict:
    return json.loads((EXAMPLE / "results.json").read_text())


def test_a_run_agrees_with_itself_on_every_headline_metric():
    rows = agreement(example(), example())
    assert rows and all(r.tau == 1.0 or r.tau is None for r in rows)
    assert below_target(rows) == []


def test_a_reversed_order_is_found_and_named():
    first = example()
    second = copy.deepcopy(first)
    stage = next(iter(second["stages"].values()))
    metric = next(k for k, m in stage["metrics"].items() if m["headline"])
    tools = [t for t in stage["tools"].values() if t["status"] == "ok"]
    ranked = sorted(t["metrics"][metric]["median"] for t in tools)
    for tool in tools:  # each tool takes the value at the mirror of its rank: the order reversed
        tool["metrics"][metric]["median"] = ranked[len(ranked) - 1 - ranked.index(tool["metrics"][metric]["median"])]
    rows = {(r.stage, r.metric): r for r in agreement(first, second)}
    changed = rows[(next(iter(second["stages"])), metric)]
    assert changed.tau is not None and changed.tau < 0.9
    assert changed in below_target(list(rows.values()))


def test_a_saturated_metric_is_no_order_not_agreement():
    first = example()
    second = copy.deepcopy(first)
    stage_name, stage = next(iter(second["stages"].items()))
    metric = next(k for k, m in stage["metrics"].items() if m["headline"])
    for tool in stage["tools"].values():
        if metric in tool.get("metrics", {}):
            tool["metrics"][metric]["median"] = 100.0
    row = next(r for r in agreement(first, second) if (r.stage, r.metric) == (stage_name, metric))
    assert row.tau is None and "ties" in row.why_none


def test_the_command_exits_1_below_min_tau(tmp_path):
    reversed_run = tmp_path / "reversed"
    reversed_run.mkdir()
    results = example()
    for stage in results["stages"].values():
        for metric, spec in stage["metrics"].items():
            if spec["headline"]:
                for tool in stage["tools"].values():
                    if isinstance(tool.get("metrics", {}).get(metric, {}).get("median"), (int, float)):
                        tool["metrics"][metric]["median"] *= -1
    (reversed_run / "results.json").write_text(json.dumps(results))
    same = bakeoff_cli("compare", str(EXAMPLE), str(EXAMPLE), "--min-tau", "0.9")
    assert same.returncode == 0, same.stdout + same.stderr
    flipped = bakeoff_cli("compare", str(EXAMPLE), str(reversed_run), "--min-tau", "0.9")
    assert flipped.returncode == 1 and "-1.00" in flipped.stdout


def test_gaps_below_the_material_difference_tie_as_in_the_decision():
    from bakeoff.host.decide.rank_agreement import material_tau

    quick, full = [1.00, 1.02, 5.0], [1.03, 1.01, 6.0]  # the first two swap by 0.02
    assert material_tau(quick, full) == pytest.approx(1 / 3)  # raw order: one pair of three flipped
    assert material_tau(quick, full, 0.5) == 1.0  # the swap is below the material gap: a tie in both
    assert material_tau(quick, [5.0, 6.0, 1.0], 0.5) < 0  # a material reversal still counts
    assert material_tau([1.0, 1.1, 1.2], full, 0.5) is None  # one run sees no material gap at all
    from scipy.stats import kendalltau

    x, y = [3.0, 1.0, 2.0, 2.0, 5.0], [2.5, 1.5, 1.5, 3.0, 4.0]
    assert material_tau(x, y) == pytest.approx(kendalltau(x, y).statistic)  # 0: scipy's tau-b


def test_only_immaterial_gaps_in_both_runs_agree_and_in_one_run_do_not():
    first = example()
    stage_name, stage = next(iter(first["stages"].items()))
    metric, spec = next((k, m) for k, m in stage["metrics"].items() if m["headline"])
    spec["material"] = 1.0  # the gap a team would feel, in the metric's unit
    names = [n for n, t in stage["tools"].items() if t["status"] == "ok" and metric in t.get("metrics", {})]
    both, one = copy.deepcopy(first), copy.deepcopy(first)
    step = spec["material"] / (4 * len(names))  # every gap far below the material one
    for i, name in enumerate(names):
        first["stages"][stage_name]["tools"][name]["metrics"][metric]["median"] = 100 + i * step
        both["stages"][stage_name]["tools"][name]["metrics"][metric]["median"] = 100 - i * step
        one["stages"][stage_name]["tools"][name]["metrics"][metric]["median"] = 100 + i * spec["material"] * 2
    tie = next(r for r in agreement(first, both) if (r.stage, r.metric) == (stage_name, metric))
    assert tie.tau == 1.0 and tie.raw_tau == -1.0 and "both say tie" in tie.why_none
    missed = next(r for r in agreement(first, one) if (r.stage, r.metric) == (stage_name, metric))
    assert missed.tau == 0.0 and missed in below_target([missed])
