"""Freshness of what bakeoff ships: the walkthrough notebooks and the worked example say which
locks, data and code their figures came from, and `bakeoff fresh` says which of them changed.

A provenance record holds, per stage, hashes of the inputs that shape that stage's figures:

    {"locks": {"locks/jsonl.txt": "<sha256>", ...},          # the locks of the stage's tools
     "code":  {"stages/tracking": "<sha256>", "tools/jsonl": ..., "worker": ..., "data": ...},
     "data":  {"key": "<prepared-data key>", "prep_version": "2"}}

Hashes are over file contents (not git metadata), so a checkout without .git, or an unpacked
archive, is checked the same way. Host side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.host.envs import PROJECT_DIR

SHARED_CODE = ("worker", "data")  # every stage's figures go through these
EXAMPLE = Path("examples/student-quick")
EXAMPLE_PROVENANCE = "provenance.json"
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", "node_modules"}


def tree_hash(folder: Path) -> str:
    """sha256 over every file's relative path and content (bytecode caches left out), or
    "missing" when the folder is gone."""
    if not folder.is_dir():
        return "missing"
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if SKIPPED_PARTS & set(relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def data_fingerprint() -> dict:
    """The prepared data's key: a hash of everything the prepared batches depend on."""
    from bakeoff.host.prepare import PREP_VERSION, cache_key

    return {"key": cache_key(), "prep_version": PREP_VERSION}


def stage_provenance(stage: str, tools: list[str], project: Path = PROJECT_DIR) -> dict:
    """The current hashes of one stage's inputs, for these tools (the baseline among them)."""
    source = project / "src" / "bakeoff"
    code = {f"stages/{stage}": tree_hash(source / "stages" / stage)}
    code |= {f"tools/{tool}": tree_hash(source / "tools" / tool) for tool in sorted(set(tools))}
    code |= {name: tree_hash(source / name) for name in SHARED_CODE}
    locks = {f"locks/{tool}.txt": file_hash(project / "locks" / f"{tool}.txt") for tool in sorted(set(tools))}
    return {"locks": locks, "code": code, "data": data_fingerprint()}


def now_as_recorded(recorded: dict, project: Path) -> dict:
    """The same inputs a record names, hashed as they are now."""
    source = project / "src" / "bakeoff"
    return {"locks": {name: file_hash(project / name) for name in recorded.get("locks", {})},
            "code": {name: tree_hash(source / name) for name in recorded.get("code", {})},
            "data": data_fingerprint()}


def changes(recorded: dict[str, dict], project: Path = PROJECT_DIR) -> list[str]:
    """What changed since a record of {stage: provenance} was made, once per input."""
    found: list[str] = []
    for provenance in recorded.values():
        now = now_as_recorded(provenance, project)
        for name, digest in provenance.get("locks", {}).items():
            if now["locks"][name] != digest:
                found.append(f"{name} {'removed' if now['locks'][name] == 'missing' else 'changed'}")
        for name, digest in provenance.get("code", {}).items():
            if now["code"][name] != digest:
                found.append(f"code of {name} changed")
        data = provenance.get("data") or {}
        if data.get("key") != now["data"]["key"]:
            found.append(f"data changed: prepared data {data.get('key')} (prep {data.get('prep_version')}) -> "
                         f"{now['data']['key']} (prep {now['data']['prep_version']})")
    return list(dict.fromkeys(found))


@dataclass
class Freshness:
    artefact: str  # path relative to the project
    changes: list[str] = field(default_factory=list)
    stage: str = ""  # a walkthrough's stage: what --rerun rebuilds
    missing: bool = False

    @property
    def fresh(self) -> bool:
        return not self.changes and not self.missing

    def line(self) -> str:
        if self.missing:
            return f"{self.artefact} stale: {'; '.join(self.changes) or 'no provenance record'}"
        return f"{self.artefact} fresh" if self.fresh else f"{self.artefact} stale: {', '.join(self.changes)}"


def example_tools(results: dict) -> dict[str, list[str]]:
    """Per stage, the tools (not entries: two entries may share a tool) of a results.json."""
    return {key: sorted({str(t.get("tool") or name) for name, t in (stage.get("tools") or {}).items()})
            for key, stage in (results.get("stages") or {}).items()}


def stamp_example(folder: Path, basis: str, project: Path = PROJECT_DIR) -> Path:
    """Write the worked example's provenance.json from the inputs as they are in `project`
    (the checkout that made the run): call it right after regenerating the example."""
    results = json.loads((folder / "results.json").read_text())
    stages = {stage: stage_provenance(stage, tools, project) for stage, tools in example_tools(results).items()}
    recorded_data = results.get("data") or {}
    for provenance in stages.values():  # the data the run actually used, as its results.json says
        provenance["data"] = {"key": recorded_data.get("key"), "prep_version": recorded_data.get("prep_version")}
    path = folder / EXAMPLE_PROVENANCE
    path.write_text(json.dumps({"run_id": results.get("run_id"), "basis": basis, "stages": stages},
                               indent=1, sort_keys=True) + "\n")
    return path


def check_example(project: Path = PROJECT_DIR) -> Freshness:
    name = (EXAMPLE / EXAMPLE_PROVENANCE).as_posix()
    try:
        record = json.loads((project / EXAMPLE / EXAMPLE_PROVENANCE).read_text())
    except (OSError, ValueError):
        return Freshness(EXAMPLE.as_posix(), ["no readable " + name], missing=True)
    return Freshness(EXAMPLE.as_posix(), changes(record.get("stages") or {}, project))


def check_all(project: Path = PROJECT_DIR) -> list[Freshness]:
    """Every shipped artefact: each stage's walkthrough, then the worked example."""
    from bakeoff.host import walkthroughs

    return [*(walkthroughs.freshness(stage, project) for stage in walkthroughs.stages()), check_example(project)]
