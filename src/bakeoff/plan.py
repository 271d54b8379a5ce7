"""What to run: stages x entries x trial kinds x repeat rounds, in an order that is fair.

Round 0 of the repeated kind is the warm-up (run, stored, never counted). Within a round the
entries are interleaved (A B C A B C) so slow drift of the machine hits every tool alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from bakeoff.registry import Entry
from bakeoff.stages.spec import StageSpec

WARMUP_ROUND = 0


@dataclass(frozen=True)
class Trial:
    stage: str
    entry: str
    kind: str
    round: int
    timeout: float

    @property
    def trial_id(self) -> str:
        return f"{self.stage}/{self.entry}/{self.kind}-r{self.round}"

    @property
    def measured(self) -> bool:
        return self.round != WARMUP_ROUND


def make_plan(stages: list[StageSpec], entries: list[Entry], repeats: int) -> list[Trial]:
    trials = []
    for stage in stages:
        names = [e.name for e in entries if e.stage == stage.name]
        for round_ in range(WARMUP_ROUND, repeats + 1):
            for name in names:
                trials.append(Trial(stage.name, name, stage.repeated_kind, round_, stage.timeouts.get(stage.repeated_kind, 600)))
        for kind in stage.once_kinds:
            for name in names:
                trials.append(Trial(stage.name, name, kind, 1, stage.timeouts.get(kind, 600)))
    return trials
