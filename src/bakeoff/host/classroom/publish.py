"""`bakeoff publish RUN`: a run folder -> one publication in the class store.

A publication carries the run's files as they were written (results.json, report.md, report.html,
decision.json when the run had a profile) and the POC.md of each of the run's outside tools (found
as `bakeoff grade` finds it: the tool's folder through BAKEOFF_TOOLS_PATH). Everything is read and
checked before the store is opened, so a bad run never half-publishes. Host side.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from bakeoff import __version__
from bakeoff.host import registry
from bakeoff.host.classroom.store import ClassStore, PocFile, Publication
from bakeoff.host.decide import load_results
from bakeoff.host.grade import graded_entries
from bakeoff.host.registry import ConfigError

TEAM_VARIABLE = "BAKEOFF_TEAM"


def team_name(team: str | None) -> str:
    """--team, else $BAKEOFF_TEAM, else the login name."""
    name = " ".join((team or os.environ.get(TEAM_VARIABLE) or getpass.getuser() or "").split())
    if not name or len(name) > 80:
        raise ConfigError(f"team name {name!r} must be 1 to 80 characters; fix: pass --team NAME")
    return name


def _read(path: Path, fix: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); fix: {fix}") from None


def poc_files(results: dict) -> list[PocFile]:
    """The POC.md of every outside tool of the run that has one (a run of bakeoff's own tools has none)."""
    try:
        entries = graded_entries(results, None)
    except ConfigError:  # no outside tool in this run: nothing to attach
        return []
    known = registry.tools()
    found = []
    for stage, entry in entries:
        name = results["stages"][stage]["tools"][entry].get("tool") or entry
        path = known[name].folder / "POC.md" if name in known else None
        if path is not None and path.is_file():
            found.append(PocFile(stage, entry, _read(path, "check the file's permissions")))
    return found


def gather(run: str, runs: Path, team: str | None) -> Publication:
    """Read and check everything a publication needs from the run folder."""
    results, run_dir = load_results(run, runs)  # refuses a missing run, and a results.json from a newer bakeoff
    rerender = f"rebuild the memo with `bakeoff report {results['run_id']}` (or `bakeoff decide`)"
    raw_results = _read(run_dir / "results.json", rerender)
    decision_path = run_dir / "decision.json"
    decision = _read(decision_path, rerender) if decision_path.is_file() else None
    if decision is not None:
        try:
            json.loads(decision)
        except ValueError as exc:
            raise ConfigError(f"{decision_path} is not JSON ({exc}); fix: {rerender}") from None
    for name in ("report.md", "report.html"):
        if not (run_dir / name).is_file():
            raise ConfigError(f"run {results['run_id']} has no {name} in {run_dir}; fix: {rerender}")
    return Publication(
        team=team_name(team),
        run_id=str(results["run_id"]),
        run_created=str(results.get("created") or ""),
        bakeoff_version=str((results.get("host") or {}).get("bakeoff") or __version__),
        results_schema=int(json.loads(raw_results).get("schema", 0)),  # as stored, before any upgrade
        results_json=raw_results,
        decision_json=decision,
        report_md=_read(run_dir / "report.md", rerender),
        report_html=_read(run_dir / "report.html", rerender),
        poc_files=tuple(poc_files(results)),
    )


def publish(run: str, runs: Path, url: str, team: str | None) -> tuple[int, Publication, str]:
    """Publish one run; returns the new publication's id, what was sent, and the store's name."""
    publication = gather(run, runs, team)
    with ClassStore(url) as store:
        return store.publish(publication), publication, store.name
