"""`bakeoff demo STAGE` and `bakeoff rehearse STAGE`: a scripted live demo, step by step (what
it shows, the command, what to look at), each step under a time budget. A rehearsal records each
step's verified output; in class, a step that fails live shows why, then its recorded output
under a RECORDED banner with the rehearsal's date and id, and the demo goes on. Recorded output
is never shown as live. A rehearsal is also recorded whole, as a cast with a player page
(recording.py). Host side.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from bakeoff.host import registry
from bakeoff.host.registry import ConfigError

FAIL_STEP_VARIABLE = "BAKEOFF_DEMO_FAIL_STEP"  # tests: this step (1-based) gets a budget it cannot meet
OFFLINE = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
BAKEOFF = "bakeoff"  # in a step's command: this bakeoff, run with the interpreter running the demo


@dataclass(frozen=True)
class Step:
    title: str  # what it shows
    command: list[str]  # `{out}` stands for the demo's own runs folder
    look_at: str
    budget: float  # seconds
    expect: str  # a regular expression the output must match to count as verified


@dataclass
class Outcome:
    output: str
    seconds: float
    ok: bool
    diagnosis: str = ""


def script(stage: str) -> list[Step]:
    """The steps of a stage's demo. Tracking has its own script; every other stage gets the same
    four steps from its registry (lineup, baseline, one tool, that tool offline)."""
    from bakeoff.stages.spec import all_specs

    specs = all_specs()
    if stage not in specs:
        raise ConfigError(f"unknown stage {stage!r}; choose from: {', '.join(specs)}")
    entries = registry.entries(stage)
    baseline = next((e.tool.name for e in entries if e.spec.baseline), None)
    tools = [e.tool.name for e in entries if not e.spec.baseline]
    if baseline is None or not tools:
        raise ConfigError(f"stage {stage} has no baseline or no tool to demo; fix: add them under tools/")
    tool = specs[stage].demo_tool if specs[stage].demo_tool in tools else tools[0]
    steps = [
        Step(f"The question, and who answers it: {specs[stage].question}", [BAKEOFF, "tools"],
             f"the {stage} rows: one baseline (no tool), the tools with their pinned versions, every env built",
             30, rf"{stage}"),
        Step("The baseline meets the stage contract: the same work with no tool", [BAKEOFF, "check", baseline],
             "`ok` and what the check covered: import, contract, options, one real smoke call", 45, r": ok\b"),
        Step(f"A real tool in its own locked env: {tool}", [BAKEOFF, "check", tool],
             "the same check, passed by the tool through its own API", 60, r": ok\b"),
        Step(f"{tool} with the network switched off (a namespace with only loopback)",
             [*OFFLINE, BAKEOFF, "check", tool], "still `ok`: nothing in the demo needs the network", 60, r": ok\b"),
    ]
    if stage == "tracking":  # the measured comparison and the decision, in about two minutes
        steps += [
            Step(f"The same sweep measured: baseline and {tool}, one round", [BAKEOFF, "run", "--stage", stage, "--tools",
                 tool, "--quick", "--repeats", "1", "--out", "{out}"],
                 "one line per trial, then the report's path: every figure comes from this run", 170, r"run \S+: \d+ trials"),
            Step("Decide under the student team's profile", [BAKEOFF, "decide", "latest", "--profile",
                 str(registry_root() / "profiles" / "student.toml"), "--out", "{out}"],
                 "the verdict line: the recommended tool, and how stable the ranking is", 45, rf"{stage}: "),
        ]
    return steps


def registry_root() -> Path:
    from bakeoff.host.envs import PROJECT_DIR

    return PROJECT_DIR


def pick(steps: list[Step], chosen: str | None) -> list[tuple[int, Step]]:
    """`--steps 1-3,5`: an instructor shows (or re-shows) only some steps; numbers stay the script's."""
    numbered = list(enumerate(steps, 1))
    if not chosen:
        return numbered
    wanted: set[int] = set()
    for part in chosen.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ConfigError(f"--steps {chosen!r}: use numbers and ranges such as 1-3,5")
        wanted.update(range(int(low), int(high or low) + 1))
    if not wanted <= {n for n, _ in numbered}:
        raise ConfigError(f"--steps {chosen!r}: the {len(steps)} steps are numbered 1 to {len(steps)}")
    return [(n, s) for n, s in numbered if n in wanted]


def argv(step: Step, out: Path) -> list[str]:
    found: list[str] = []
    for part in step.command:
        found += [sys.executable, "-m", "bakeoff"] if part == BAKEOFF else [str(out) if part == "{out}" else part]
    return found


def shown(step: Step, out: Path) -> str:
    """The command as the audience reads it."""
    words, prefix = step.command, ""
    if words[:len(OFFLINE)] == OFFLINE:
        words, prefix = words[len(OFFLINE):], "unshare --net -- "
    return prefix + shlex.join(str(out) if w == "{out}" else w for w in words)


def perform(step: Step, out: Path, *, budget: float, echo: Callable[[str], None]) -> Outcome:
    """Run the step's command, its output echoed line by line as it comes, stopped (its whole
    process group) at the budget. Verified: exit code 0 and the expected text in the output."""
    start = time.perf_counter()
    lines: list[str] = []
    try:
        process = subprocess.Popen(argv(step, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True, env={**os.environ, "COLUMNS": "110", "NO_COLOR": "1"})
    except OSError as exc:
        return Outcome("", 0.0, False, f"cannot start `{step.command[0]}`: {exc.strerror or exc}")

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            echo(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        # SIGTERM first: `bakeoff run` takes it as Ctrl-C and ends its trials' own process groups
        # (each trial runs in a session of its own, out of reach of a signal to this group).
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)
        return Outcome("\n".join(lines), time.perf_counter() - start, False,
                       f"did not finish within its {budget:g} s budget; stopped")
    reader.join(timeout=5)
    output, seconds = "\n".join(lines), time.perf_counter() - start
    if process.returncode != 0:
        return Outcome(output, seconds, False, f"exit code {process.returncode}: {last_line(output)}")
    if not re.search(step.expect, output):
        return Outcome(output, seconds, False, f"finished, but its output lacks what it must show ({step.expect})")
    return Outcome(output, seconds, True)


def last_line(text: str) -> str:
    return next((line for line in reversed(text.splitlines()) if line.strip()), "(no output)")[:200]


def budget_for(number: int, step: Step) -> float:
    """The step's budget, unless a test injects a fault into it (a budget no command can meet)."""
    return 0.05 if os.environ.get(FAIL_STEP_VARIABLE) == str(number) else step.budget


def rehearsal_folder(home: Path, stage: str) -> Path:
    return home / "rehearsals" / stage


def recording_path(home: Path, stage: str, number: int) -> Path:
    return rehearsal_folder(home, stage) / f"step-{number}.json"


def record(home: Path, stage: str, number: int, step: Step, outcome: Outcome, rehearsal_id: str) -> Path:
    path = recording_path(home, stage, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"stage": stage, "step": number, "title": step.title, "command": " ".join(step.command), "output": outcome.output,
               "seconds": round(outcome.seconds, 1), "rehearsal_id": rehearsal_id,
               "recorded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "step_definition": asdict(step)}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(partial, path)
    return path


def recording(home: Path, stage: str, number: int, step: Step) -> dict | None:
    """The step's recorded output, only if it was recorded for this very step (a changed script
    makes an old recording wrong, so it is not shown)."""
    try:
        content = json.loads(recording_path(home, stage, number).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return content if content.get("step_definition") == asdict(step) else None


def demo_home(home: Path, stage: str) -> Path:
    return home / "demo" / stage / "runs"


def rehearse(stage: str, home: Path, *, steps: str | None, say: Callable[[str], None]) -> int:
    """Run every step live and record the verified ones; the number of steps that failed. The whole
    rehearsal, as shown, also goes into a cast with a marker per step, and a page that plays it."""
    from bakeoff.host import recording as screencast  # not `recording`: that is this module's reader of a step
    from bakeoff.host.bake import new_run_id

    script_steps = script(stage)
    chosen, out, rehearsal_id = pick(script_steps, steps), demo_home(home, stage), new_run_id()
    cast_name, page_name = screencast.names([n for n, _ in chosen], len(script_steps))
    cast = screencast.CastWriter(rehearsal_folder(home, stage) / cast_name,
                                title=f"bakeoff rehearse {stage}: rehearsal {rehearsal_id}")
    shell_say, say = say, cast.tee(say)
    failed = 0
    for number, step in chosen:
        with cast.marker(f"step {number}: {step.title}"):
            heading(say, number, len(script_steps), step, out)
        outcome = perform(step, out, budget=budget_for(number, step), echo=lambda line: say(escape(line)))
        if outcome.ok:
            path = record(home, stage, number, step, outcome, rehearsal_id)
            say(f"[green]recorded[/] in {outcome.seconds:.1f} s of {step.budget:g}: {path}")
        else:
            failed += 1
            say(f"[bold red]not recorded[/]: {escape(outcome.diagnosis)}")
    say(f"rehearsal {rehearsal_id}: recorded {len(chosen) - failed} of {len(chosen)} steps"
        + (f"; fix the failed ones and rehearse again" if failed else ""))
    page = screencast.write_page(cast.close(), cast.path.with_name(page_name),
                                command=f"bakeoff rehearse {stage}" + (f" --steps {steps}" if steps else ""))
    shell_say(f"recording (chapters, search; opens offline in a browser): {page}")
    return failed


def demo(stage: str, home: Path, *, steps: str | None, say: Callable[[str], None]) -> tuple[int, int, int]:
    """Every step live; a failed one shows its diagnosis, then its recording. (live, recorded, total)"""
    from bakeoff.host.recording import WHOLE_PAGE

    script_steps = script(stage)
    chosen, out = pick(script_steps, steps), demo_home(home, stage)
    live = recorded = 0
    start = time.perf_counter()
    for number, step in chosen:
        heading(say, number, len(script_steps), step, out)
        outcome = perform(step, out, budget=budget_for(number, step), echo=lambda line: say(escape(line)))
        if outcome.ok:
            live += 1
            say(f"[green]live[/], {outcome.seconds:.1f} s of its {step.budget:g} s")
            continue
        say(f"[bold red]this step failed live[/]: {escape(outcome.diagnosis)}")
        saved = recording(home, stage, number, step)
        if saved is None:
            say(f"[bold red]no recording of step {number}[/]; fix: bakeoff rehearse {stage}")
            continue
        recorded += 1
        banner = f"RECORDED {saved['recorded_at']}, rehearsal {saved['rehearsal_id']} (not live)"
        say(f"[bold black on yellow]==== {banner} ====[/]")
        for line in saved["output"].splitlines():
            say(f"[yellow]|[/] {escape(line)}")
        say(f"[bold black on yellow]==== end of RECORDED output (step {number}) ====[/]")
        if (page := rehearsal_folder(home, stage) / WHOLE_PAGE).is_file():
            say(f"[dim]the whole rehearsal, to replay or search:[/] {page}")
    missing = len(chosen) - live - recorded
    say(f"[bold]live {live} of {len(chosen)} steps, recorded {recorded}[/]"
        + (f", missing {missing}" if missing else "") + f" ({time.perf_counter() - start:.0f} s)")
    return live, recorded, len(chosen)


def heading(say: Callable[[str], None], number: int, total: int, step: Step, out: Path) -> None:
    say("")
    say(f"[bold cyan]step {number}/{total}[/] [bold]{escape(step.title)}[/]")
    say(f"[dim]look at:[/] {escape(step.look_at)}")
    say(f"[bold]$ {escape(shown(step, out))}[/]")


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
