"""`bakeoff new STAGE TOOL` and `bakeoff poc RUN TOOL`: a student's tool folder that runs at once,
and its POC.md filled in from a run.

The folder holds tool.toml (the fields to fill), `<stage>.py` (an adapter generated from the
stage contract's methods and signatures, every method saying "not implemented yet"), lock.txt
(the baseline's lock, so the env builds with no registry), a test and POC.md with a
tool-evaluation rubric's headings. It is found through BAKEOFF_TOOLS_PATH and its adapter is
loaded from the folder by path, so it may live anywhere and be named like the library it wraps.
Templates are package data under host/kit/. Host side.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
import shlex
import sys
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from bakeoff.drawing import numbers as fmt
from bakeoff.host import envs, registry
from bakeoff.host.registry import ConfigError
from bakeoff.stages.contract import contract_methods, required_methods
from bakeoff.stages.spec import StageSpec, all_specs, resolve

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# POC.md blocks bakeoff rewrites from a run; everything outside them is the student's.
BLOCKS = ("figures", "evidence", "reproduce")


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FunctionLoader(kit_text), keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def kit_text(name: str) -> str:
    """A file shipped in host/kit/ (templates, the default rubric)."""
    return (resources.files("bakeoff.host") / "kit" / name).read_text(encoding="utf-8")


def stage_spec(stage: str) -> StageSpec:
    specs = all_specs()
    if stage not in specs:
        raise ConfigError(f"unknown stage {stage!r}; choose from: {', '.join(specs)}")
    return specs[stage]


def class_name(tool: str, stage: str) -> str:
    return "".join(part.capitalize() for part in f"{tool}_{stage}".split("_") if part)


# -- the adapter, generated from the contract --------------------------------------------------

@dataclass(frozen=True)
class MethodStub:
    name: str
    signature: str  # "(self, *, store: Path) -> bool"
    call: str  # "store=store", for a method that keeps the contract's default
    doc: str
    marker: str  # "Required. " or ""
    is_property: bool
    keeps_default: bool
    default: str  # the contract's default, as its `return` line


def _annotation(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    return value if isinstance(value, str) else inspect.formatannotation(value)


def _signature(function: Any) -> tuple[str, str, set[str]]:
    """Source text of the signature, the keyword call passing every argument on, and the names
    the annotations use."""
    signature = inspect.signature(function)
    parts, call, names, star = [], [], set(), False
    for parameter in signature.parameters.values():
        annotation = _annotation(parameter.annotation)
        names |= set(re.findall(r"[A-Za-z_]\w*", annotation))
        if parameter.kind is parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if parameter.kind is parameter.VAR_POSITIONAL:
            star = True
        text = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}.get(parameter.kind, "") + parameter.name
        text += f": {annotation}" if annotation else ""
        if parameter.default is not parameter.empty:
            text += f" = {parameter.default!r}" if annotation else f"={parameter.default!r}"
        parts.append(text)
        if parameter.name != "self":
            call.append({parameter.KEYWORD_ONLY: f"{parameter.name}={parameter.name}",
                         parameter.VAR_POSITIONAL: f"*{parameter.name}",
                         parameter.VAR_KEYWORD: f"**{parameter.name}"}.get(parameter.kind, parameter.name))
    returns = _annotation(signature.return_annotation)
    names |= set(re.findall(r"[A-Za-z_]\w*", returns))
    return f"({', '.join(parts)})" + (f" -> {returns}" if returns else ""), ", ".join(call), names


def _default_line(function: Any) -> tuple[bool, str]:
    """Whether the contract's method does something usable by default (it does not raise), and
    its first `return` statement."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False, ""
    nodes = list(ast.walk(tree))
    if any(isinstance(node, ast.Raise) for node in nodes):
        return False, ""
    returned = next((node for node in nodes if isinstance(node, ast.Return)), None)
    return True, ast.unparse(returned) if returned is not None else "does nothing"


def _doc(member: Any, indent: str = "        ") -> str:
    """The contract method's docstring, indented for the generated method body."""
    text = (inspect.getdoc(member) or "see the contract.").replace('"""', "'''").replace("\\", "\\\\")
    lines = text.splitlines()
    if len(lines) == 1:
        return lines[0]
    return "\n".join([lines[0], *[(indent + line).rstrip() for line in lines[1:]], indent])


def method_stubs(contract: type) -> tuple[list[MethodStub], set[str]]:
    required = set(required_methods(contract))
    stubs, names = [], set()
    for name, member in contract_methods(contract).items():
        function = member.fget if isinstance(member, property) else member
        signature, call, used = _signature(function)
        names |= used
        keeps, default = (False, "") if name in required else _default_line(function)
        doc = _doc(function)
        stubs.append(MethodStub(name, signature, call, doc, "(required) " if name in required else "",
                                isinstance(member, property), keeps, default))
    return stubs, names


def _imports(contract: type, names: set[str]) -> list[str]:
    """Import lines for the contract, Unsupported and every name the signatures use."""
    module = sys.modules[contract.__module__]
    by_module: dict[str, set[str]] = {contract.__module__: {contract.__name__}, "bakeoff.stages.contract": {"Unsupported"}}
    for name in sorted(names):
        if hasattr(builtins, name) or name not in vars(module):
            continue
        value = vars(module)[name]
        source = getattr(value, "__module__", None) if isinstance(value, type) or inspect.isfunction(value) else None
        by_module.setdefault(source if source and source != "builtins" else contract.__module__, set()).add(name)
    order = sorted(by_module, key=lambda m: (m.split(".")[0] == "bakeoff", m))  # standard library first
    return [f"from {m} import {', '.join(sorted(by_module[m]))}" for m in order]


def _attributes(contract: type) -> list[str]:
    """Public class attributes the contract declares (e.g. how search works), with its values."""
    found = {}
    for klass in reversed([k for k in contract.__mro__ if k is not object]):
        for name, value in vars(klass).items():
            if not name.startswith("_") and isinstance(value, (str, int, float, bool)):
                found[name] = value
    return [f"{name} = {value!r}  # the contract's default: say how this tool does it" for name, value in found.items()]


def adapter_source(tool: str, spec: StageSpec) -> str:
    contract = resolve(spec.contract)
    stubs, names = method_stubs(contract)
    return _templates().get_template("adapter.py.j2").render(
        tool=tool, stage=spec.name, contract=contract.__name__, contract_module=contract.__module__,
        class_name=class_name(tool, spec.name), imports=_imports(contract, names), attributes=_attributes(contract),
        methods=stubs)


# -- the folder --------------------------------------------------------------------------------

def baseline_lock(spec: StageSpec) -> Path:
    """The stage baseline's lock: the base set only, so the new tool's env builds at once."""
    baseline = next((e for e in registry.entries(spec.name) if e.spec.baseline), None)
    if baseline is None:
        raise ConfigError(f"stage {spec.name!r} has no baseline tool to copy a lock from")
    lock = envs.lock_file(baseline.tool)
    if not lock.is_file():
        raise ConfigError(f"the baseline {baseline.tool.name} has no lock ({lock}); "
                          f"fix: `bakeoff envs lock {baseline.tool.name}`")
    return lock


def new_tool(stage: str, tool: str, out: Path, results: dict[str, Any] | None = None) -> Path:
    """Write the folder `out/<tool>`; refuse to touch one that exists."""
    spec = stage_spec(stage)
    if not TOOL_NAME.match(tool):
        raise ConfigError(f"tool name {tool!r}: use lower-case letters, digits and _ (it names the folder, "
                          "the entry and the class), e.g. `my_tracker`")
    try:  # first: BAKEOFF_TOOLS_PATH may already name this folder, which the registry then reads
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out} ({exc.strerror or exc}); fix: pass a writable --out") from None
    builtin = {name for name, t in registry.tools().items() if t.builtin}
    if tool in builtin:
        raise ConfigError(f"bakeoff already has a tool called {tool!r}; pick another name, e.g. `{tool}_poc`")
    folder = out / tool
    if folder.exists():
        raise ConfigError(f"{folder} already exists; fix: pick another --out, or remove the folder first")
    lock = baseline_lock(spec)
    module = spec.name
    templates = _templates()
    files = {
        "tool.toml": templates.get_template("tool.toml.j2").render(
            tool=tool, stage=spec.name, module=module, class_name=class_name(tool, spec.name)),
        f"{module}.py": adapter_source(tool, spec),
        "lock.txt": f"# The baseline's lock (base set only), copied by `bakeoff new`: the env builds at once.\n"
                    f"# After adding requirements to tool.toml: `bakeoff envs lock {tool}` rewrites this file.\n"
                    + lock.read_text(),
        f"test_{tool}.py": templates.get_template("test_tool.py.j2").render(tool=tool, stage=spec.name),
        "POC.md": poc_text(tool, spec, results, run_dir=None),
    }
    try:
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {folder} ({exc.strerror or exc}); fix: pass a writable --out") from None
    return folder


# -- POC.md ------------------------------------------------------------------------------------

def poc_text(tool: str, spec: StageSpec, results: dict[str, Any] | None, run_dir: Path | None) -> str:
    baseline = next((e.tool.name for e in registry.entries(spec.name) if e.spec.baseline), "the baseline")
    text = _templates().get_template("POC.md.j2").render(
        tool=tool, stage=spec.name, stage_title=spec.title, question=spec.question, baseline=baseline,
        figures="", evidence="", reproduce="")
    return fill_blocks(text, poc_blocks(tool, spec.name, results, run_dir))


def fill_blocks(text: str, blocks: dict[str, str]) -> str:
    """Replace what stands between each `<!-- bakeoff:NAME:start/end -->` pair; the rest is kept."""
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- bakeoff:{name}:start -->\n).*?(<!-- bakeoff:{name}:end -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)
    return text


def _figure(entry: dict | None) -> str:
    if not entry or not fmt.is_number(entry.get("median")):
        return fmt.MISSING
    low, high = (entry.get("ci95") or [None, None])[:2]
    interval = f" [{fmt.number(low)}, {fmt.number(high)}]" if fmt.is_number(low) and fmt.is_number(high) else ""
    return f"{fmt.number(entry['median'])}{interval}"


def tool_row(results: dict[str, Any], stage: str, tool: str) -> tuple[str, dict[str, Any]] | None:
    """The tool's entry in the run: (entry name, its results), by entry or tool name."""
    tools = ((results.get("stages") or {}).get(stage) or {}).get("tools") or {}
    if tool in tools:
        return tool, tools[tool]
    return next(((name, row) for name, row in tools.items() if row.get("tool") == tool), None)


def poc_blocks(tool: str, stage: str, results: dict[str, Any] | None, run_dir: Path | None) -> dict[str, str]:
    rerun = f"BAKEOFF_TOOLS_PATH=<this folder's parent> bakeoff run --stage {stage} --tools {tool} --quick"
    found = tool_row(results, stage, tool) if results else None
    if found is None:
        why = "Not run yet" if not results else f"Run `{results.get('run_id')}` has no {tool} at stage {stage}"
        note = f"_{why}: `{rerun}`, then `bakeoff poc RUN {tool}` fills this in._"
        return {name: note for name in BLOCKS}
    name, row = found
    data = results["stages"][stage]
    baseline = data.get("baseline") or ""
    base_row = (data.get("tools") or {}).get(baseline) or {}
    settings = results.get("settings") or {}
    head = (f"Run `{results.get('run_id')}` ({results.get('created', '')}, "
            f"{'quick sizes, ' if settings.get('quick') else ''}{fmt.integer(settings.get('repeats'))} repeats): "
            f"{name} {row.get('version') or ''} **{row.get('status')}**"
            + (f": {row.get('reason')}" if row.get("reason") else ""))
    lines = [head, "", f"| metric | {name} median [95% interval] | {baseline} median | ratio to {baseline} [95% interval] |",
             "|---|---|---|---|"]
    for metric, meta in (data.get("metrics") or {}).items():
        mine = (row.get("metrics") or {}).get(metric)
        theirs = (base_row.get("metrics") or {}).get(metric)
        if not mine and not theirs:
            continue
        label = f"{meta.get('label', metric)} ({meta.get('unit', '')})"
        lines.append(f"| {label} | {_figure(mine)} | {_figure(theirs)} | {_figure((mine or {}).get('ratio'))} |")
    evidence = ["| probe | what it shows | outcome | evidence |", "|---|---|---|---|"]
    for probe, meta in (data.get("probes") or {}).items():
        described = meta.get("label", "") if isinstance(meta, dict) else str(meta)
        outcome = (row.get("probes") or {}).get(probe)
        if outcome:
            evidence.append(f"| {probe} | {described} | {outcome.get('status')} | {_cell(outcome.get('evidence'))} |")
        else:
            evidence.append(f"| {probe} | {described} | not run | {_cell(row.get('reason') or 'no probe outcome recorded')} |")
    report = (run_dir / "report.html") if run_dir else None
    reproduce = ["```sh", str(results.get("command") or rerun), "```"]
    if report is not None:
        reproduce.append(f"\nThe run's memo: `{report}`; its results.json holds every raw sample.")
    return {"figures": "\n".join(lines), "evidence": "\n".join(evidence), "reproduce": "\n".join(reproduce)}


def _cell(text: Any) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")[:300]


def write_poc(folder: Path, tool: str, stage: str, results: dict[str, Any], run_dir: Path) -> Path:
    """Fill (or refresh) the run's blocks of `folder/POC.md`; the student's text is kept."""
    path = folder / "POC.md"
    spec = stage_spec(stage)
    text = path.read_text(encoding="utf-8") if path.is_file() else poc_text(tool, spec, None, None)
    path.write_text(fill_blocks(text, poc_blocks(tool, stage, results, run_dir)), encoding="utf-8")
    return path


def tool_stage(tool: registry.Tool) -> str:
    """The stage a student's tool serves (its first, if several)."""
    if not tool.stages:
        raise ConfigError(f"tool {tool.name!r} serves no stage; add a [stages.<stage>.<entry>] table to its tool.toml")
    return next(iter(tool.stages))


def quoted_run_command(stage: str, tool: str, folder: Path) -> str:
    return (f"BAKEOFF_TOOLS_PATH={shlex.quote(str(folder.parent.absolute()))} "
            f"bakeoff run --stage {stage} --tools {tool} --quick")
