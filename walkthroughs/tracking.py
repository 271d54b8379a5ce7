# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Walkthrough: Experiment tracking
#
# A notebook to read at your own pace: the same question, work, run, evidence and decision as
# the stage's section of the decision memo, on a real run made while this notebook executed.
# Each section links to the same part of the memo of the worked example
# ([examples/student-quick/report.html](../examples/student-quick/report.html)) and
# names the step of `bakeoff demo tracking` that shows it live.
#
# Rebuild it with `bakeoff walkthrough tracking`; `bakeoff fresh` says whether it is still what
# the current locks, data and code would give.

# %%
import os
import shlex
import subprocess
import sys
from dataclasses import asdict

import pandas as pd
from IPython.display import SVG, Markdown, display

from bakeoff.host import agreement, registry, walkthroughs
from bakeoff.host.decide import decide, load_profile, load_results
from bakeoff.host.envs import PROJECT_DIR, pinned_version
from bakeoff.host.report.memo import build_verdict
from bakeoff.host.report.stage import build_stage
from bakeoff.stages.spec import all_specs, resolve

STAGE = "tracking"
# With the baseline, which always runs. DVCLive (plain files beside the code, no server) is among
# the cheapest trackers to run, and it reads values back exactly, so the decision has a real
# candidate.
TOOLS = ['dvclive']
REPEATS = 1  # the walkthrough's time budget; the memo's figures use 3 (--quick) or 5 repeats
PROFILE = PROJECT_DIR / "profiles" / "student.toml"
RUNS = walkthroughs.runs_folder(STAGE)
pd.set_option("display.max_colwidth", 90)
spec = all_specs()[STAGE]

# %% [markdown]
# ## The question
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking) (`#stage-tracking`) · live: `bakeoff demo tracking --steps 1`*
#
# Every stage starts from one question a team has to answer, and a line-up: a baseline that uses
# no tool at all, and the real tools, each pinned in its own locked environment.

# %%
print(spec.question)
pd.DataFrame([{"entry": e.name, "tool": e.tool.name, "version": pinned_version(e.tool) or "-",
               "baseline": e.spec.baseline, "run here": e.spec.baseline or e.name in TOOLS or e.tool.name in TOOLS}
              for e in registry.entries(STAGE)])

# %% [markdown]
# ## The same work for every tool
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking-method) (`#stage-tracking-method`) · live: `bakeoff demo tracking --steps 2`*
#
# The workload is written once, in `src/bakeoff/stages/tracking/`; an adapter in
# `src/bakeoff/tools/<tool>/` only translates the stage contract into the tool's own API. So
# every tool does exactly the same work, with correctness checked before any figure counts.

# %%
print((resolve(spec.contract).__doc__ or "").strip().split("\n\n")[0])
display(pd.DataFrame([{"trial kind": k, "the same function for every tool": v.run, "repeated": v.repeated}
                      for k, v in spec.kinds.items()]))
display(pd.DataFrame([{"metric": k, "what": m.label, "unit": m.unit, "better": m.better, "criterion": m.criterion}
                      for k, m in spec.metrics.items()]))
pd.DataFrame([{"probe": k, "what it checks": p.label, "core check": p.core} for k, p in spec.probes.items()])

# %% [markdown]
# ## Run
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking-reproduce) (`#stage-tracking-reproduce`) · live: `bakeoff demo tracking --steps 5`*
#
# A real run, as you would type it: the baseline and `dvclive`, quick sizes, one measured repeat. Each
# trial is a fresh process in the tool's own env; the warm-up round is discarded.

# %%
command = ["bakeoff", "run", "--stage", STAGE, "--tools", ",".join(TOOLS), "--quick", "--repeats", str(REPEATS),
           "--profile", str(PROFILE.relative_to(PROJECT_DIR)), "--out", str(RUNS)]
print("$", shlex.join(command))
done = subprocess.run([sys.executable, "-m", *command], cwd=PROJECT_DIR, capture_output=True, text=True,
                      env={**{k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR")},
                           "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})  # plain lines, as in a log
print(done.stderr[-5000:])
assert done.returncode == 0, f"bakeoff run exited {done.returncode}"
results, run_dir = load_results("latest", RUNS)
print("run", results["run_id"])

# %% [markdown]
# ## Read the evidence
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking-measurements) (`#stage-tracking-measurements`) · live: `bakeoff demo tracking --steps 5`*
#
# The figures of this run, as the memo shows them: a median with its 95% interval, the ratio to
# the baseline (paired within each repeat round) and whether the interval excludes ×1. Then the
# probes: a capability counts only when a probe exercised it in this run.

# %%
view = build_stage(STAGE, results["stages"][STAGE], run_dir)
def shown(tool, i):
    if not tool.ok:
        return tool.status_text
    cell = tool.cells[i]
    return f"{cell.value} ({cell.ratio}{', ' + cell.verdict if cell.verdict else ''})" if cell.ratio else cell.value


measured = {c.label: {t.key: shown(t, i) for t in view.tools} for i, c in enumerate(view.columns)}
display(pd.DataFrame(measured).T)
display(pd.DataFrame({p.value: {t.key: t.probes[i].status for t in view.tools}
                      for i, p in enumerate(view.probe_columns)}).T)
if view.chart_svg:
    display(SVG(view.chart_svg))
for figure in view.figures[:2]:  # the stage's own charts, as in the memo
    display(Markdown(f"**{figure.title}**"))
    display(SVG(figure.svg))

# %% [markdown]
# Do these figures agree with the shipped ones? Each figure both runs have is compared within its
# interval (two intervals agree when they overlap), never as exact text. Only the stable figures
# must agree: each tool's status, its probe outcomes, the stage's correctness facts and its
# correctness metrics (the same data gives the same answer), except the few whose outcome hinges on
# timing: the table's `why` column names them and says why. Timings, memory and sizes are shown
# too, but they move with the machine's load (this run has one measured repeat on a shared machine, so its
# interval is a single value), so a difference there is reported, not a failure.

# %%
shipped, source = agreement.reference(STAGE)
print("compared with", source)
rows = agreement.compare(agreement.evidence(results, STAGE), shipped)
display(pd.DataFrame([asdict(r) for r in rows]))
stable = [r for r in rows if r.stable]
print(f"{len(rows)} figures compared, {len(stable)} of them stable: "
      f"{sum(r.agree for r in stable)} agree, {len(agreement.disagreements(rows))} disagree; "
      f"{sum(not r.agree for r in rows if not r.stable)} load-dependent figures differ")
for row in agreement.disagreements(rows):
    print(row.line())

# %% [markdown]
# ## Decide under your profile
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking-verdict) (`#stage-tracking-verdict`) · live: `bakeoff demo tracking --steps 6`*
#
# A team profile (`profiles/student.toml` here) states hard constraints and weights over criteria.
# `decide` excludes the tools that miss a constraint, scores the others from 0 to 1 per criterion,
# and ranks them; totals whose intervals overlap are a tie, never a ranking.

# %%
profile = load_profile(PROFILE)
stage_decision = next(s for s in decide(results, profile).stages if s.stage == STAGE)
verdict = build_verdict(stage_decision)
print(verdict.headline, "|", "stability:", verdict.stability)
for excluded in verdict.excluded:
    print("excluded:", excluded.tool, "-", "; ".join(excluded.reasons))
display(pd.DataFrame([{"rank": line.rank, "tool": line.tool, **dict(zip((c.title for c in verdict.columns), line.cells)),
                       "total": line.total} for line in verdict.lines]))
if verdict.chart_svg:
    display(SVG(verdict.chart_svg))

# %% [markdown]
# ## Your turn
# *Same in the [memo](../examples/student-quick/report.html#stage-tracking-limitations) (`#stage-tracking-limitations`) · live: no demo step shows this*
#
# The same numbers read by another team need no new run. How far must each weight move before
# this verdict flips, and what does the enterprise team's profile decide?

# %%
for line in verdict.sensitivity:
    print("sensitivity:", line)
enterprise = load_profile(PROJECT_DIR / "profiles" / "enterprise.toml")
print("enterprise:", next(s for s in decide(results, enterprise).stages if s.stage == STAGE).verdict.headline)

# %% [markdown]
# Then, in this notebook or at the command line:
#
# 1. Put a second tool in `TOOLS` (see the line-up above) and run the notebook again: does the
#    verdict change, and which figures decide it?
# 2. Set `REPEATS = 3` (what `--quick` uses): the intervals narrow; do the verdicts hold?
#    `bakeoff run --stage tracking --quick --profile profiles/student.toml --confirm` runs it twice
#    and says whether each verdict held.
# 3. Copy `profiles/student.toml`, change one weight past the sensitivity above, and
#    `bakeoff decide latest --profile your.toml`.
# 4. Bring a tool of your own: `bakeoff new tracking mytool` (docs/students.md).
