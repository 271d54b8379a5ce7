"""What a stored run becomes: results.json, and with a team profile decision.json, then the
report (a decision memo when there is a decision). Host side."""

from __future__ import annotations

from pathlib import Path

from bakeoff.host.decide import Decision, Profile, decide, saved_profile, write_decision
from bakeoff.host.report import render_report
from bakeoff.host.results import build_results, write_results
from bakeoff.host.store import Store


def write_report(store: Store, run_id: str, run_dir: Path, profile: Profile | None = None) -> tuple[Path, Decision | None]:
    """results.json and the report of a stored run; the profile defaults to the run folder's
    last decision, so a re-render keeps the memo."""
    results = build_results(store, run_id)
    write_results(results, run_dir)
    return render_memo(results, run_dir, profile or saved_profile(run_dir))


def render_memo(results: dict, run_dir: Path, profile: Profile | None) -> tuple[Path, Decision | None]:
    """report.md and report.html; with a profile, decision.json too and the report is a memo."""
    decision = decide(results, profile) if profile else None
    if decision:
        write_decision(decision, run_dir)
    _, html = render_report(results, run_dir, decision)
    return html, decision
