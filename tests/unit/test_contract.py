import pytest

from bakeoff import registry
from bakeoff.stages.contract import ContractError, check_adapter, load_adapter
from bakeoff.stages.tracking.contract import TrackingAdapter


class Positional(TrackingAdapter):
    def log_metric(self, run_id, key, value, step):  # positional: breaks the contract
        pass


def test_every_registered_tracking_adapter_meets_the_contract_by_signature():
    # Signatures only: importing the adapters would need their tools (host never imports one).
    import ast

    for entry in registry.entries("tracking"):
        module, _, cls = entry.spec.adapter.partition(":")
        path = entry.tool.folder / f"{module.rsplit('.', 1)[1]}.py"
        tree = ast.parse(path.read_text())
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        assert cls in classes, f"{entry.spec.adapter} not found in {path}"
        for method in (n for n in classes[cls].body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")):
            extra = [a.arg for a in method.args.args[1:]]
            assert not extra, f"{entry.name}.{method.name} takes positional arguments {extra}"


def test_positional_arguments_are_refused_naming_adapter_and_method():
    with pytest.raises(ContractError, match=r"Positional\.log_metric"):
        check_adapter(Positional, TrackingAdapter)


def test_baseline_adapter_loads_and_checks():
    adapter = load_adapter("bakeoff.tools.jsonl.tracking:JsonLinesTracking", TrackingAdapter, {})
    assert isinstance(adapter, TrackingAdapter)
