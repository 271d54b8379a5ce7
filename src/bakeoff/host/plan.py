"""What to run: stages x entries x trial kinds x repeat rounds, in an order that is fair.

First, one `check` trial per entry (import, contract, options, a smoke call: `bakeoff check`),
so a broken adapter is caught once, before any figure. Then, per stage, round 0 of the repeated
kind is the warm-up (run, stored, never counted), then the measured rounds. Within a round the
entries are interleaved (A B C A B C) so slow drift of the machine hits every tool alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from bakeoff.host.registry import Entry
from bakeoff.stages.spec import StageSpec
from bakeoff.worker.protocol import CHECK_KIND

WARMUP_ROUND = 0
CHECK_TIMEOUT = 300.0  # importing the heaviest tools (Ray, Airflow) and one smoke call


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


def shares_machine(spec: StageSpec | None, kind: str, round_: int) -> bool:
    """Whether a trial may run beside another: a check, a trial of a kind whose every figure is
    a count, rate or outcome (`TrialKind.shares_machine`), or the warm-up round of the repeated
    kind (its figures are discarded: it only warms imports, bytecode, the page cache and first
    calls, which it does as well beside another warm-up); never a measured round of the
    repeated kind. The schedule (bake.machine_groups) and the stage's time (results) both ask."""
    if kind == CHECK_KIND:
        return True
    trial_kind = spec.kinds.get(kind) if spec is not None else None
    if trial_kind and trial_kind.repeated:
        return round_ == WARMUP_ROUND
    return bool(trial_kind and trial_kind.shares_machine)


def check_trial(stage: str, entry: str) -> Trial:
    return Trial(stage, entry, CHECK_KIND, 1, CHECK_TIMEOUT)


def make_plan(stages: list[StageSpec], entries: list[Entry], repeats: int) -> list[Trial]:
    chosen = {s.name for s in stages}
    trials = [check_trial(e.stage, e.name) for e in entries if e.stage in chosen]
    for stage in stages:
        names = [e.name for e in entries if e.stage == stage.name]
        for round_ in range(WARMUP_ROUND, repeats + 1):
            for name in names:
                trials.append(Trial(stage.name, name, stage.repeated_kind, round_, stage.timeout(stage.repeated_kind)))
        for kind in stage.once_kinds:
            for name in names:
                trials.append(Trial(stage.name, name, kind, 1, stage.timeout(kind)))
    return trials
