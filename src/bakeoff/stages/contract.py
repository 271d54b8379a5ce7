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
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import types
from pathlib import Path
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


# An outside tool (BAKEOFF_TOOLS_PATH, an entry point) is loaded from its own folder by path, as
# package `bakeoff_outside.<tool>`: nothing goes on sys.path, so a folder named like the library
# it wraps (`trackio/`) cannot shadow that library. The worker sets TOOL_FOLDER_VARIABLE from the
# request, so every process a stage starts (a second writer, a server) loads the adapter the same way.
OUTSIDE_PACKAGE = "bakeoff_outside"
TOOL_FOLDER_VARIABLE = "BAKEOFF_TOOL_FOLDER"


def _outside_package(folder: Path) -> str:
    """Register `folder` as the package bakeoff_outside.<folder name> (its __init__.py run if it
    has one) and return the package's name."""
    if OUTSIDE_PACKAGE not in sys.modules:
        root = types.ModuleType(OUTSIDE_PACKAGE, "Outside tools, each loaded from its own folder by path.")
        root.__path__ = []
        sys.modules[OUTSIDE_PACKAGE] = root
    name = OUTSIDE_PACKAGE + "." + re.sub(r"\W", "_", folder.name)
    if name in sys.modules:
        return name
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    else:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if spec.loader is not None:
        spec.loader.exec_module(package)
    return name


def _module_in_folder(module_name: str, folder: Path) -> str:
    """The adapter module's path inside the tool folder: `tracking` is <folder>/tracking.py. The
    older form `<folder name>.tracking` is read the same way (unless the folder holds a module
    of that name)."""
    first, _, rest = module_name.partition(".")
    if rest and first == folder.name and not (folder / f"{first}.py").exists() and not (folder / first).is_dir():
        return rest
    return module_name


def import_adapter(spec: str, folder: str | Path | None = None) -> type:
    """Import "module:Class"; a missing module or class is a ContractError naming it.

    With `folder` (an outside tool's folder; default: $BAKEOFF_TOOL_FOLDER, set in its trials)
    the module is a path inside that folder, loaded under bakeoff_outside.<tool>."""
    module_name, _, class_name = spec.partition(":")
    folder = os.environ.get(TOOL_FOLDER_VARIABLE, "") if folder is None else folder
    if folder:
        folder = Path(folder)
        inner = _module_in_folder(module_name, folder)
        if importlib.util.find_spec(f"{_outside_package(folder)}.{inner}") is None:
            raise ContractError(f"{folder} has no module `{inner}` (looked for {folder / inner.replace('.', '/')}.py); "
                                "fix `adapter` in tool.toml: an outside tool's adapter is `<module>:<Class>`, "
                                "the module's path inside the tool's folder")
        module_name = f"{_outside_package(folder)}.{inner}"
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ContractError(f"{module_name} has no class `{class_name}`; fix `adapter` in tool.toml") from None


def load_adapter(spec: str, contract: type, options: dict[str, Any], *, check: bool = True,
                 folder: str | Path | None = None) -> Any:
    """Import "module:Class" (from `folder` for an outside tool, see import_adapter), check it
    (once per tool: `check=False` in trials after the run's check passed) and instantiate it
    with its options."""
    cls = import_adapter(spec, folder)
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
