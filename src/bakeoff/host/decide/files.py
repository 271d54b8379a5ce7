"""Decisions on disk: a run's results.json in, decision.json out (beside it).

decision.json keeps the profile itself, so re-rendering a run's report keeps it a memo. Host side.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bakeoff.host.decide.decision import Decision
from bakeoff.host.decide.profile import Profile, parse_profile
from bakeoff.worker.protocol import write_json_atomically
from bakeoff.host.registry import ConfigError
from bakeoff.host.results_model import read_results

DECISION_SCHEMA = 1


def load_results(run: str, out: Path) -> tuple[dict[str, Any], Path]:
    """A run's parsed results.json and its folder. `run` is a run id in `out`, "latest", or the
    path of a run folder."""
    folder = Path(run) if Path(run).is_dir() else Path(out) / run
    path = folder / "results.json"
    if not path.is_file():
        raise ConfigError(f"no results.json for run {run!r} in {out}; fix: pass a run id from `bakeoff run` "
                          f"(and its --out), a run folder, or rebuild it with `bakeoff report {run}`")
    return read_results(path), folder.resolve()


def to_json(decision: Decision) -> dict[str, Any]:
    """The decision as decision.json: the profile itself is kept, so a re-render can redo it."""
    return {
        "schema": DECISION_SCHEMA,
        "run_id": decision.run_id,
        "profile": decision.profile.model_dump(),
        "stages": {s.stage: {k: v for k, v in asdict(s).items() if k != "stage"} for s in decision.stages},
    }


def write_decision(decision: Decision, run_dir: Path) -> Path:
    path = Path(run_dir) / "decision.json"
    write_json_atomically(path, to_json(decision))
    return path


def saved_profile(run_dir: Path) -> Profile | None:
    """The profile of the run folder's last decision (so a re-render keeps the memo), if any."""
    path = Path(run_dir) / "decision.json"
    if not path.is_file():
        return None
    raw = dict(json.loads(path.read_text(encoding="utf-8")).get("profile") or {})
    source = str(raw.pop("source", "") or path)
    return parse_profile(raw, source)
