"""`bakeoff check` for every registered tool, in its own env: import, contract, options and one
smoke call. One `bakeoff check all` (two tools at a time, as a user would run it before class),
then one parametrized test per tool over its lines, so a new tool is covered by being added."""

import pytest

from bakeoff.host import registry
from tests.conftest import bakeoff_cli

pytestmark = pytest.mark.slow
ENTRIES = {}
for _entry in registry.entries():
    if not _entry.unavailable:  # nothing to check: see the test below
        ENTRIES.setdefault(_entry.tool.name, []).append(f"{_entry.stage} · {_entry.name}")
TOOLS = sorted(ENTRIES)
# A tool that cannot be installed here keeps its row with the reason; its check says so.
UNINSTALLABLE = {"alibi_detect"}


@pytest.fixture(scope="module")
def checked():
    done = bakeoff_cli("check", "all", timeout=3000)
    lines = {}
    for line in done.stdout.splitlines():
        head, _, rest = line.partition(": ")
        lines[head] = rest
    return done, lines


@pytest.mark.parametrize("tool", TOOLS)
def test_every_registered_tool_passes_its_check(tool, checked):
    done, lines = checked
    for entry in ENTRIES[tool]:
        said = lines.get(entry)
        assert said is not None, f"no line for {entry}:\n{done.stdout}\n{done.stderr[-2000:]}"
        if tool in UNINSTALLABLE and "environment could not be built" in said:
            pytest.skip(f"{tool} cannot be installed here: {said[:200]}")
        assert said.startswith("ok "), f"{entry}: {said}\n{done.stderr[-2000:]}"


def test_check_all_exits_0_only_when_every_check_passed(checked):
    done, lines = checked
    all_ok = all(text.startswith("ok ") for text in lines.values() if text)
    assert (done.returncode == 0) == all_ok, done.stderr[-2000:]


def test_a_broken_adapter_fails_its_check_with_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "tools" / "brokentracker"
    folder.mkdir(parents=True)
    (folder / "tool.toml").write_text(
        '[tool]\nname = "brokentracker"\ntitle = "Broken"\nlicense = "MIT"\n'
        '[stages.tracking.brokentracker]\nadapter = "brokentracker.adapter:Broken"\nconfig = "c"\nwhy = "w"\n')
    (folder / "adapter.py").write_text(
        "from bakeoff.tools.jsonl.tracking import JsonLinesTracking\n\n\n"
        "class Broken(JsonLinesTracking):\n"
        "    def search_run(self, *, metric, above, descending=True):\n        return []\n")
    (folder / "lock.txt").write_text((registry.tools()["jsonl"].folder.parents[3] / "locks" / "jsonl.txt").read_text())
    done = bakeoff_cli("check", "brokentracker", env={"BAKEOFF_TOOLS_PATH": str(tmp_path / "tools")})
    assert done.returncode == 2
    assert "search_run is not a method of TrackingAdapter: did you mean `search_runs`?" in done.stdout


def test_a_tool_that_cannot_run_here_is_refused_with_its_reason():
    done = bakeoff_cli("check", "pachyderm")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: tool 'pachyderm' cannot run here: Pachyderm runs only on Kubernetes")
