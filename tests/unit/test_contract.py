"""The contract check can fail: required methods must be overridden, unknown public methods are
refused (a misspelt optional method would otherwise read as "unsupported"), arguments are
keyword-only, and tool.toml options must fit the constructor."""

import pytest

from bakeoff.stages.contract import ContractError, check_adapter, check_options, load_adapter, required_methods
from bakeoff.stages.tracking.contract import TrackingAdapter
from bakeoff.tools.jsonl.tracking import JsonLinesTracking


class Empty(TrackingAdapter):
    pass


class Misspelt(JsonLinesTracking):
    def search_run(self, *, metric, above, descending=True):  # `search_runs` in the contract
        return []


class Positional(JsonLinesTracking):
    def log_metric(self, run_id, key, value, step):  # positional: breaks the contract
        pass


class MissingKeyword(JsonLinesTracking):
    def log_metric(self, *, run_id, key, value):  # no `step`
        pass


class NotAnAdapter:
    def open(self, *, store, experiment):
        pass


def test_an_empty_adapter_is_refused_naming_the_first_required_method():
    with pytest.raises(ContractError, match=r"Empty does not implement `open`, which TrackingAdapter requires"):
        check_adapter(Empty, TrackingAdapter)


def test_a_misspelt_optional_method_is_refused_with_the_right_name():
    with pytest.raises(ContractError, match=r"Misspelt\.search_run is not a method of TrackingAdapter: did you mean `search_runs`\?"):
        check_adapter(Misspelt, TrackingAdapter)


def test_positional_arguments_are_refused_naming_adapter_and_method():
    with pytest.raises(ContractError, match=r"Positional\.log_metric takes positional arguments"):
        check_adapter(Positional, TrackingAdapter)


def test_a_missing_keyword_is_refused():
    with pytest.raises(ContractError, match=r"MissingKeyword\.log_metric lacks keyword-only arguments \['step'\]"):
        check_adapter(MissingKeyword, TrackingAdapter)


def test_an_adapter_must_subclass_its_contract():
    with pytest.raises(ContractError, match="must subclass"):
        check_adapter(NotAnAdapter, TrackingAdapter)


def test_options_must_fit_the_constructor():
    class Configured(JsonLinesTracking):
        def __init__(self, *, flush_every: int, fsync: bool = False) -> None:
            super().__init__()

    check_options(Configured, {"flush_every": 1})
    with pytest.raises(ContractError, match=r"option `flush_evry` is not a constructor argument; did you mean `flush_every`\?"):
        check_options(Configured, {"flush_evry": 1})
    with pytest.raises(ContractError, match=r"needs the option `flush_every`"):
        check_options(Configured, {})


def test_every_contract_marks_what_is_required():
    from bakeoff.stages.spec import all_specs, resolve

    for spec in all_specs().values():
        assert required_methods(resolve(spec.contract)), f"{spec.name}: its contract marks no method @required"


def test_the_baseline_adapter_loads_and_checks():
    adapter = load_adapter("bakeoff.tools.jsonl.tracking:JsonLinesTracking", TrackingAdapter, {})
    assert isinstance(adapter, TrackingAdapter)
