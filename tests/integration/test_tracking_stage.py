"""The tracking stage, for real, with every tool on quick settings (one measured repeat), inside a
network namespace that has nothing but loopback: once the envs are built, a run needs no network
(MLflow's tracking server and UI included)."""

import json
import shutil
from pathlib import Path

import pytest

from bakeoff.host import registry
from bakeoff.stages.tracking.spec import TRACKING
from tests.conftest import bakeoff_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # the first test pays for the whole run
ENTRIES = [e.name for e in registry.entries("tracking")]
NO_NETWORK = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


@pytest.fixture(scope="module")
def network_off() -> list[str]:
    """The prefix that runs a command with the network off, or [] where util-linux's unshare is missing."""
    if shutil.which("unshare") is None:
        return []
    probe = bakeoff_cli("--help", prefix=NO_NETWORK, timeout=60)
    if probe.returncode != 0 and "unshare failed" in probe.stderr:
        pytest.fail(f"cannot create a network namespace here: {probe.stderr.strip()}")
    return NO_NETWORK


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, network_off) -> Path:
    out = tmp_path_factory.mktemp("runs")
    prefix = network_off
    done = bakeoff_cli("run", "--stage", "tracking", "--quick", "--repeats", "1", *(["--offline"] if prefix else []),
                       out=out, prefix=prefix)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1]).parent
    assert run_dir.parent == out
    return run_dir


def test_a_run_needs_no_network(network_off, tools):
    if not network_off:
        pytest.skip("needs unshare (util-linux) to take the network away")
    assert all(tool["status"] == "ok" for tool in tools.values()), {n: t["reason"] for n, t in tools.items()}


@pytest.fixture(scope="module")
def tools(quick_run) -> dict:
    return json.loads((quick_run / "results.json").read_text())["stages"]["tracking"]["tools"]


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_tool_ran_correctly(tools, entry):
    tool = tools[entry]
    assert tool["status"] == "ok", f"{entry}: {tool['reason']}"
    # Correctness was checked inside the trial: a wrong best run or model would have failed it.
    assert tool["facts"]["model_check"].startswith(("fetched model predicts exactly", "not possible"))
    for metric in ("sweep_seconds", "tracking_seconds", "readback_seconds", "single_log_p50_ms",
                   "single_log_p99_ms", "cold_start_seconds", "store_mb", "search_ms"):
        assert tool["metrics"][metric]["median"] > 0, metric
    assert tool["metrics"]["single_log_p99_ms"]["median"] >= tool["metrics"]["single_log_p50_ms"]["median"]


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_probe_has_an_outcome_with_evidence(tools, entry):
    probes = tools[entry]["probes"]
    assert set(probes) == set(TRACKING.probes)
    for name, outcome in probes.items():
        assert outcome["status"] in {"pass", "fail", "unsupported"}, name
        assert outcome["evidence"].strip(), name


def test_ratios_are_against_the_baseline(tools):
    assert tools["jsonl"]["metrics"]["sweep_seconds"]["ratio"] is None
    for entry in ENTRIES:
        if entry != "jsonl":
            ratio = tools[entry]["metrics"]["tracking_seconds"]["ratio"]
            assert ratio is not None and ratio["median"] > 0


def test_reports_name_every_tool_and_link_logs(quick_run):
    markdown = (quick_run / "report.md").read_text()
    html = (quick_run / "report.html").read_text()
    for entry in ENTRIES:
        assert entry in markdown and entry in html
    for log in json.loads((quick_run / "results.json").read_text())["stages"]["tracking"]["tools"]["jsonl"]["logs"]:
        assert (quick_run / log).is_file()


def test_mlflow_proves_what_it_claims(tools):
    probes = tools["mlflow-server"]["probes"]
    for name in ("roundtrip_exact", "artifact_roundtrip", "search_filter", "model_registry", "local_ui", "autolog_sklearn"):
        assert probes[name]["status"] == "pass", f"{name}: {probes[name]['evidence']}"
