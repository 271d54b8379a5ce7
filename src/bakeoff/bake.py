"""The bake-off, as a recipe of named steps (nox style). Each step is small and returns data;
the CLI strings them together and shows progress. Host side."""

from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from bakeoff import envs, registry
from bakeoff.envs import EnvOutcome
from bakeoff.plan import Trial, make_plan
from bakeoff.protocol import FAILED, OK
from bakeoff.registry import ConfigError, Entry
from bakeoff.runner import TrialOutcome, run_trial
from bakeoff.stages.spec import StageSpec, all_specs
from bakeoff.store import Store, TrialRecord

HOME = Path(os.environ.get("BAKEOFF_HOME", ".bakeoff")).absolute()


@dataclass
class Selection:
    stages: list[StageSpec]
    entries: list[Entry]

    @property
    def tools(self) -> list[registry.Tool]:
        return list({e.tool.name: e.tool for e in self.entries}.values())


@dataclass
class Phases:
    """Seconds spent per phase of a session, for the overhead figure."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def select(stages: list[str], tools: list[str]) -> Selection:
    """Validate the stage and tool names; the baseline of each chosen stage is always included."""
    specs = all_specs()
    for name in stages:
        if name not in specs:
            raise ConfigError(f"unknown stage {name!r}; choose from: {', '.join(specs)}")
    chosen = [specs[n] for n in (stages or specs)]
    available = [e for s in chosen for e in registry.entries(s.name)]
    known = {e.name for e in available} | {e.tool.name for e in available}
    for name in tools:
        if name not in known:
            raise ConfigError(f"unknown tool {name!r} for stage(s) {', '.join(s.name for s in chosen)}; "
                              f"choose from: {', '.join(sorted(known))}")
    entries = [e for e in available if not tools or e.spec.baseline or e.name in tools or e.tool.name in tools]
    return Selection(chosen, entries)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def ensure_envs(tools: list[registry.Tool], envs_root: Path, *, offline: bool,
                on_done: Callable[[EnvOutcome], None]) -> dict[str, EnvOutcome]:
    outcomes = {}
    for tool in tools:
        outcomes[tool.name] = envs.ensure(tool, envs_root, offline=offline)
        on_done(outcomes[tool.name])
    return outcomes


def pending(selection: Selection, store: Store, run_id: str, repeats: int, timeout: float | None) -> list[Trial]:
    """The plan minus the trials already stored (any outcome): what a resumed run still owes."""
    done = store.finished_trials(run_id)
    plan = make_plan(selection.stages, selection.entries, repeats)
    if timeout:
        plan = [replace(t, timeout=timeout) for t in plan]
    return [t for t in plan if t.trial_id not in done]


def trial_sizes(trial: Trial, settings: dict) -> dict:
    """The run's sizes for the trial's stage; the warm-up round runs on the stage's smaller
    warm-up sizes (kept in the run's settings, so a resumed run uses the same)."""
    sizes = settings["sizes"][trial.stage]
    return sizes if trial.measured else {**sizes, **settings.get("warmup", {}).get(trial.stage, {})}


def execute(trial: Trial, entry: Entry, env: EnvOutcome, *, run_id: str, run_dir: Path, data_dir: Path,
            settings: dict, keep_scratch: bool) -> TrialRecord:
    """Run one trial (or record why it cannot run) as a record ready to store."""
    record = TrialRecord(trial.trial_id, trial.stage, trial.entry, trial.kind, trial.round, status=OK)
    if env.status != OK:
        record.status, record.reason = FAILED, f"environment could not be built: {env.error}"
        return record
    outcome: TrialOutcome = run_trial(trial, entry, env.python, run_id=run_id, run_dir=run_dir, data_dir=data_dir,
                                      settings=settings, keep_scratch=keep_scratch)
    record.status, record.reason, record.seconds = outcome.status, outcome.reason, outcome.seconds
    record.log = str(outcome.log.relative_to(run_dir))
    if outcome.result is not None:
        record.metrics, record.samples = outcome.result.metrics, outcome.result.samples
        record.probes, record.facts = outcome.result.probes, outcome.result.facts
    return record


def point_latest(out: Path, run_dir: Path) -> None:
    latest = out / "latest"
    tmp = out / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, latest)
