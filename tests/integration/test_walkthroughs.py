"""Every stage's walkthrough executes with the network off (a namespace with only loopback, as
the tracking stage's test does), has the six sections in order, links them to the memo and the demo, and
its stable figures agree with the shipped ones within their intervals. The freshness check calls
a just-built notebook fresh, and stale, naming the input, once a lock or the stage's code changes."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from bakeoff.host import agreement, freshness, walkthroughs
from bakeoff.host.envs import PROJECT_DIR
from tests.conftest import bakeoff_cli

# The fixture executes all six notebooks (a real run of each stage): more than the default 900 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
NO_NETWORK = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
STAGES = walkthroughs.stages()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every walkthrough executed offline, into a temp folder (the shipped ones stay as they are)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    out = tmp_path_factory.mktemp("walkthroughs")
    done = bakeoff_cli("walkthrough", *STAGES, "--out", str(out), prefix=NO_NETWORK, timeout=2400)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_every_stage_has_a_walkthrough():
    assert STAGES == ["tracking", "versioning", "orchestration", "cicd", "serving", "monitoring"]


@pytest.mark.parametrize("stage", STAGES)
def test_walkthrough_runs_offline_with_its_sections_in_order(built, stage):
    notebook = nbformat.read(built / f"{stage}.ipynb", as_version=4)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{stage}: {errors[0].ename}: {errors[0].evalue}"
    headings = [line[3:].strip() for c in notebook.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert headings == list(walkthroughs.SECTIONS)
    for section in walkthroughs.SECTIONS:  # each section links to its memo anchor and demo steps
        cell = next(c for c in notebook.cells if c.cell_type == "markdown" and f"## {section}" in c.source)
        assert walkthroughs.section_links(stage, section) in cell.source.replace("\n# ", " ")
    record = notebook.metadata["bakeoff"]
    assert record["stage"] == stage and record["evidence"]["tools"], record.keys()


@pytest.mark.parametrize("stage", STAGES)
def test_stable_figures_agree_with_the_shipped_ones(built, stage):
    fresh = nbformat.read(built / f"{stage}.ipynb", as_version=4).metadata["bakeoff"]["evidence"]
    shipped, source = agreement.reference(stage)
    rows = agreement.compare(fresh, shipped)
    stable = [r for r in rows if r.stable]
    assert stable, f"{stage}: nothing stable to compare with {source}"
    assert not agreement.disagreements(rows), "\n".join(r.line() for r in agreement.disagreements(rows))
    moved = [r.line() for r in rows if not r.stable and not r.agree]
    print(f"{stage}: {len(stable)} stable figures agree with {source}; load-dependent ones that differ: {moved}")


@pytest.mark.parametrize("stage", STAGES)
def test_html_loads_nothing_from_the_network_and_stays_small(built, stage):
    html = (built / f"{stage}.html").read_text()
    assert not re.findall(r"<(?:script|link|img)\b[^>]*(?:src|href)=[\"']?(?:https?:)?//", html)
    assert "## The question" not in html and ">The question<" in html
    for suffix in ("ipynb", "html"):
        assert (built / f"{stage}.{suffix}").stat().st_size < 1_000_000


@pytest.mark.parametrize("stage", [s for s in STAGES if s in ("tracking", "serving", "monitoring")])
def test_memo_anchors_exist_in_the_worked_example(stage):
    page = (PROJECT_DIR / "examples" / "student-quick" / "report.html").read_text()
    for section in walkthroughs.SECTIONS:
        assert f'id="{walkthroughs.memo_anchor(stage, section)}"' in page, section


def project_copy(root: Path, stage: str, notebook: Path) -> Path:
    """The inputs a walkthrough's provenance names, copied, with the just-built notebook."""
    for part in ("locks", "src/bakeoff/stages", "src/bakeoff/tools", "src/bakeoff/worker", "src/bakeoff/data"):
        shutil.copytree(PROJECT_DIR / part, root / part, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    (root / "walkthroughs").mkdir()
    shutil.copy(PROJECT_DIR / "walkthroughs" / f"{stage}.py", root / "walkthroughs")
    shutil.copy(notebook, root / "walkthroughs")
    return root


def test_freshness_names_what_changed(built, tmp_path):
    stage = "serving"
    project = project_copy(tmp_path, stage, built / f"{stage}.ipynb")
    assert walkthroughs.freshness(stage, project).line() == f"walkthroughs/{stage}.ipynb fresh"
    tool = walkthroughs.recorded(stage, project)["evidence"]["tools"]
    lock = next(f"locks/{name}.txt" for name in ("litserve", *tool) if (project / "locks" / f"{name}.txt").is_file())
    with open(project / lock, "a") as fh:
        fh.write("# edited\n")
    (project / "src/bakeoff/stages" / stage / "spec.py").write_text(
        (project / "src/bakeoff/stages" / stage / "spec.py").read_text() + "\n# edited\n")
    found = walkthroughs.freshness(stage, project)
    assert not found.fresh
    assert f"{lock} changed" in found.changes and f"code of stages/{stage} changed" in found.changes, found.line()
    assert "code of worker changed" not in found.changes  # only what changed is named


def test_fresh_command_lists_every_artefact():
    done = bakeoff_cli("fresh", timeout=120)
    assert done.returncode in (0, 1), done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [*(f"walkthroughs/{s}.ipynb" for s in STAGES), "examples/student-quick"]
    assert all(re.search(r" (fresh|stale: .+)$", line) for line in lines), lines
    assert done.returncode == (1 if any(" stale:" in line for line in lines) else 0)
    assert json.loads((PROJECT_DIR / "examples/student-quick/provenance.json").read_text())["stages"]
