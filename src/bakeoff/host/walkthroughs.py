"""Walkthrough notebooks, one per stage: walkthroughs/<stage>.py (jupytext percent source, kept
in the repo) -> walkthroughs/<stage>.ipynb (executed, with a provenance record in its metadata)
-> walkthroughs/<stage>.html (nbconvert, no script or style loaded from the network).

Every notebook has the same six sections, in SECTIONS order; each links to the memo section
showing the same thing (an anchor of report.html) and names the demo steps that show it live.
Host side.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bakeoff.host.envs import PROJECT_DIR
from bakeoff.host.registry import ConfigError

FOLDER = Path("walkthroughs")
RUNS_VARIABLE = "BAKEOFF_WALKTHROUGH_RUNS"  # where a notebook's run goes (the builder sets it)
KERNEL = "bakeoff-host"
CELL_TIMEOUT = 900  # seconds; the run cell is the long one
# Section heading -> the part of the memo's stage section showing the same thing (its HTML id is
# `stage-<stage>-<part>`, `stage-<stage>` itself for the question; see report.html.j2).
SECTIONS = {
    "The question": "",
    "The same work for every tool": "method",
    "Run": "reproduce",
    "Read the evidence": "measurements",
    "Decide under your profile": "verdict",
    "Your turn": "limitations",
}


def stages() -> list[str]:
    from bakeoff.stages.spec import all_specs

    return [s for s in all_specs() if (PROJECT_DIR / FOLDER / f"{s}.py").is_file()]


def known_stage(stage: str) -> str:
    from bakeoff.stages.spec import all_specs

    if stage not in all_specs():
        raise ConfigError(f"unknown stage {stage!r}; choose from: {', '.join(all_specs())}")
    if not (PROJECT_DIR / FOLDER / f"{stage}.py").is_file():
        raise ConfigError(f"stage {stage} has no walkthrough; fix: write {FOLDER / stage}.py (jupytext percent format)")
    return stage


def memo_anchor(stage: str, section: str) -> str:
    from bakeoff.host.report.stage import slug

    part = SECTIONS[section]
    return f"stage-{slug(stage)}" + (f"-{part}" if part else "")


def demo_steps(stage: str, section: str) -> list[int]:
    """The steps of `bakeoff demo STAGE` that show what this section shows, read from the demo's
    script (not copied), so a changed script changes the links."""
    from bakeoff.host.demo import BAKEOFF, OFFLINE, script

    steps = list(enumerate(script(stage), 1))
    verb = {n: step.command[len(OFFLINE) + 1 if step.command[:len(OFFLINE)] == OFFLINE else 1]
            for n, step in steps if BAKEOFF in step.command}
    runs = [n for n, v in verb.items() if v == "run"]
    checks = [n for n, v in verb.items() if v == "check"]
    found = {
        "The question": [n for n, v in verb.items() if v == "tools"],
        "The same work for every tool": checks[:1],  # the baseline meets the stage contract
        "Run": runs or checks[1:],  # no measured run in a short script: a real tool's checks, online and off
        "Read the evidence": runs,
        "Decide under your profile": [n for n, v in verb.items() if v == "decide"],
        "Your turn": [],
    }
    return found[section]


def section_links(stage: str, section: str) -> str:
    """The line under each section heading: the memo's matching section, the demo's steps."""
    memo = f"[memo](../examples/student-quick/report.html#{memo_anchor(stage, section)})"
    steps = demo_steps(stage, section)
    shown = ",".join(str(n) for n in steps)
    demo = f"`bakeoff demo {stage} --steps {shown}`" if steps else "no demo step shows this"
    return f"*Same in the {memo} (`#{memo_anchor(stage, section)}`) · live: {demo}*"


def paths(stage: str, project: Path = PROJECT_DIR) -> dict[str, Path]:
    base = project / FOLDER / stage
    return {"source": base.with_suffix(".py"), "notebook": base.with_suffix(".ipynb"), "html": base.with_suffix(".html")}


def runs_folder(stage: str) -> Path:
    """Where a notebook's run goes: set by the builder, else under the bakeoff home."""
    from bakeoff.host.bake import HOME

    return Path(os.environ.get(RUNS_VARIABLE) or HOME / "walkthroughs" / stage / "runs")


@contextmanager
def host_kernel() -> Iterator[str]:
    """A kernel spec that runs this very interpreter (the host's .venv), in a temp JUPYTER_PATH:
    nothing installed, nothing looked up on the network."""
    with tempfile.TemporaryDirectory(prefix="bakeoff-kernel-") as folder:
        spec = Path(folder) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "bakeoff (host .venv)", "language": "python"}))
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [folder, before]))
        try:
            yield KERNEL
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


def execute(stage: str, *, runs: Path, project: Path = PROJECT_DIR):
    """Run the notebook from its jupytext source; return it with its provenance record."""
    import jupytext
    from nbclient import NotebookClient

    from bakeoff.host import agreement, freshness
    from bakeoff.host.decide import load_results

    where = paths(stage, project)
    notebook = jupytext.read(where["source"])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    before = os.environ.get(RUNS_VARIABLE)
    os.environ[RUNS_VARIABLE] = str(runs)
    try:
        with host_kernel() as kernel:
            NotebookClient(notebook, kernel_name=kernel, timeout=CELL_TIMEOUT,
                           resources={"metadata": {"path": str(where["source"].parent)}}).execute()
    finally:
        os.environ.pop(RUNS_VARIABLE) if before is None else os.environ.__setitem__(RUNS_VARIABLE, before)
    results, _ = load_results("latest", runs)
    tools = sorted({str(t.get("tool") or n) for n, t in results["stages"][stage]["tools"].items()})
    notebook.metadata["bakeoff"] = {
        "stage": stage, "run_id": results.get("run_id"),
        "source_sha256": freshness.file_hash(where["source"]),
        "provenance": {stage: freshness.stage_provenance(stage, tools, project)},
        "evidence": agreement.evidence(results, stage),
    }
    return notebook


OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{# The lab template, without the scripts it would load from a CDN (require.js, MathJax, mermaid,
   widgets): the page is read offline, and these notebooks need none of them. #}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
"""


SVG_NAMESPACE = 'xmlns="http://www.w3.org/2000/svg"'


def standalone_svg(notebook):
    """The report's charts are drawn to sit inside an HTML page, without the SVG namespace; an
    SVG output shown as an image (as nbconvert and Jupyter show it) needs it, so add it."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            svg = output.get("data", {}).get("image/svg+xml")
            if svg and "xmlns=" not in svg.split(">", 1)[0]:
                output["data"]["image/svg+xml"] = svg.replace("<svg", f"<svg {SVG_NAMESPACE}", 1)
    return notebook


def to_html(notebook) -> str:
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2")
    html, _ = exporter.from_notebook_node(notebook)
    return html


def build(stage: str, *, execute_it: bool = True, out: Path | None = None, project: Path = PROJECT_DIR) -> list[Path]:
    """(Re)build a stage's walkthrough: executed notebook and its HTML, into `out` (default:
    beside the source). Without execution, the source only becomes an unexecuted notebook."""
    import jupytext
    import nbformat

    known_stage(stage)
    where = paths(stage, project)
    folder = Path(out) if out else where["source"].parent
    folder.mkdir(parents=True, exist_ok=True)
    if execute_it:
        with tempfile.TemporaryDirectory(prefix=f"bakeoff-walkthrough-{stage}-") as runs:
            notebook = execute(stage, runs=Path(runs), project=project)
    else:
        notebook = jupytext.read(where["source"])
    written = [folder / f"{stage}.ipynb", folder / f"{stage}.html"]
    nbformat.write(standalone_svg(notebook), written[0])
    written[1].write_text(to_html(notebook), encoding="utf-8")
    return written


def recorded(stage: str, project: Path = PROJECT_DIR) -> dict:
    """The shipped notebook's record (run id, provenance, evidence), or {} when there is none."""
    try:
        return json.loads(paths(stage, project)["notebook"].read_text()).get("metadata", {}).get("bakeoff") or {}
    except (OSError, ValueError):
        return {}


def freshness(stage: str, project: Path = PROJECT_DIR):
    """Is the shipped walkthrough still what its source, locks, data and code would give?"""
    from bakeoff.host import freshness as fresh

    where = paths(stage, project)
    name = where["notebook"].relative_to(project).as_posix()
    record = recorded(stage, project)
    if not record.get("provenance"):
        return fresh.Freshness(name, ["not built or executed: no provenance record"], stage, missing=True)
    found = []
    if record.get("source_sha256") != fresh.file_hash(where["source"]):
        found.append(f"source {where['source'].relative_to(project).as_posix()} changed")
    return fresh.Freshness(name, found + fresh.changes(record["provenance"], project), stage)
