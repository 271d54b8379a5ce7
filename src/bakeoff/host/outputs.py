"""What a stored run becomes: results.json, and with a team profile decision.json, then the
report (a decision memo when there is a decision). Host side."""

from __future__ import annotations

import json
from pathlib import Path

from bakeoff.host.decide import Decision, Profile, decide, saved_profile, write_decision
from bakeoff.host.decide.stability import confirm
from bakeoff.host.report import render_report
from bakeoff.host.results import build_results, write_results
from bakeoff.host.registry import ConfigError
from bakeoff.host.results_model import read_results
from bakeoff.host.store import Store
from bakeoff.worker.protocol import write_json_atomically


def write_report(store: Store, run_id: str, run_dir: Path, profile: Profile | None = None) -> tuple[Path, Decision | None]:
    """results.json and the report of a stored run; the profile defaults to the run folder's
    last decision, so a re-render keeps the memo."""
    results = build_results(store, run_id)
    write_results(results, run_dir)
    return render_memo(results, run_dir, profile or saved_profile(run_dir))


CONFIRMATION_FILE = "confirmation.json"  # {"repeat_run": id, "results": file}: set by `run --confirm`
REPEAT_RESULTS = "confirmation-results.json"  # the repeat run's results.json, kept in the run folder
# What makes a run a repeat of another: the same work, measured the same way.
SAME_WORK = ("stages", "entries", "quick", "repeats")


def record_confirmation(run_dir: Path, first: dict, again: dict) -> None:
    """Keep the repeat run's results (`again`) beside the run's own (`first`, in `run_dir`), so the
    folder (the worked example, a gallery entry) still says whether each verdict held when it is
    copied elsewhere."""
    run_dir = Path(run_dir)
    differ = [key for key in SAME_WORK if first["settings"].get(key) != again["settings"].get(key)]
    if differ:
        raise ConfigError(f"run {again['run_id']} is not a repeat of {first['run_id']}: its {', '.join(differ)} "
                          "differ; fix: confirm with a run of the same stages, tools, sizes and repeats")
    write_json_atomically(run_dir / REPEAT_RESULTS, again)
    write_json_atomically(run_dir / CONFIRMATION_FILE, {"repeat_run": again["run_id"], "results": REPEAT_RESULTS})


def decide_run(results: dict, run_dir: Path, profile: Profile) -> Decision:
    """The run's decision under the profile; when the run was repeated to confirm it, each
    verdict says whether it held in the repeat."""
    decision = decide(results, profile)
    marker = Path(run_dir) / CONFIRMATION_FILE
    if marker.is_file():
        repeat = json.loads(marker.read_text(encoding="utf-8"))
        # Older run folders named the repeat's folder instead of keeping its results.
        kept = Path(run_dir) / repeat["results"] if "results" in repeat else Path(repeat["repeat_dir"]) / "results.json"
        decision = confirm(decision, decide(read_results(kept), profile), repeat["repeat_run"])
    return decision


def render_memo(results: dict, run_dir: Path, profile: Profile | None) -> tuple[Path, Decision | None]:
    """report.md and report.html; with a profile, decision.json too and the report is a memo."""
    decision = decide_run(results, run_dir, profile) if profile else None
    if decision:
        write_decision(decision, run_dir)
    _, html = render_report(results, run_dir, decision)
    return html, decision
