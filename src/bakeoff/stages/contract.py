"""What every stage contract shares: the Unsupported signal and a load-time contract check.

A contract is a class of documented methods taking keyword-only arguments (pluggy style). An
adapter implements it by translating each method into its tool's API. Checking at load time,
with an error naming the adapter and the method, beats an AttributeError midway through a trial.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable


class Unsupported(Exception):
    """The tool has no such capability. Raised by an adapter; reported as a probe outcome."""


class ContractError(Exception):
    """An adapter that does not implement its stage contract."""


def contract_methods(contract: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(contract).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def check_adapter(adapter: type, contract: type) -> None:
    """Raise ContractError unless `adapter` has every contract method with the same keywords."""
    label = f"{adapter.__module__}.{adapter.__qualname__}"
    for name, expected in contract_methods(contract).items():
        impl = getattr(adapter, name, None)
        if impl is None or not callable(impl):
            raise ContractError(f"{label} lacks `{name}` required by {contract.__name__}")
        got = inspect.signature(impl)
        wanted = [p.name for p in expected.parameters.values() if p.kind is p.KEYWORD_ONLY]
        have = {p.name for p in got.parameters.values() if p.kind is p.KEYWORD_ONLY}
        missing = [p for p in wanted if p not in have]
        if missing:
            raise ContractError(
                f"{label}.{name} must take keyword-only arguments {wanted}; missing {missing}"
            )


def load_adapter(spec: str, contract: type, options: dict[str, Any]) -> Any:
    """Import "module:Class", check it against the contract, instantiate it with its options."""
    module_name, _, class_name = spec.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    check_adapter(cls, contract)
    return cls(**options)


def run_probe(check: Callable[[], tuple[str, str]]) -> dict[str, str]:
    """Run one probe: its (status, evidence), "unsupported" when the adapter says so, and "fail"
    with the error as evidence when the probe breaks (a broken capability is a failed one)."""
    try:
        status, evidence = check()
    except Unsupported as why:
        status, evidence = "unsupported", str(why)
    except Exception as exc:
        status, evidence = "fail", f"{type(exc).__name__}: {exc}"[:600]
    return {"status": status, "evidence": evidence}
