"""Which tools exist: every `tools/<tool>/tool.toml` in the package, plus folders registered by
other packages under the `bakeoff.tools` entry point (a callable returning a folder path), plus
folders holding tool folders listed in BAKEOFF_TOOLS_PATH (colon-separated; handy for a student's
own tool). An outside tool's adapter module is imported from its folder's parent.

Host side. A tool.toml is validated with pydantic, so a malformed file is reported with the
file and the key at fault rather than failing midway through a run.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bakeoff.worker.measure import code_lines


class ConfigError(Exception):
    """A tool.toml, profile or option that cannot be used; the message says how to fix it."""


class ToolInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    license: str
    homepage: str = ""
    requirements: list[str] = Field(default_factory=list)
    version_of: str = ""
    # false: the env does not take the base set's pins (a tool that cannot be installed beside
    # them, e.g. one that needs numpy<2); it gets the base set's packages at the versions the tool
    # allows, and the report says so. Only for stages whose workers pass data, not pickles.
    base_set: bool = True
    # npm packages the tool is (exact `name@version` specs), installed into <env>/npm when the
    # env is built: a CI emulator or a linter published on npm.
    npm: list[str] = Field(default_factory=list)
    # Why the tool cannot run here (nothing that runs it installs from the registries): it keeps
    # its row in the report with this reason, and has no adapter, lock or env.
    unavailable: str = ""


class EntrySpec(BaseModel):
    """One configuration of a tool measured at one stage (e.g. MLflow with a tracking server)."""

    model_config = ConfigDict(extra="forbid")
    adapter: str = Field(default="", pattern=r"^([\w.]+:\w+)?$")  # "" only for an unavailable tool
    baseline: bool = False
    config: str
    why: str
    options: dict = Field(default_factory=dict)
    # Declared properties a team profile may constrain on, e.g. "always_on_server" (the tool is
    # only usable while a server runs). Everything measurable is a probe instead.
    traits: list[str] = Field(default_factory=list)


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: ToolInfo
    stages: dict[str, dict[str, EntrySpec]]
    folder: Path

    @model_validator(mode="after")
    def _adapter_unless_unavailable(self) -> "Tool":
        for stage, specs in self.stages.items():
            for name, spec in specs.items():
                if bool(spec.adapter) == bool(self.tool.unavailable):
                    need = "no adapter (it is unavailable)" if spec.adapter else "an adapter (module:Class)"
                    raise ValueError(f"stages.{stage}.{name} needs {need}")
        return self

    @property
    def name(self) -> str:
        return self.tool.name

    @property
    def builtin(self) -> bool:
        return self.folder.parent == Path(__file__).parents[1] / "tools"


class Entry(BaseModel):
    """A (stage, entry) pair the plan can schedule."""

    stage: str
    name: str
    tool: Tool
    spec: EntrySpec

    @property
    def unavailable(self) -> str:
        return self.tool.tool.unavailable


def _tool_folders() -> list[Path]:
    builtin = resources.files("bakeoff") / "tools"
    folders = [Path(str(p)) for p in builtin.iterdir() if (Path(str(p)) / "tool.toml").is_file()]
    for plugin in metadata.entry_points(group="bakeoff.tools"):
        folders.append(Path(plugin.load()()))
    for root in filter(None, os.environ.get("BAKEOFF_TOOLS_PATH", "").split(":")):
        folders += [p for p in sorted(Path(root).iterdir()) if (p / "tool.toml").is_file()]
    return sorted(folders)


def load_tool(folder: Path) -> Tool:
    path = folder / "tool.toml"
    try:
        raw = tomllib.loads(path.read_text())
        return Tool(folder=folder, **raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); fix the file's TOML syntax") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: key `{key}`: {first['msg']}") from exc


@cache
def tools() -> dict[str, Tool]:
    found = {}
    for folder in _tool_folders():
        tool = load_tool(folder)
        if tool.name != folder.name:
            raise ConfigError(f"{folder / 'tool.toml'}: tool.name `{tool.name}` must equal the folder name")
        found[tool.name] = tool
    return found


def entries(stage: str | None = None) -> list[Entry]:
    """All schedulable entries, baseline first within each stage."""
    found = [
        Entry(stage=stage_name, name=name, tool=tool, spec=spec)
        for tool in tools().values()
        for stage_name, specs in tool.stages.items()
        for name, spec in specs.items()
        if stage is None or stage_name == stage
    ]
    return sorted(found, key=lambda e: (e.stage, not e.spec.baseline, e.name))


def stages() -> list[str]:
    return sorted({e.stage for e in entries()})


def adapter_lines(stage: str, entry: str) -> int | None:
    """Integration effort: code lines of the entry's adapter module (None if it is not found).

    A code line is a non-blank line that is neither a comment nor part of a docstring.
    """
    try:
        found = next((e for e in entries(stage) if e.name == entry), None)
    except Exception:  # a broken tool.toml elsewhere must not stop a decision
        return None
    if found is None:
        return None
    path = _module_path(found.spec.adapter.split(":")[0], found.tool.folder)
    if path is None:
        return None
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return sum(code_lines(f.read_text(encoding="utf-8")) for f in files)


def _module_path(module: str, folder: Path) -> Path | None:
    parts = module.split(".")
    rest = parts[parts.index(folder.name) + 1 :] if folder.name in parts else parts[-1:]
    base = folder.joinpath(*rest) if rest else folder
    for candidate in (base.with_suffix(".py"), base):
        if candidate.exists():
            return candidate
    return None
