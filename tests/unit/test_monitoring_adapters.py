"""Monitoring adapters: every registered one meets the contract by signature (without importing
its tool), and the baseline, which needs only the base set, behaves on synthetic data."""

import ast

import numpy as np
import pandas as pd

from bakeoff.host import registry
from bakeoff.stages.contract import load_adapter
from bakeoff.stages.monitoring.contract import MonitorAdapter, contract_method_names


def test_every_monitoring_adapter_takes_keyword_arguments_only():
    entries = registry.entries("monitoring")
    assert {e.tool.name for e in entries} >= {"ks_chi2", "evidently", "whylogs", "nannyml", "frouros", "alibi_detect"}
    assert [e.name for e in entries if e.spec.baseline] == ["ks_chi2"]
    for entry in entries:
        module, _, cls = entry.spec.adapter.partition(":")
        path = entry.tool.folder / f"{module.rsplit('.', 1)[1]}.py"
        classes = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)}
        assert cls in classes, f"{entry.spec.adapter} not found in {path}"
        for method in (n for n in classes[cls].body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")):
            assert method.name in contract_method_names(), f"{entry.name}.{method.name} is not in the contract"
            extra = [a.arg for a in method.args.args[1:]]
            assert not extra, f"{entry.name}.{method.name} takes positional arguments {extra}"


def frame(rng, rows: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(shift, 1.0, rows), "y": rng.normal(0, 1, rows),
                         "c": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2])})


def test_baseline_flags_the_shifted_feature_and_not_the_others():
    rng = np.random.default_rng(3)
    monitor = load_adapter("bakeoff.tools.ks_chi2.monitoring:KsChi2Monitor", MonitorAdapter, {})
    monitor.fit(reference=frame(rng, 5000), numeric=["x", "y"], categorical=["c"], batch_rows=500)
    quiet = monitor.check(current=frame(rng, 500))
    loud = monitor.check(current=frame(rng, 500, shift=1.0))
    assert not quiet.drift and quiet.flagged == [] and quiet.score < 1.0
    assert loud.drift and loud.flagged == ["x"] and loud.score > 1.0
    assert set(loud.feature_scores) == {"x", "y", "c"}
    assert max(loud.feature_scores, key=loud.feature_scores.get) == "x"


def test_baseline_sees_an_unseen_category_and_ignores_missing_numbers():
    rng = np.random.default_rng(4)
    monitor = load_adapter("bakeoff.tools.ks_chi2.monitoring:KsChi2Monitor", MonitorAdapter, {})
    monitor.fit(reference=frame(rng, 5000), numeric=["x", "y"], categorical=["c"], batch_rows=500)
    batch = frame(rng, 500)
    batch.loc[:49, "c"] = "new"
    batch.loc[:199, "y"] = np.nan  # missing completely at random: the distribution is unchanged
    verdict = monitor.check(current=batch)
    assert "c" in verdict.flagged and "y" not in verdict.flagged
