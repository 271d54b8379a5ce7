"""The `bakeoff` command. Each command is a short recipe of the named steps in bake.py."""

from __future__ import annotations

import json
import os
import shlex
import signal
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bakeoff.host import bake, envs, registry
from bakeoff.host.results import UNAVAILABLE
from bakeoff.host.decide import Decision, load_profile, load_results
from bakeoff.host.outputs import record_confirmation, render_memo, write_report
from bakeoff.host.results_model import read_results
from bakeoff.worker.protocol import OK
from bakeoff.host.registry import ConfigError
from bakeoff.host.store import Store

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Settle MLOps tool choices with evidence: real tools on the same work, measured.",
                  context_settings={"help_option_names": ["-h", "--help"]})
envs_app = typer.Typer(no_args_is_help=True, help="Build, list and clean the locked per-tool environments.")
app.add_typer(envs_app, name="envs")
console = Console(stderr=True)
out_console = Console()


@contextmanager
def clean_errors() -> Iterator[None]:
    """Bad input: one line naming the problem and the fix, exit code 2, nothing stored lost."""
    try:
        yield
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


def progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def split_names(value: Optional[str]) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def build_envs(selection_tools: list[registry.Tool], *, offline: bool = False) -> dict[str, envs.EnvOutcome]:
    with progress() as bar:
        task = bar.add_task("environments", total=len(selection_tools))

        def done(outcome: envs.EnvOutcome) -> None:
            state = ("built" if outcome.built else "ready") if outcome.status == OK else f"[red]failed[/]: {outcome.error}"
            bar.console.print(f"  env {outcome.tool}: {state}", highlight=False)
            bar.advance(task)

        return bake.ensure_envs(selection_tools, bake.HOME / "envs", offline=offline, on_done=done)


@app.command()
def run(
    stage: list[str] = typer.Option([], "--stage", "-s", help="Stage to run (repeatable); default: every stage."),
    tools: Optional[str] = typer.Option(None, "--tools", "-t", help="Comma-separated tools or entries; the baseline always runs."),
    quick: bool = typer.Option(False, "--quick", help="Quick sizes and 3 repeats: minutes, not hours."),
    repeats: Optional[int] = typer.Option(None, "--repeats", "-r", min=1, max=50, help="Measured repeats per tool (default 3 quick, 5 full)."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder for run folders and the results database."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Finish an interrupted run without redoing finished trials."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1, help="Seconds before any one trial is stopped (default: per stage and trial kind)."),
    keep_scratch: bool = typer.Option(False, "--keep-scratch", help="Keep every trial's scratch folder (stores, server logs)."),
    offline: bool = typer.Option(False, "--offline", help="Build missing envs from uv's cache only."),
    profile: Optional[Path] = typer.Option(None, "--profile", "-p", help="Team profile (TOML, see profiles/): end with a decision memo."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a tool did not finish ok (a CI gate); by default such a run exits 0 and says so."),
    confirm: bool = typer.Option(False, "--confirm", help="Run the same stages again and state in the memo whether each verdict held."),
    budget: Optional[float] = typer.Option(None, "--budget", min=1, help="Minutes: choose sizes and repeats (full or quick, 5 or 3) whose estimate fits; when none does, say which tools fit and stop."),
) -> None:
    """Run the bake-off and write results.json, report.md and report.html."""
    with clean_errors():
        team = load_profile(profile) if profile else None  # a bad profile fails before any work
        options = bake.RunOptions(stages=stage, tools=split_names(tools), quick=quick, repeats=repeats,
                                  out=out.absolute(), resume=resume, timeout=timeout, keep_scratch=keep_scratch,
                                  offline=offline, command=recorded_command(), budget=budget)
        signal.signal(signal.SIGTERM, stop_on_sigterm)  # a CI time-out or `kill`: clean up as for Ctrl-C
        run, report, decision = one_run(options, team)
        if confirm:  # the same stages again, as a new run: does each verdict hold?
            console.print(f"confirming run {run.run_id}: running the same stages again", highlight=False)
            again = bake.RunOptions(**{**vars(options), "resume": None, "stages": run.settings["stages"],
                                       "tools": run.settings["tools"], "repeats": run.settings["repeats"],
                                       "quick": run.settings["quick"], "budget": None})
            repeat, _, _ = one_run(again, team)
            first = read_results(run.run_dir / "results.json")
            record_confirmation(run.run_dir, first, read_results(repeat.run_dir / "results.json"))
            report, decision = render_memo(first, run.run_dir, team)
            bake.point_latest(options.out, run.run_dir)
        show_verdicts(decision)
        out_console.print(str(report))
        not_ok = tools_not_ok(run.run_dir)
        if not_ok:
            console.print(f"[bold yellow]not ok[/]: {'; '.join(not_ok)}; the report says why"
                          + ("" if strict else " (--strict makes this exit 1)"), highlight=False, soft_wrap=True)
            if strict:
                raise typer.Exit(1)


def one_run(options: bake.RunOptions, team):
    """One run of the recipe with progress shown; its report is written even when interrupted."""
    shown = ShownProgress()
    run = bake.open_run(options)
    status_text = "interrupted"
    report = decision = None
    try:
        bake.prepare_run(run, options, shown)
        bake.run_trials(run, options, shown)
        status_text = "complete"
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]; finish it with: bakeoff run --resume {run.run_id} --out {options.out}")
        raise typer.Exit(130)
    finally:
        shown.close()
        if run.data_dir is not None:  # nothing to report before the run was recorded
            try:
                report, decision = bake.finish_run(run, status_text, team)
                bake.point_latest(options.out, run.run_dir)
            except Exception:
                if status_text == "complete":
                    raise
                # the session failed already (a full disk, say): tell its error, not this echo of it
        run.store.close()
    if not options.keep_scratch:
        shutil.rmtree(run.run_dir / "scratch", ignore_errors=True)
    console.print(f"run {run.run_id}: {shown.done} trials in {sum(run.phases.seconds.values()):.0f} s"
                  + (f"; {shown.failed} did not finish ok (see the report)" if shown.failed else ""))
    return run, report, decision


OUTSIDE_PATH_VARIABLES = ("BAKEOFF_TOOLS_PATH", "BAKEOFF_STAGES_PATH")


def recorded_command() -> str:
    """The command line as it can be rerun: with the outside tool and stage folders it used
    (absolute), which the memo's Reproduce commands repeat."""
    prefix = []
    for name in OUTSIDE_PATH_VARIABLES:
        value = os.environ.get(name, "")
        if value:
            prefix.append(f"{name}=" + shlex.quote(":".join(str(Path(p).absolute()) for p in value.split(":") if p)))
    return " ".join([*prefix, "bakeoff " + shlex.join(sys.argv[1:])])


def tools_not_ok(run_dir: Path) -> list[str]:
    """`stage · tool: status` for every tool of the run that ran and did not end ok (a tool that
    cannot run here is a fact about the machine, not a failure of the run: its row says why)."""
    try:
        results = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError):
        return ["no results.json"]
    return [f"{key} · {name}: {tool.get('status')}" for key, stage in (results.get("stages") or {}).items()
            for name, tool in (stage.get("tools") or {}).items() if tool.get("status") not in (OK, UNAVAILABLE)]


class ShownProgress(bake.Progress):
    """Progress on the terminal: a bar when stderr is a terminal, else one plain line per trial
    (a log file or CI shows what happens, not nothing)."""

    def __init__(self) -> None:
        self.live = console.is_terminal
        self.bar: Progress | None = None
        self.task = None
        self.done = self.failed = 0
        self.status = console.status("preparing the flights data") if self.live else None
        if self.status:
            self.status.start()

    def data_step(self, step: str) -> None:
        if self.status:
            self.status.update(f"data: {step}")
        else:
            console.print(f"data: {step}", highlight=False)

    def env_done(self, outcome: envs.EnvOutcome) -> None:
        if self.status:
            self.status.stop()
            self.status = None
        state = ("built" if outcome.built else "ready") if outcome.status == OK else f"[red]failed[/]: {outcome.error}"
        console.print(f"  env {outcome.tool}: {state}", highlight=False)

    def trials_start(self, run: bake.Run, total: int, estimated: bake.Estimate) -> None:
        if self.status:
            self.status.stop()
            self.status = None
        console.print(f"run {run.run_id}: {total} trials, {estimated.text()}", highlight=False, soft_wrap=True)
        fitted = run.settings.get("budget")
        if fitted:  # what --budget chose (a run that does not fit is refused before it starts)
            size = f"{'quick' if fitted['quick'] else 'full'} sizes, {fitted['repeats']} repeats"
            console.print(f"budget {fitted['minutes']:g} min: {size}", highlight=False, soft_wrap=True)
        if self.live:
            self.bar = progress()
            self.bar.start()
            self.task = self.bar.add_task(f"run {run.run_id}", total=total)

    def trial_start(self, trial) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"{trial.stage} · {trial.entry} · {trial.kind} r{trial.round}")

    def trial_done(self, trial, record, *, reported: bool) -> None:
        self.done += 1
        self.failed += record.status != OK
        printer = self.bar.console if self.bar is not None else console
        if record.status != OK and not reported:
            printer.print(f"  [yellow]{trial.trial_id}: {record.status}[/] {record.reason[:200]}", highlight=False)
        elif self.bar is None:
            printer.print(f"  {trial.trial_id}: {record.status} in {record.seconds:.1f} s", highlight=False)
        if self.bar is not None:
            self.bar.advance(self.task)

    def close(self) -> None:
        if self.status:
            self.status.stop()
        if self.bar is not None:
            self.bar.stop()


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def show_verdicts(decision: Decision | None) -> None:
    for stage in decision.stages if decision else []:
        console.print(f"{stage.stage}: {stage.verdict.headline} ({stage.verdict.stability})", highlight=False, soft_wrap=True)


@app.command("compare")
def compare_runs(
    first: str = typer.Argument(..., help="A run id, `latest` or a run folder: typically the quick run."),
    second: str = typer.Argument(..., help="The run to compare it with: typically a full run of the same stages."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder holding the run folders."),
    min_tau: Optional[float] = typer.Option(None, "--min-tau", min=-1, max=1, help="Exit 1 when a headline metric's tau is below this."),
) -> None:
    """Do two runs rank the tools alike? Kendall's tau per stage and headline metric."""
    from bakeoff.host.decide.rank_agreement import agreement, below_target

    with clean_errors():
        a, _ = load_results(first, out)
        b, _ = load_results(second, out)
        rows = agreement(a, b)
        if not rows:
            raise ConfigError(f"runs {a['run_id']} and {b['run_id']} share no stage with a headline metric; "
                              "fix: compare runs of the same stages")
        table = Table("stage", "headline metric", "tools", "material gap", "Kendall tau", "tau, raw order",
                      title=f"{a['run_id']} ({'quick' if a['settings'].get('quick') else 'full'}) against "
                            f"{b['run_id']} ({'quick' if b['settings'].get('quick') else 'full'}); "
                            "tau: gaps below the material one tie, as in the decision")
        for r in rows:
            table.add_row(r.stage, r.label, str(r.tools), "—" if r.material is None else f"{r.material:g}",
                          (f"{r.tau:.2f}" if r.tau is not None else "—") + (f" ({r.why_none})" if r.why_none else ""),
                          "—" if r.raw_tau is None else f"{r.raw_tau:.2f}")
        out_console.print(table)
        if min_tau is not None and below_target(rows, min_tau):
            raise typer.Exit(1)


@app.command("decide")
def decide_run(
    run_id: str = typer.Argument("latest", help="Run id, or a run folder (default: the newest run)."),
    profile: Path = typer.Option(..., "--profile", "-p", help="Team profile (TOML), e.g. profiles/student.toml."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder holding the run folders."),
    confirmed_by: Optional[str] = typer.Option(None, "--confirmed-by", help="A repeat of the run (id or folder): the memo says whether each verdict held in it."),
) -> None:
    """Verdicts for a run under a team profile: writes decision.json and the memo (report.md, report.html)."""
    with clean_errors():
        team = load_profile(profile)
        results, run_dir = load_results(run_id, out)
        if confirmed_by is not None:
            record_confirmation(run_dir, results, load_results(confirmed_by, out)[0])
        html, decision = render_memo(results, run_dir, team)
        show_verdicts(decision)
        out_console.print(str(html))


@app.command()
def report(
    run_id: str = typer.Argument("latest", help="Run to re-render (default: the newest)."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder holding the results database."),
) -> None:
    """Re-render a run's results.json and reports from the results database."""
    with clean_errors():
        if not (out / "results.sqlite").exists():
            raise ConfigError(f"no results database in {out}; run `bakeoff run --quick` first or pass --out")
        store = Store(out / "results.sqlite")
        run_id = store.latest_run() if run_id == "latest" else run_id
        if run_id is None:
            raise ConfigError(f"no runs in {out}; run `bakeoff run --quick` first")
        store.run(run_id)
        path, _ = write_report(store, run_id, out / run_id)
        out_console.print(str(path))


@app.command()
def check(
    tools: str = typer.Argument(..., help="Tool(s) to check, comma-separated, or `all` (folder names, as `bakeoff tools` lists them)."),
    offline: bool = typer.Option(False, "--offline", help="Build a missing env from uv's cache only."),
) -> None:
    """Check tools against their stage contract inside their own envs: import, contract, options, one smoke call."""
    with clean_errors():
        chosen = pick_tools(None if tools == "all" else tools)

        def shown(tool: registry.Tool, outcomes: list[bake.CheckOutcome]) -> None:
            for o in outcomes:
                mark = "[green]ok[/]" if o.ok else "[bold red]failed[/]"
                out_console.print(f"{o.stage} · {o.entry}: {mark} {o.message}", highlight=False, soft_wrap=True)

        results = bake.check_tools(chosen, offline=offline, on_tool=shown, on_env=lambda o: console.print(
            f"  env {o.tool}: " + (("built" if o.built else "ready") if o.status == OK else f"[red]failed[/]: {o.error}"),
            highlight=False))
        failed = [o for outcomes in results.values() for o in outcomes if not o.ok]
        if failed:
            console.print("log: " + ", ".join(str(o.log) for o in failed), highlight=False, soft_wrap=True)
        idle = [name for name, outcomes in results.items() if not outcomes]
        if idle:
            raise ConfigError(f"tool {', '.join(idle)} serves no stage; fix: add a [stages.<stage>.<entry>] "
                              "table to its tool.toml")
        if failed:
            raise typer.Exit(2)


@app.command("new")
def new_tool(
    stage: str = typer.Argument(..., help="The stage the tool serves, e.g. tracking."),
    tool: str = typer.Argument(..., help="The tool's name: lower-case letters, digits and _ (names the folder)."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Folder to create the tool folder in (then BAKEOFF_TOOLS_PATH=it)."),
    from_run: Optional[str] = typer.Option(None, "--from-run", help="Fill POC.md's figures from this run (id or folder)."),
    runs: Path = typer.Option(bake.HOME / "runs", "--runs", help="Folder holding the run folders, for --from-run."),
) -> None:
    """Scaffold a tool folder that runs at once: tool.toml, an adapter saying "not implemented yet", lock.txt, a test, POC.md."""
    from bakeoff.host import scaffold

    with clean_errors():
        results = load_results(from_run, runs)[0] if from_run else None
        folder = scaffold.new_tool(stage, tool, out.absolute(), results)
        console.print(f"wrote {folder}: tool.toml, {stage}.py, lock.txt, test_{tool}.py, POC.md\n"
                      f"next: {scaffold.quoted_run_command(stage, tool, folder)}\n"
                      f"then: bakeoff poc latest {tool}  (POC.md figures), bakeoff grade latest", highlight=False,
                      soft_wrap=True)
        out_console.print(str(folder))


@app.command("poc")
def poc(
    run_id: str = typer.Argument("latest", help="Run id, or a run folder (default: the newest run)."),
    tool: str = typer.Argument(..., help="Your tool (found through BAKEOFF_TOOLS_PATH)."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder holding the run folders."),
) -> None:
    """Fill the run's id, figures and probe outcomes into the tool's POC.md (your own text is kept)."""
    from bakeoff.host import scaffold

    with clean_errors():
        chosen = pick_tools(tool)[0]
        results, run_dir = load_results(run_id, out)
        stage = next((s for s in chosen.stages if scaffold.tool_row(results, s, tool)), scaffold.tool_stage(chosen))
        out_console.print(str(scaffold.write_poc(chosen.folder, tool, stage, results, run_dir)))


@app.command("grade")
def grade_run(
    run_id: str = typer.Argument("latest", help="Run id, or a run folder (default: the newest run)."),
    rubric: Optional[Path] = typer.Option(None, "--rubric", help="Rubric TOML (default: the shipped one, see docs/students.md)."),
    min_percent: Optional[float] = typer.Option(None, "--min", min=0, max=100, help="Exit 1 when a grade is below N percent."),
    tool: Optional[str] = typer.Option(None, "--tool", help="Tool or entry to grade (default: the run's outside tools)."),
    poc_file: Optional[Path] = typer.Option(None, "--poc", help="The POC.md to grade (default: the one in the tool's folder)."),
    out: Path = typer.Option(bake.HOME / "runs", "--out", "-o", help="Folder holding the run folders."),
    to: Optional[Path] = typer.Option(None, "--to", help="Folder for grade.md, grade.json, grade.xml (default: the run's)."),
) -> None:
    """Partial credit for a POC from the run's evidence: Markdown, JSON and JUnit XML; exit code by --min."""
    from bakeoff.host import grade

    with clean_errors():
        chosen = grade.load_rubric(rubric)
        results, run_dir = load_results(run_id, out)
        known = registry.tools()
        grades = []
        for stage, entry in grade.graded_entries(results, tool):
            name = results["stages"][stage]["tools"][entry].get("tool") or entry
            path = poc_file or (known[name].folder / "POC.md" if name in known else Path(f"{name}/POC.md"))
            text = path.read_text(encoding="utf-8") if path.is_file() else None
            grades.append(grade.grade(results, stage, entry, chosen, text, str(path)))
        paths = grade.write_grades(grades, to or run_dir)
        out_console.print("\n".join(grade.to_markdown(g) for g in grades), highlight=False, soft_wrap=True)
        for g in grades:
            console.print(f"{g.stage} · {g.tool}: {g.percent:.0f}% ({g.earned:.1f} / {g.possible:.0f} points)", highlight=False)
        console.print("wrote " + ", ".join(str(p) for p in paths), highlight=False, soft_wrap=True)
        if min_percent is not None and any(g.percent < min_percent for g in grades):
            raise typer.Exit(1)


STORE_HELP = ("Class store: sqlite:///path, a file path, or postgresql://user@host:port/db "
              f"(default: {bake.HOME / 'class.sqlite'}).")


@app.command("publish")
def publish_run(
    run_id: str = typer.Argument("latest", help="Run id, or a run folder (default: the newest run)."),
    to: Optional[str] = typer.Option(None, "--to", help=STORE_HELP),
    team: Optional[str] = typer.Option(None, "--team", help="Team name (default: $BAKEOFF_TEAM, else your login name)."),
    out: Path = typer.Option(bake.HOME / "runs", "--runs", "--out", "-o", help="Folder holding the run folders."),
) -> None:
    """Send a run (results, memo, decision, POC.md files) to the class store; publishing again keeps both."""
    from bakeoff.host.classroom import publish, store

    with clean_errors():
        new_id, sent, where = publish.publish(run_id, out, to or store.default_url(bake.HOME), team)
        console.print(f"published run {sent.run_id} for team {sent.team} as #{new_id} in {where}"
                      f" ({len(sent.poc_files)} POC.md)", highlight=False, soft_wrap=True)
        out_console.print(str(new_id))


@app.command("gallery")
def gallery(
    source: Optional[str] = typer.Option(None, "--from", help=STORE_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the site (new, empty, or a gallery written before)."),
    anonymise: bool = typer.Option(False, "--anonymise", "--anonymize", help="Team A, Team B... in every file written."),
) -> None:
    """A static offline site of the class store: tools by teams, agreement, exemplars, every memo and POC.md."""
    from bakeoff.host.classroom import gallery as site, store

    with clean_errors():
        index, shown = site.build(source or store.default_url(bake.HOME), out.absolute(), anonymise=anonymise)
        console.print(f"gallery of {shown} publications", highlight=False)
        out_console.print(str(index))


@app.command("exemplar")
def exemplar(
    ids: list[int] = typer.Argument(..., help="Publication ids (the gallery shows them as #N)."),
    to: Optional[str] = typer.Option(None, "--to", help=STORE_HELP),
    note: str = typer.Option("", "--note", help="Why it is an exemplar, shown in the gallery."),
    remove: bool = typer.Option(False, "--remove", help="Unmark them instead."),
) -> None:
    """The instructor marks publications as exemplars (kept in the store; the gallery shows them)."""
    from bakeoff.host.classroom.store import ClassStore, default_url

    with clean_errors():
        with ClassStore(to or default_url(bake.HOME), must_exist=True) as class_store:
            done = class_store.mark_exemplars(ids, note, remove=remove)
        console.print(("unmarked " if remove else "marked as exemplars: ") + ", ".join(f"#{i}" for i in done),
                      highlight=False)


@app.command("export")
def export_run(
    run_id: str = typer.Argument("latest", help="Run id, or a run folder (default: the newest run)."),
    formats: str = typer.Option("csv,latex,svg", "--format", "-f", help="Comma-separated: csv, latex, svg."),
    to: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the files (default: <run folder>/export)."),
    profile: Optional[Path] = typer.Option(None, "--profile", "-p", help="Team profile for the decision tables (default: the run's decision.json profile)."),
    runs: Path = typer.Option(bake.HOME / "runs", "--runs", help="Folder holding the run folders."),
) -> None:
    """Tables (per-stage metrics with intervals, probe matrix, decision) as CSV and LaTeX, charts as SVG."""
    from bakeoff.host.classroom import export

    with clean_errors():
        chosen = export.parse_formats(formats)
        results, run_dir = load_results(run_id, runs)
        team = load_profile(profile) if profile else None
        written = export.export(results, run_dir, (to or run_dir / "export").absolute(), chosen, team)
        console.print(f"wrote {len(written)} files", highlight=False)
        out_console.print("\n".join(str(p) for p in written), highlight=False, soft_wrap=True)


@app.command("tools")
def list_tools() -> None:
    """Stages, tools, pinned versions and the state of their environments."""
    with clean_errors():
        table = Table("stage", "entry", "tool", "version", "licence", "env", title="bakeoff tools")
        for entry in registry.entries():
            try:
                path = envs.env_path(entry.tool, bake.HOME / "envs")
                state = "built" if envs.read_info(path) else "not built"
            except ConfigError:
                state = f"[red]no lock[/]: run `bakeoff envs lock {entry.tool.name}`"
            if entry.unavailable:
                state = "cannot run here (`bakeoff check` says why)"
            name = f"{entry.name} [dim](baseline)[/]" if entry.spec.baseline else entry.name
            table.add_row(entry.stage, name, entry.tool.name, envs.pinned_version(entry.tool) or "-",
                          entry.tool.tool.license, state)
        table.caption = f"envs, data and runs in {bake.HOME} ({bake.HOME_SOURCE})"
        out_console.print(table)


@app.command()
def doctor(
    stage: list[str] = typer.Option([], "--stage", "-s", help="Check only this stage's tools (repeatable); default: all."),
    certify: bool = typer.Option(False, "--certify", help="After a rehearsal: store the fingerprint later checks compare with."),
    report: bool = typer.Option(False, "--report", help="Print a Markdown block to paste into a bug report, and stop."),
    smoke: bool = typer.Option(True, "--smoke/--no-smoke", help="One offline check trial per stage (the slow part)."),
) -> None:
    """Before class: envs, interpreters, data, ports, Chromium, disk, memory, offline rebuild and smoke; exit 0 only when all is well."""
    from bakeoff.host import doctor as checkup

    with clean_errors():
        if report:
            out_console.print(checkup.bug_report(bake.HOME), markup=False, highlight=False, soft_wrap=True)
            return
        items = []
        with console.status("checking") as status:
            for item in checkup.run_checks(bake.HOME, stages=stage, smoke=smoke,
                                           on_start=lambda what: status.update(f"checking {what}")):
                items.append(item)
                style = "green" if item.ok else "bold red"
                out_console.print(f"[{style}]{item.line()[:4]}[/]{item.line()[4:]}", highlight=False, soft_wrap=True)
        failed = [i for i in items if not i.ok]
        if certify and not failed:
            tools = checkup.chosen_tools(stage)
            console.print(f"certified: {checkup.certify(bake.HOME, tools)}", highlight=False)
        elif certify:
            console.print("[bold red]not certified[/]: fix the items above first", highlight=False)
        console.print(f"doctor: {len(items) - len(failed)} of {len(items)} ok" + (f", {len(failed)} to fix" if failed else ""),
                      highlight=False)
        raise typer.Exit(1 if failed else 0)


@app.command("demo")
def demo_stage(
    stage: str = typer.Argument(..., help="The stage to demo, e.g. tracking."),
    steps: Optional[str] = typer.Option(None, "--steps", help="Only these steps, e.g. 1-3,5 (numbers as in the script)."),
) -> None:
    """A live demo of one stage, step by step; a step that fails shows why, then its rehearsed output marked RECORDED."""
    from bakeoff.host import demo

    with clean_errors():
        live, recorded, total = demo.demo(stage, bake.HOME, steps=steps,
                                          say=lambda text: out_console.print(text, highlight=False, soft_wrap=True))
        raise typer.Exit(0 if live + recorded == total else 1)


@app.command()
def rehearse(
    stage: str = typer.Argument(..., help="The stage whose demo to rehearse, e.g. tracking."),
    steps: Optional[str] = typer.Option(None, "--steps", help="Only these steps, e.g. 1-3,5."),
) -> None:
    """Run a stage's demo and record each step's verified output (shown in class if the step fails live)."""
    from bakeoff.host import demo

    with clean_errors():
        failed = demo.rehearse(stage, bake.HOME, steps=steps,
                               say=lambda text: out_console.print(text, highlight=False, soft_wrap=True))
        raise typer.Exit(1 if failed else 0)


@app.command("walkthrough")
def walkthrough(
    stages: list[str] = typer.Argument(None, help="Stages whose walkthrough to build (default: every one)."),
    execute: bool = typer.Option(True, "--execute/--no-execute", help="Run the notebook (a real small run of the stage)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the .ipynb and .html (default: walkthroughs/)."),
) -> None:
    """Build a stage's walkthrough: walkthroughs/STAGE.py (jupytext) -> executed .ipynb -> offline .html."""
    from bakeoff.host import walkthroughs

    with clean_errors():
        chosen = [walkthroughs.known_stage(s) for s in stages] if stages else walkthroughs.stages()
        for stage in chosen:
            with console.status(f"walkthrough {stage}: {'executing' if execute else 'converting'}"):
                written = walkthroughs.build(stage, execute_it=execute, out=out)
            out_console.print(" ".join(str(p) for p in written), highlight=False, soft_wrap=True)


@app.command("fresh")
def fresh(
    rerun: bool = typer.Option(False, "--rerun", help="Re-execute the stale walkthroughs, then check again."),
    stamp_example: bool = typer.Option(False, "--stamp-example", help="Right after regenerating examples/student-quick: record the locks and code it came from."),
) -> None:
    """Are the shipped walkthroughs and worked example still what the current locks, data and code give? Exit 1 when one is stale."""
    from bakeoff.host import freshness, walkthroughs

    with clean_errors():
        if stamp_example:
            if not (envs.PROJECT_DIR / freshness.EXAMPLE / "results.json").is_file():
                raise ConfigError(f"no {freshness.EXAMPLE}/results.json; fix: regenerate it first (examples/README.md)")
            basis = f"stamped {time.strftime('%Y-%m-%d', time.gmtime())} from the checkout that made the run"
            console.print(f"wrote {freshness.stamp_example(envs.PROJECT_DIR / freshness.EXAMPLE, basis)}", highlight=False)
        found = freshness.check_all()
        if rerun:
            for item in (i for i in found if not i.fresh and i.stage):
                console.print(f"re-executing {item.artefact}", highlight=False)
                walkthroughs.build(item.stage)
            found = freshness.check_all()
        for item in found:
            style = "green" if item.fresh else "yellow"
            out_console.print(f"[{style}]{item.line()}[/]", highlight=False, soft_wrap=True)
        stale = [i for i in found if not i.fresh]
        if any(not i.stage for i in stale):
            console.print("the worked example is remade with a new run: see examples/README.md", highlight=False)
        raise typer.Exit(1 if stale else 0)


@envs_app.command("build")
def envs_build(
    tools: Optional[str] = typer.Option(None, "--tools", "-t", help="Comma-separated tools (default: all)."),
    offline: bool = typer.Option(False, "--offline", help="Use uv's cache only."),
) -> None:
    """Build (or confirm) the env of every tool; a failed build is reported, the others go on."""
    with clean_errors():
        chosen = pick_tools(tools)
        outcomes = build_envs(chosen, offline=offline)
        if any(o.status != OK for o in outcomes.values()):
            raise typer.Exit(1)


@envs_app.command("list")
def envs_list() -> None:
    """Every tool's env: hash, state, size and package count."""
    with clean_errors():
        table = Table("tool", "env folder", "state", "size MB", "packages")
        for tool in pick_tools(None):
            path = envs.env_path(tool, bake.HOME / "envs")
            info = envs.read_info(path) or {}
            table.add_row(tool.name, path.name, "built" if info else "not built",
                          str(info.get("size_mb", "-")), str(info.get("packages", "-")))
        out_console.print(table)


@envs_app.command("clean")
def envs_clean(all_: bool = typer.Option(False, "--all", help="Remove every env, not only stale ones.")) -> None:
    """Remove envs no current lock points to (or all of them)."""
    with clean_errors():
        current = set() if all_ else {envs.env_path(t, bake.HOME / "envs").name for t in pick_tools(None)}
        for path in envs.stale_envs(bake.HOME / "envs", current):
            shutil.rmtree(path)
            console.print(f"removed {path}")


@envs_app.command("lock")
def envs_lock(tools: Optional[str] = typer.Argument(None, help="Comma-separated tools (default: all).")) -> None:
    """Regenerate a tool's lock from locks/base.in plus its requirements (needs the registry): locks/<tool>.txt, or lock.txt in an outside tool's folder."""
    with clean_errors():
        failed = []
        for tool in pick_tools(tools):
            try:
                console.print(f"locked {tool.name}: {envs.compile_lock(tool)}")
            except ConfigError as exc:  # one tool that cannot resolve must not stop the others
                console.print(f"[red]not locked[/] {exc}", highlight=False)
                failed.append(tool.name)
        if failed:
            raise ConfigError(f"could not lock {', '.join(failed)}; see the reasons above")


def pick_tools(names: Optional[str]) -> list[registry.Tool]:
    """The named tools (default: every tool that can run here)."""
    known = registry.tools()
    wanted = split_names(names) or [n for n, t in known.items() if not t.tool.unavailable]
    for name in wanted:
        if name not in known:
            raise ConfigError(f"unknown tool {name!r}; choose from: {', '.join(known)}")
        if known[name].tool.unavailable:
            raise ConfigError(f"tool {name!r} cannot run here: {known[name].tool.unavailable}")
    return [known[n] for n in wanted]


def main() -> None:
    """Console entry point: usage errors become one line and exit code 2, like every bad input."""
    try:
        code = app(standalone_mode=False, prog_name="bakeoff")
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.BadParameter.__mro__[1] as exc:  # typer's UsageError: bad flag, bad value, missing argument
        if not exc.format_message():  # bare `bakeoff`: the help was shown
            sys.exit(2)
        hint = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        console.print(f"[bold red]error:[/] {exc.format_message()}{hint}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last resort: never a traceback at a user
        sys.exit(unexpected_error(exc))


def unexpected_error(exc: Exception) -> int:
    """An exception nothing expected: the disk full or read-only is the user's to fix (exit 2);
    anything else is a bug, told in one line with the saved traceback (exit 1)."""
    import errno
    import sqlite3
    import tempfile
    import traceback

    text = " ".join(str(exc).split())[:300]
    where = getattr(exc, "filename", None) or "a file bakeoff writes"
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        (isinstance(exc, sqlite3.OperationalError) and "disk is full" in text)
    # A path of the user's (an --out, BAKEOFF_HOME, a read-only or missing folder), not of bakeoff's own source.
    their_path = isinstance(exc, OSError) and exc.filename and not str(exc.filename).startswith(str(envs.SOURCE_DIR))
    if full or their_path or (isinstance(exc, sqlite3.OperationalError) and "readonly" in text):
        problem = f"no space left on the disk holding {where}" if full else \
            f"cannot use {where} ({getattr(exc, 'strerror', None) or text})"
        fix = "free space there (`df -h`) or pass --out (and BAKEOFF_HOME) on another disk" if full else \
            "pass an --out (or BAKEOFF_HOME) that is a writable folder"
        console.print(f"[bold red]error:[/] {problem}; fix: {fix}",
                      highlight=False, soft_wrap=True)
        return 2
    saved = None
    for folder in (bake.HOME, Path(tempfile.gettempdir())):  # the traceback goes where it can be written
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = folder / "last-error.txt"
            saved.write_text(f"$ bakeoff {shlex.join(sys.argv[1:])}\n{traceback.format_exc()}")
            break
        except OSError:
            saved = None
    console.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {text}; traceback saved in {saved}; "
                  "please report it with the output of `bakeoff doctor --report`", highlight=False, soft_wrap=True)
    return 1
