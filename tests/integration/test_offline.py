"""Once the envs are built, a run needs no network: run it inside a network namespace that has
nothing but loopback."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import bakeoff_cli

pytestmark = pytest.mark.slow
NO_NETWORK = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_a_run_needs_no_network(tmp_path):
    probe = bakeoff_cli("--help", prefix=NO_NETWORK, timeout=60)
    if probe.returncode != 0 and "unshare failed" in probe.stderr:
        pytest.fail(f"cannot create a network namespace here: {probe.stderr.strip()}")
    done = bakeoff_cli("run", "--stage", "tracking", "--tools", "mlflow-server", "--quick",
                       "--repeats", "1", "--offline", out=tmp_path, prefix=NO_NETWORK)
    assert done.returncode == 0, done.stderr[-3000:]
    tools = json.loads((Path(done.stdout.strip().splitlines()[-1]).parent / "results.json").read_text())
    for name, tool in tools["stages"]["tracking"]["tools"].items():
        assert tool["status"] == "ok", f"{name}: {tool['reason']}"
