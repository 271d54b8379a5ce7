"""Per stage: how it was measured, what limits the reading of it, and the commands that redo it.

Limitations are derived from the results themselves (few repeats, noisy figures, tools that did
not finish, figures without a baseline) and from the decision (constraints a stage cannot
check, criteria it cannot measure), so the memo never claims more than the run shows.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from bakeoff.host import stats
from bakeoff.drawing import numbers as fmt
from bakeoff.host.report.stage import Fact

FULL_REPEATS = 5


@dataclass(frozen=True)
class StageMethod:
    facts: list[Fact]
    limitations: list[str]
    commands: list[str]


def build_method(key: str, stage: dict[str, Any], results: dict[str, Any], decision: Any | None = None,
                 profile_source: str = "") -> StageMethod:
    """`decision` is the stage's bakeoff.host.decide.StageDecision, if the memo has one."""
    settings = results.get("settings") or {}
    tools = stage.get("tools") or {}
    repeats = settings.get("repeats")
    quick = bool(settings.get("quick"))
    sizes = (settings.get("sizes") or {}).get(key) or {}
    facts = [
        Fact("Repeats", f"{fmt.integer(repeats)} measured per tool after a discarded warm-up"
                        f"{_warmup_sizes((settings.get('warmup') or {}).get(key))}"
                        f"{' (quick mode)' if quick else ''}, tools interleaved"),
        Fact("Baseline", f"{stage.get('baseline') or fmt.MISSING}: every ratio is tool ÷ baseline in the same round"),
    ]
    if sizes:
        facts.append(Fact("Workload size", ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in sizes.items())))
    time = run_time(stage.get("time"))
    if time:
        facts.append(Fact("Run time", time))
    if decision is not None:
        facts += [Fact(f"Scored: {c.title.lower()}", c.inputs) for c in decision.criteria if c.used]
    return StageMethod(facts, _limitations(stage, tools, repeats, quick, decision),
                       _commands(key, results, settings, profile_source))


def run_time(time: dict[str, Any] | None, slowest: int = 3) -> str:
    """Where the stage's time went: its wall, each kind's trials (and whether they ran two at a
    time), and the tools that took longest: what to look at when a run is too long for a class."""
    if not time or not time.get("kinds"):
        return ""
    kinds = "; ".join(f"{name} {fmt.duration(k['seconds'])} ({fmt.integer(k['trials'])} trials"
                      f"{', two at a time' if k['side_by_side'] else ', one at a time'})"
                      for name, k in time["kinds"].items())
    tools = ", ".join(f"{name} {fmt.duration(seconds)}" for name, seconds in list(time.get("tools", {}).items())[:slowest])
    wall = time.get("wall_seconds")
    head = f"{fmt.duration(wall)} from its first trial after the checks to its last. " if fmt.is_number(wall) else ""
    return f"{head}Trial time: {kinds}. Longest tools, all their trials: {tools}"


def _value(value: Any) -> str:
    return fmt.integer(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _limitations(stage: dict[str, Any], tools: dict[str, Any], repeats: Any, quick: bool, decision: Any | None) -> list[str]:
    notes = []
    if not fmt.is_number(repeats) or repeats < FULL_REPEATS:
        plural = "" if repeats == 1 else "s"
        notes.append(f"{fmt.integer(repeats)} repeat{plural} per tool: a 95% interval from so few samples is a rough bound; "
                     f"close calls need a full run ({FULL_REPEATS} repeats)."
                     + (" With fewer than 3 no interval has width, so no tie can be seen." if fmt.is_number(repeats) and repeats < 3 else ""))
    if quick:
        notes.append("Quick sizes: the workload is smaller than a team's real one; costs that grow with scale may be understated.")
    noisy = [f"{name} {metric}" for name, tool in tools.items() for metric, entry in (tool.get("metrics") or {}).items()
             if entry and (entry.get("unstable") or (entry.get("ratio") or {}).get("unstable"))]
    if noisy:
        notes.append(f"Noisy figures (CV above {fmt.percent(stats.CV_LIMIT)}): {', '.join(noisy)}.")
    failed = [f"{name} ({tool.get('status')})" for name, tool in tools.items() if tool.get("status") != "ok"]
    if failed:
        notes.append(f"Not measured, so not compared: {', '.join(failed)}; the reason is under each tool below.")
    baseline = stage.get("baseline")
    unratioed = sorted({m for name, tool in tools.items() if name != baseline
                        for m, entry in (tool.get("metrics") or {}).items() if entry and not entry.get("ratio")})
    if unratioed:
        notes.append(f"No baseline figure for {', '.join(unratioed)}: shown as measured, never scored.")
    if decision is not None:
        notes += [f"{u[:1].upper()}{u[1:]}." for u in decision.unchecked]
        notes += [f"{c.title}: {c.note}." for c in decision.criteria if c.note and c.weight > 0]
    notes.append("A probe runs once per tool: a pass shows the capability worked here; “unsupported” means not in "
                 "this configuration, as its evidence explains.")
    return notes


def _commands(key: str, results: dict[str, Any], settings: dict[str, Any], profile: str) -> list[str]:
    argv = ["bakeoff", "run", "--stage", key]
    if settings.get("quick"):
        argv.append("--quick")
    if fmt.is_number(settings.get("repeats")):
        argv += ["--repeats", str(settings["repeats"])]
    if settings.get("tools"):
        argv += ["--tools", ",".join(settings["tools"])]
    if profile:
        argv += ["--profile", profile]
    prefix = _outside_paths(str(results.get("command") or ""))
    commands = [prefix + shlex.join(argv)]
    if profile:
        commands.append(prefix + shlex.join(["bakeoff", "decide", str(results.get("run_id") or "RUN_ID"),
                                             "--profile", profile]))
    return commands


OUTSIDE_PATH_VARIABLES = ("BAKEOFF_TOOLS_PATH", "BAKEOFF_STAGES_PATH")


def _outside_paths(command: str) -> str:
    """The `BAKEOFF_TOOLS_PATH=... BAKEOFF_STAGES_PATH=... ` the run was started with (the CLI
    records them before `bakeoff`): without them an outside tool or stage cannot be found again."""
    try:
        words = shlex.split(command)
    except ValueError:
        return ""
    found = []
    for word in words:
        name, equals, value = word.partition("=")
        if not equals:
            break
        if name in OUTSIDE_PATH_VARIABLES:
            found.append(f"{name}={shlex.quote(value)} ")
    return "".join(found)


def _warmup_sizes(overrides: dict | None) -> str:
    if not overrides:
        return ""
    return " on smaller sizes (" + ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in overrides.items()) + ")"
