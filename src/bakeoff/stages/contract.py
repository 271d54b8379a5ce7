"""What every stage contract shares: the Unsupported signal, `required`, and a contract check
that can fail.

A contract is a class of documented methods taking keyword-only arguments (pluggy style). An
adapter subclasses it and translates each method into its tool's API. Methods marked
`@required` must be overridden; the others have a default (usually `raise Unsupported(...)`),
so a tool without the capability simply leaves them out. The check runs once per tool before any
trial (`bakeoff check TOOL`, and `bakeoff run` before its first trial): an error there, naming
the adapter, the method and the fix, beats a wrong figure or a bare NotImplementedError midway
through a run.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Unsupported(Exception):
    """The tool has no such capability. Raised by an adapter; reported as a probe outcome."""


class ContractError(Exception):
    """An adapter that does not implement its stage contract; the message says how to fix it."""


def required(method: F) -> F:
    """Mark a contract method every adapter must override."""
    method.__bakeoff_required__ = True  # type: ignore[attr-defined]
    return method


def contract_methods(contract: type) -> dict[str, Any]:
    """Public methods (and properties) the contract declares, from the contract and its bases."""
    found: dict[str, Any] = {}
    for klass in reversed([k for k in contract.__mro__ if k is not object]):
        for name, member in vars(klass).items():
            if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                found[name] = member
    return found


def required_methods(contract: type) -> list[str]:
    return [n for n, m in contract_methods(contract).items() if getattr(m, "__bakeoff_required__", False)]


def _own_members(adapter: type, contract: type) -> dict[str, Any]:
    """Members defined by the adapter's classes below the contract (its own code)."""
    own: dict[str, Any] = {}
    for klass in reversed(adapter.__mro__):
        if klass is object or issubclass(contract, klass):
            continue
        own.update(vars(klass))
    return own


def _keywords(signature: inspect.Signature) -> list[str]:
    return [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]


def check_adapter(adapter: type, contract: type) -> None:
    """Raise ContractError unless `adapter` subclasses `contract`, overrides every required
    method with the contract's keyword-only arguments, and adds no public method the contract
    does not know (a misspelt optional method would otherwise be silently "unsupported")."""
    label = f"{adapter.__module__}.{adapter.__qualname__}"
    if not (isinstance(adapter, type) and issubclass(adapter, contract)):
        raise ContractError(f"{label} must subclass {contract.__module__}.{contract.__name__}")
    declared = contract_methods(contract)
    own = _own_members(adapter, contract)
    for name in required_methods(contract):
        if name not in own:
            raise ContractError(f"{label} does not implement `{name}`, which {contract.__name__} requires; "
                                f"add `def {name}{_shown(declared[name])}` (see {contract.__module__})")
    for name, member in own.items():
        if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
            continue
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"make it private (`_{name}`) or remove it"
            raise ContractError(f"{label}.{name} is not a method of {contract.__name__}: {hint}")
        if inspect.isfunction(member) and inspect.isfunction(declared[name]):
            _check_signature(label, name, member, declared[name])


def _shown(member: Any) -> str:
    return str(inspect.signature(member)) if inspect.isfunction(member) else ""


def _check_signature(label: str, name: str, impl: Callable, expected: Callable) -> None:
    got, wanted = inspect.signature(impl), inspect.signature(expected)
    positional = [p.name for p in list(got.parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if positional:
        raise ContractError(f"{label}.{name} takes positional arguments {positional}; the contract's are "
                            f"keyword-only: `def {name}{wanted}`")
    missing = [k for k in _keywords(wanted) if k not in _keywords(got)
               and not any(p.kind is p.VAR_KEYWORD for p in got.parameters.values())]
    if missing:
        raise ContractError(f"{label}.{name} lacks keyword-only arguments {missing}: `def {name}{wanted}`")


def check_options(adapter: type, options: dict[str, Any]) -> None:
    """Raise ContractError unless the tool.toml `options` fit the adapter's constructor."""
    label = f"{adapter.__module__}.{adapter.__qualname__}"
    parameters = dict(inspect.signature(adapter.__init__).parameters)
    parameters.pop("self", None)
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    known = {n for n, p in parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"it takes {sorted(known) or 'no options'}"
            raise ContractError(f"{label}: tool.toml option `{key}` is not a constructor argument; {hint}")
    for name, parameter in parameters.items():
        if name in known and parameter.default is parameter.empty and name not in options:
            raise ContractError(f"{label} needs the option `{name}`; add `{name} = ...` to the entry's "
                                "options in tool.toml")


def import_adapter(spec: str) -> type:
    """Import "module:Class"; a missing module or class is a ContractError naming it."""
    module_name, _, class_name = spec.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ContractError(f"{module_name} has no class `{class_name}`; fix `adapter` in tool.toml") from None


def load_adapter(spec: str, contract: type, options: dict[str, Any], *, check: bool = True) -> Any:
    """Import "module:Class", check it (once per tool: `check=False` in trials after the run's
    check passed) and instantiate it with its options."""
    cls = import_adapter(spec)
    if check:
        check_adapter(cls, contract)
        check_options(cls, options)
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
