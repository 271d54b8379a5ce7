"""The bake-off, as a recipe of named steps (nox style):

    select -> open the run (new or resumed) -> prepare data -> envs -> check each tool ->
    trials (warm-up, measured rounds, once-per-tool kinds) -> results.json -> report/memo

Each step is small and returns data; `bake_run` strings them together, and the CLI only parses
flags and shows progress through the `Progress` callbacks. Host side."""

from __future__ import annotations

import heapq
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from bakeoff.drawing import numbers as fmt
from bakeoff.host import envs, registry
from bakeoff.host.envs import EnvOutcome
from bakeoff.host.plan import Trial, make_plan
from bakeoff.host.plan import shares_machine as kind_shares_machine
from bakeoff.worker.protocol import CHECK_KIND, FAILED, OK, SKIPPED
from bakeoff.host.registry import ConfigError, Entry
from bakeoff.host.runner import TrialOutcome, run_trial
from bakeoff.stages.spec import StageSpec, all_specs
from bakeoff.host.store import WORKER_ENDED, Store, TrialRecord



def bakeoff_home() -> tuple[Path, str]:
    """Where envs, data, runs and checks live, and why there. Not the working directory: run
    from another folder, every env would read "not built" and be rebuilt there. $BAKEOFF_HOME
    if set; else the project's `.bakeoff` when bakeoff runs from its checkout; else a per-user
    cache (bakeoff installed elsewhere)."""
    if os.environ.get("BAKEOFF_HOME"):
        return Path(os.environ["BAKEOFF_HOME"]).absolute(), "set by BAKEOFF_HOME"
    if (envs.PROJECT_DIR / "pyproject.toml").is_file() and envs.LOCKS_DIR.is_dir():
        return envs.PROJECT_DIR / ".bakeoff", "the project's; set BAKEOFF_HOME to move it"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache.absolute() / "bakeoff", "per-user cache; set BAKEOFF_HOME to move it"


HOME, HOME_SOURCE = bakeoff_home()


@dataclass
class Selection:
    stages: list[StageSpec]
    entries: list[Entry]  # what runs
    unavailable: list[Entry] = field(default_factory=list)  # what cannot run here: a row with its reason

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
    return Selection(chosen, [e for e in entries if not e.unavailable], [e for e in entries if e.unavailable])


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def in_pairs(items: list, work: Callable, on_each: Callable) -> list:
    """work(item) for every item, SIDE_BY_SIDE at a time; on_each(item, result) in this thread
    as each ends; the results in the items' order. For work that measures nothing."""
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE) as pool:
        futures = {pool.submit(work, item): i for i, item in enumerate(items)}
        results = [None] * len(items)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            on_each(items[futures[future]], results[futures[future]])
    return results


def ensure_envs(tools: list[registry.Tool], envs_root: Path, *, offline: bool,
                on_done: Callable[[EnvOutcome], None]) -> dict[str, EnvOutcome]:
    """Find or build every tool's env, two builds at a time: a build is half waiting (uv
    linking from its cache, npm) and half compiling bytecode, so two share a 2-core machine
    well. Builds happen before any trial, so they never overlap a measurement."""
    outcomes = in_pairs(tools, lambda tool: envs.ensure(tool, envs_root, offline=offline),
                        lambda tool, outcome: on_done(outcome))
    return {tool.name: outcome for tool, outcome in zip(tools, outcomes)}


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
            settings: dict, keep_scratch: bool, stop: threading.Event | None = None) -> TrialRecord:
    """Run one trial (or record why it cannot run) as a record ready to store."""
    record = TrialRecord(trial.trial_id, trial.stage, trial.entry, trial.kind, trial.round, status=OK)
    if env.status != OK:
        record.status, record.reason = FAILED, f"environment could not be built: {env.error}"
        return record
    outcome: TrialOutcome = run_trial(trial, entry, env.python, run_id=run_id, run_dir=run_dir, data_dir=data_dir,
                                      settings=settings, keep_scratch=keep_scratch, stop=stop)
    record.status, record.reason, record.seconds = outcome.status, outcome.reason, outcome.seconds
    record.log = str(outcome.log.relative_to(run_dir))
    if outcome.result is not None:
        record.metrics, record.samples = outcome.result.metrics, outcome.result.samples
        record.probes, record.facts = outcome.result.probes, outcome.result.facts
        record.figures = outcome.result.figures
        record.facts[WORKER_ENDED] = outcome.ended_at  # with worker_seconds, the worker's span
    return record


def point_latest(out: Path, run_dir: Path) -> None:
    latest = out / "latest"
    tmp = out / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, latest)


@dataclass
class RunOptions:
    """What `bakeoff run` was asked for."""

    stages: list[str]
    tools: list[str]
    quick: bool
    repeats: int | None
    out: Path
    resume: str | None
    timeout: float | None
    keep_scratch: bool
    offline: bool
    command: str
    budget: float | None = None  # minutes: pick the sizes and repeats that fit (fit_budget)


@dataclass
class Run:
    run_id: str
    run_dir: Path
    store: Store
    selection: Selection
    settings: dict
    data_dir: Path | None = None
    envs: dict[str, EnvOutcome] = field(default_factory=dict)
    phases: Phases = field(default_factory=Phases)
    failed_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # (stage, entry) -> why


class Progress:
    """What the recipe tells whoever shows it (the CLI prints; tests may collect)."""

    def data_step(self, step: str) -> None: ...
    def env_done(self, outcome: EnvOutcome) -> None: ...
    def trials_start(self, run: Run, total: int, estimated: Estimate) -> None: ...
    def trial_start(self, trial: Trial) -> None: ...
    def trial_done(self, trial: Trial, record: TrialRecord, *, reported: bool) -> None: ...


def open_run(options: RunOptions) -> Run:
    """A new run (its settings fixed now, so a resume uses the same) or the one to resume."""
    out = options.out
    if options.resume:
        if not (out / "results.sqlite").exists():
            raise ConfigError(f"no results database in {out} to resume from; pass the --out of that run")
        store = Store(out / "results.sqlite")
        previous = store.run(options.resume)
        settings = previous["settings"]
        selection = select(settings["stages"], settings["tools"])
        return Run(options.resume, out / options.resume, store, selection, settings)
    selection = select(options.stages, options.tools)  # validate before touching any store
    store = Store(out / "results.sqlite")
    fitted = None
    if options.budget is not None:
        options, fitted = fit_budget(options, selection, store)
        if not fitted["fits"]:
            raise ConfigError(over_budget(fitted))
    repeats = options.repeats or (3 if options.quick else 5)
    settings = {"quick": options.quick, "repeats": repeats, "stages": [s.name for s in selection.stages],
                "tools": options.tools, "timeout": options.timeout,
                "entries": {s.name: [e.name for e in selection.entries if e.stage == s.name] for s in selection.stages},
                "unavailable": {s.name: {e.name: e.unavailable for e in selection.unavailable if e.stage == s.name}
                                for s in selection.stages},
                "sizes": {s.name: s.settings(options.quick) for s in selection.stages},
                "warmup": {s.name: s.warmup for s in selection.stages if s.warmup}}
    if fitted is not None:
        settings["budget"] = fitted
    run_id = new_run_id()
    return Run(run_id, out / run_id, store, selection, settings)


def prepare_run(run: Run, options: RunOptions, progress: Progress) -> None:
    """Data, the run's record (new runs), the envs."""
    from bakeoff.host.prepare import prepare
    from bakeoff.host.results import host_facts

    try:
        run.run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the run folder {run.run_dir} ({exc.strerror or exc}); "
                          "fix: pass a writable --out folder") from None
    with run.phases.timing("data"):
        info = prepare(HOME / "data", on_step=progress.data_step)
    run.data_dir = info.dir
    if not options.resume:
        run.store.create_run(run.run_id, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             command=options.command, settings=run.settings, host=host_facts(), data=info.summary)
    with run.phases.timing("envs"):
        run.envs = ensure_envs(run.selection.tools, HOME / "envs", offline=options.offline, on_done=progress.env_done)
    with run.phases.timing("env_check"):
        for name, outcome in run.envs.items():
            run.store.record_env(run.run_id, name, outcome.status, outcome.info, outcome.error)


@dataclass(frozen=True)
class Estimate:
    seconds: float
    known: int  # trials whose duration comes from earlier runs on this machine
    total: int

    def text(self) -> str:
        length = f"{self.seconds:.0f} s" if self.seconds < 90 else f"{self.seconds / 60:.0f} min"
        return f"estimated ~{length}, {self.source()}"

    def source(self) -> str:
        return (f"from {self.known} of {self.total} trials' earlier durations on this machine"
                if self.known else "from the stages' stated budgets (no earlier run here)")


def estimate(run: Run, todo: list[Trial], typical: dict[tuple[str, str, str], float] | None = None) -> Estimate:
    return estimate_trials(run.store, run.selection.stages, bool(run.settings.get("quick")), todo, typical)


def estimate_trials(store: Store, stages: list[StageSpec], quick: bool, todo: list[Trial],
                    typical: dict[tuple[str, str, str], float] | None = None) -> Estimate:
    """How long the trials still owed should take, scheduled as `run_trials` runs them (groups
    side by side, two slots, longest first). Each trial lasts its median duration in earlier runs
    of the same size here (`typical`, read from the store when not given), else its stage's stated
    quick budget shared over its trials (a full run is taken as ten times the quick one)."""
    typical = store.typical_seconds(quick) if typical is None else typical
    per_stage = {s.name: s.quick_budget_s if quick else s.quick_budget_s * 10 for s in stages}
    counts = {name: sum(1 for t in todo if t.stage == name) for name in per_stage}

    def lasts(trial: Trial) -> float:
        found = typical.get((trial.stage, trial.entry, trial.kind))
        return found if found is not None else per_stage[trial.stage] / max(1, counts[trial.stage])

    seconds = 0.0
    for group in machine_groups(todo, {s.name: s for s in stages}):
        seconds += makespan([lasts(t) for t in longest_first(group, typical)], 1 if len(group) == 1 else SIDE_BY_SIDE)
    known = sum(1 for t in todo if (t.stage, t.entry, t.kind) in typical)
    return Estimate(seconds, known, len(todo))


def makespan(durations: list[float], slots: int) -> float:
    """When the last of `durations` ends, each started in order in the first slot to come free
    (as a thread pool of `slots` workers takes them)."""
    free = [0.0] * slots
    for seconds in durations:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


# What --budget may choose, from the most evidence to the least: full sizes before quick ones,
# then more repeats before fewer. Never below 3 measured rounds: an interval from two is noise.
BUDGET_CHOICES = [(False, 5), (False, 3), (True, 5), (True, 3)]


def fit_budget(options: RunOptions, selection: Selection, store: Store) -> tuple[RunOptions, dict]:
    """The sizes and repeats with the most evidence whose estimate fits `options.budget`
    minutes, keeping what the user fixed (--quick, --repeats). When nothing fits, the least of
    them, with the tools that would fit (`fits_with`): a run is never cut short, stripped of its
    warm-up or of its repeats to fit, so fewer tools is the only way left, and the user's call."""
    choices = [(quick, repeats) for quick, repeats in BUDGET_CHOICES
               if (quick or not options.quick) and options.repeats in (None, repeats)]
    if not choices:  # --repeats outside the list: only the size is ours to choose
        choices = [(quick, options.repeats) for quick in ([True] if options.quick else [False, True])]
    budget_s = options.budget * 60
    for quick, repeats in choices:
        guess = estimate_trials(store, selection.stages, quick, make_plan(selection.stages, selection.entries, repeats))
        if guess.seconds <= budget_s:
            break
    fitted = {"minutes": options.budget, "quick": quick, "repeats": repeats, "estimate_s": round(guess.seconds),
              "fits": guess.seconds <= budget_s, "estimate": guess.text(), "source": guess.source()}
    if not fitted["fits"]:
        tools, seconds = tools_that_fit(selection, store, quick, repeats, budget_s)
        fitted["fits_with"], fitted["fits_with_s"] = tools, round(seconds)
    return replace(options, quick=quick, repeats=repeats), fitted


def over_budget(fitted: dict) -> str:
    """One line: the budget cannot hold these tools with the evidence rules kept, and what can."""
    size = f"{'quick' if fitted['quick'] else 'full'} sizes and {fitted['repeats']} repeats"
    head = (f"--budget {fitted['minutes']:g}: the least evidence bakeoff gives ({size}) takes about "
            f"{fmt.duration(fitted['estimate_s'])} with these tools ({fitted['source']})")
    about = f"about {fmt.duration(fitted['fits_with_s'])}"
    if fitted["fits_with"]:
        fit = f"--tools {','.join(fitted['fits_with'])} ({about})"
    elif fitted["fits_with_s"] <= fitted["minutes"] * 60:
        fit = f"the baselines alone ({about}), no tool beside them"
    else:
        fit = f"not even the baselines alone ({about})"
    return f"{head}; within {fitted['minutes']:g} min here: {fit}, or give more minutes"


def tools_that_fit(selection: Selection, store: Store, quick: bool, repeats: int,
                   budget_s: float) -> tuple[list[str], float]:
    """The most tools whose run fits `budget_s`, cheapest first by this machine's estimate: what
    a class slot can hold. The baselines always run (every figure is paired with them), so
    they are not listed; an empty list means only the baselines fit."""
    typical = store.typical_seconds(quick)  # read once: every subset below is estimated from it

    def seconds(entries: list[Entry]) -> float:
        plan = make_plan(selection.stages, entries, repeats)
        return estimate_trials(store, selection.stages, quick, plan, typical).seconds

    chosen = [e for e in selection.entries if e.spec.baseline]
    alone = seconds(chosen)
    if alone > budget_s:
        return [], alone
    others = sorted((e for e in selection.entries if not e.spec.baseline), key=lambda e: seconds([*chosen, e]))
    total = alone
    for entry in others:
        more = seconds([*chosen, entry])
        if more <= budget_s:
            chosen, total = [*chosen, entry], more
    return [e.name for e in chosen if not e.spec.baseline], total


def run_trials(run: Run, options: RunOptions, progress: Progress) -> None:
    """Every trial still owed, in plan order. A tool whose check failed skips its other trials
    (they could only repeat the same failure), recorded as skipped with the check's reason.
    Trials that measure no time or memory (the checks, and kinds marked `shares_machine`) run two
    at a time; a measured trial always has the machine to itself."""
    todo = pending(run.selection, run.store, run.run_id, run.settings["repeats"], run.settings.get("timeout"))
    for record in run.store.trials(run.run_id):  # a resumed run remembers its failed checks
        if record.kind == CHECK_KIND and record.status != OK:
            run.failed_checks[(record.stage, record.entry)] = record.reason
    entries = {(e.stage, e.name): e for e in run.selection.entries}
    # Earlier durations here, read once: the estimate and the longest-first order both use them.
    typical = run.store.typical_seconds(bool(run.settings.get("quick")))
    progress.trials_start(run, len(todo), estimate(run, todo, typical))

    def one(trial: Trial, stop: threading.Event | None = None) -> TrialRecord:
        entry = entries[(trial.stage, trial.entry)]
        why = run.failed_checks.get((trial.stage, trial.entry))
        if why is not None:
            return TrialRecord(trial.trial_id, trial.stage, trial.entry, trial.kind, trial.round, status=SKIPPED,
                               reason=f"check failed: {why}")
        return execute(trial, entry, run.envs[entry.tool.name], run_id=run.run_id, run_dir=run.run_dir,
                       data_dir=run.data_dir, settings=trial_sizes(trial, run.settings),
                       keep_scratch=options.keep_scratch, stop=stop)

    def done(trial: Trial, record: TrialRecord) -> None:
        if trial.kind == CHECK_KIND and record.status != OK:
            run.failed_checks[(trial.stage, trial.entry)] = record.reason
        run.store.record_trial(run.run_id, record)
        env = run.envs[entries[(trial.stage, trial.entry)].tool.name]
        # A tool whose env failed was reported by the env step; its trials all fail alike.
        progress.trial_done(trial, record, reported=env.status != OK or record.status == SKIPPED)

    with run.phases.timing("trials"):
        for group in machine_groups(todo, {s.name: s for s in run.selection.stages}):
            if len(group) == 1:
                progress.trial_start(group[0])
                done(group[0], one(group[0]))
            else:
                run_side_by_side(longest_first(group, typical), one, done, progress)


SIDE_BY_SIDE = 2  # unmeasured trials at once: the machine's two cores, each waiting half the time


def shares_machine(trial: Trial, specs: dict[str, StageSpec]) -> bool:
    """See plan.shares_machine."""
    return kind_shares_machine(specs.get(trial.stage), trial.kind, trial.round)


def machine_groups(todo: list[Trial], specs: dict[str, StageSpec] | None = None) -> list[list[Trial]]:
    """Consecutive trials whose figures are no time or memory, or are discarded (checks, kinds
    marked `shares_machine` in `specs`, warm-up rounds) form one group, run side by side; every
    other trial is a group of its own."""
    specs = specs or {}
    groups: list[list[Trial]] = []
    for trial in todo:
        # Checks never share a group with other trials: every check ends before a tool's first
        # trial starts, so a tool whose check failed skips the rest.
        if (shares_machine(trial, specs) and groups and shares_machine(groups[-1][0], specs)
                and (trial.kind == CHECK_KIND) == (groups[-1][0].kind == CHECK_KIND)):
            groups[-1].append(trial)
        else:
            groups.append([trial])
    return groups


def longest_first(group: list[Trial], typical: dict[tuple[str, str, str], float]) -> list[Trial]:
    """The group's trials, the longest (by earlier runs here) first: two slots filled in plan
    order can leave one idle while the last long trial runs alone. Unknown ones go last, in
    plan order (the sort is stable)."""
    return sorted(group, key=lambda t: -typical.get((t.stage, t.entry, t.kind), 0.0))


def run_side_by_side(group: list[Trial], one: Callable, done: Callable, progress: Progress) -> None:
    """Run the group's trials SIDE_BY_SIDE at a time; records are stored (and shown) in this
    thread as each ends. On Ctrl-C every running trial is told to stop and ends its processes
    before the interrupt goes on."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=SIDE_BY_SIDE)
    try:
        futures = {}
        for trial in group:
            progress.trial_start(trial)
            futures[pool.submit(one, trial, stop)] = trial
        for future in as_completed(futures):
            done(futures[future], future.result())
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def bake_run(options: RunOptions, progress: Progress) -> Run:
    """The whole recipe up to the stored trials; the caller writes the report with `finish_run`
    (also after Ctrl-C, so an interrupted run still has its partial report)."""
    run = open_run(options)
    prepare_run(run, options, progress)
    run_trials(run, options, progress)
    return run


def finish_run(run: Run, status: str, profile=None):
    """Close the session, write results.json and the report (the memo with a profile) once, and
    record how long that took: the next re-render of this run states it."""
    from bakeoff.host.outputs import write_report

    run.store.finish_run(run.run_id, status, run.phases.seconds)
    tick = time.perf_counter()
    report, decision = write_report(run.store, run.run_id, run.run_dir, profile)
    run.store.finish_run(run.run_id, status, {"report": time.perf_counter() - tick})
    return report, decision


@dataclass(frozen=True)
class CheckOutcome:
    stage: str
    entry: str
    ok: bool
    message: str  # what was checked, or the one-line reason it failed
    log: Path


def check_tools(tools: list[registry.Tool], *, offline: bool = False,
                on_tool: Callable[[registry.Tool, list[CheckOutcome]], None] = lambda tool, outcomes: None,
                on_env: Callable[[EnvOutcome], None] = lambda outcome: None) -> dict[str, list[CheckOutcome]]:
    """`bakeoff check A,B,...`: each tool's check, SIDE_BY_SIDE tools at a time (a check
    measures nothing); `on_tool` hears of each tool as it ends, in this thread, `on_env` of
    its env from the thread checking it."""
    from bakeoff.host.prepare import prepare

    data_dir = prepare(HOME / "data").dir  # once, before the checks run side by side
    found = in_pairs(tools, lambda tool: check_tool(tool, offline=offline, on_env=on_env, data_dir=data_dir), on_tool)
    return {tool.name: outcomes for tool, outcomes in zip(tools, found)}


def check_tool(tool: registry.Tool, *, offline: bool = False,
               on_env: Callable[[EnvOutcome], None] = lambda outcome: None,
               data_dir: Path | None = None) -> list[CheckOutcome]:
    """`bakeoff check TOOL`: in the tool's own env, for every entry: import the adapter, check it
    against its stage contract, its tool.toml options against its constructor, then one smoke
    call. The same check `bakeoff run` makes once per tool before any trial."""
    from bakeoff.host.plan import check_trial

    env = envs.ensure(tool, HOME / "envs", offline=offline)
    on_env(env)
    folder = HOME / "checks" / f"{tool.name}-{new_run_id()}"
    specs = all_specs()
    outcomes = []
    for entry in (e for e in registry.entries() if e.tool.name == tool.name):
        if entry.stage not in specs:
            outcomes.append(CheckOutcome(entry.stage, entry.name, False, f"unknown stage {entry.stage!r}; "
                                         f"choose from: {', '.join(specs)}", folder))
            continue
        trial = check_trial(entry.stage, entry.name)
        settings = specs[entry.stage].settings(quick=True)
        if env.status != OK:
            outcomes.append(CheckOutcome(entry.stage, entry.name, False, f"environment could not be built: {env.error}",
                                         folder))
            continue
        if data_dir is None:
            from bakeoff.host.prepare import prepare

            data_dir = prepare(HOME / "data").dir
        outcome = run_trial(trial, entry, env.python, run_id=folder.name, run_dir=folder, data_dir=data_dir,
                            settings=settings)
        message = (outcome.result.facts.get("check") if outcome.status == OK and outcome.result else outcome.reason)
        outcomes.append(CheckOutcome(entry.stage, entry.name, outcome.status == OK, str(message or ""), outcome.log))
    return outcomes
