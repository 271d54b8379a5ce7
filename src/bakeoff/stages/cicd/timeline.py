"""What the jobs themselves recorded: `ci/step.sh` appends each step's start, end and exit code,
and `ci/steps.py` what the step saw (hashes, AUC, attempts), to one timeline file. The same
clock for every tool, read by the stage's checks and figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StepRecord:
    step: str
    start: float
    end: float
    code: int


class Timeline:
    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self, revision: str) -> list[dict]:
        found = []
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if record.get("revision") == revision:
                found.append(record)
        return found

    def steps(self, revision: str) -> list[StepRecord]:
        return sorted((StepRecord(r["step"], r["start"], r["end"], r["code"]) for r in self.lines(revision)
                       if r["kind"] == "step"), key=lambda s: s.start)

    def ran(self, revision: str) -> set[str]:
        """Step names (matrix steps as "step:value") that ran for the revision."""
        return {s.step for s in self.steps(revision)}

    def details(self, revision: str, step: str) -> list[dict]:
        return [r for r in self.lines(revision) if r["kind"] == "detail" and r["step"] == step]

    def detail(self, revision: str, step: str) -> dict:
        found = self.details(revision, step)
        return found[-1] if found else {}
