"""Every versioning tool, for real, in its own env, on a small history: months 1-3 and the
March correction (v1..v4). Each checks out v3 exactly (bytes for file tools, rows for table
formats), then one byte of the stored object holding month 2 is flipped and the tool's check
or read is asked about it. The expected outcomes state each tool's documented behaviour, so a
change of behaviour fails here first."""

import json
import subprocess

import pytest

from bakeoff.host import bake, envs, registry

pytestmark = pytest.mark.slow
ENTRIES = [e for e in registry.entries("versioning") if not e.unavailable]
FILE_ENTRIES = [e for e in ENTRIES if e.tool.name in ("snapshot_copy", "dvc", "git_lfs")]

# What each tool does about a flipped byte (see each tool.toml): "reported" by its own check,
# "raised" on read, "silent" (wrong data read back), "unnoticed" (the read did not touch the
# damaged copy and nothing checked it).
CORRUPTION = {
    "snapshot_copy": "silent",  # plain copies carry no checksums
    "dvc-copy": "reported",  # dvc status re-hashes the changed cache entry: "not in cache"
    "dvc-hardlink": "reported",  # the workspace file is the cache object: dvc status sees it
    "git_lfs": "reported",  # git lfs fsck re-hashes objects
    "deltalake": "silent",
    "lance": "silent",
    "iceberg": "raised",
    "ducklake": "silent",
    "doltlite": "reported",  # PRAGMA integrity_check walks the chunk graph: a flipped byte is a corrupt chunk
}

DRIVER = r'''
import json, sys
from pathlib import Path
from bakeoff.stages.contract import Unsupported, load_adapter
from bakeoff.stages.versioning.contract import VersioningAdapter
from bakeoff.stages.versioning.history import build
from bakeoff.stages.versioning.workload import Mismatch, Recorded, check_checkout

adapter_spec, options, data_dir, folder, out = sys.argv[1], json.loads(sys.argv[2]), *map(Path, sys.argv[3:])
adapter = load_adapter(adapter_spec, VersioningAdapter, options)
history = build(data_dir, folder / "source", months=3)
recorded = Recorded(adapter, history, folder / "workspace", folder / "remote")
recorded.open()
recorded.commit_all()
check_checkout(adapter.layout, adapter.checkout(version_id=recorded.ids["v3"]), history.version("v3"), history)
stored = adapter.stored_object(version_id=recorded.ids["v3"], name=history.month_names[2][0], month=2)
data = bytearray(stored.read_bytes())
data[len(data) // 2] ^= 0xFF
stored.chmod(0o644)
stored.write_bytes(bytes(data))
try:
    report = adapter.verify()
except Unsupported:
    report = ""
if report:
    outcome = "reported"
else:
    try:
        check_checkout(adapter.layout, adapter.checkout(version_id=recorded.ids["v3"]), history.version("v3"), history)
        outcome = "unnoticed"
    except Mismatch:
        outcome = "silent"
    except Exception:
        outcome = "raised"
adapter.close()
out.write_text(json.dumps({"versions": list(recorded.ids), "corruption": outcome}))
'''


def run_driver(driver: str, entry, data_dir, tmp_path) -> dict:
    """Run a driver script with the entry's adapter in the tool's own env; what it wrote."""
    env = envs.ensure(entry.tool, bake.HOME / "envs")
    assert env.status == "ok", f"{entry.name}: {env.error}"
    out = tmp_path / "out.json"
    done = subprocess.run([str(env.python), "-c", driver, entry.spec.adapter, json.dumps(entry.spec.options),
                           str(data_dir), str(tmp_path), str(out)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, f"{entry.name}: {done.stderr[-2000:]}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_three_months_check_out_exactly_and_damage_is_handled_as_documented(entry, data_dir, tmp_path):
    found = run_driver(DRIVER, entry, data_dir, tmp_path)
    assert found["versions"] == ["v1", "v2", "v3", "v4"]
    assert found["corruption"] == CORRUPTION[entry.name], entry.name


# The full size's layout, small: one file per day (January and February, 59 files), where file
# tools must commit, check out, diff and read a month as many files, not one.
DAILY_DRIVER = r'''
import json, sys
from pathlib import Path
from bakeoff.stages.contract import load_adapter
from bakeoff.stages.versioning.contract import VersioningAdapter
from bakeoff.stages.versioning.history import build
from bakeoff.stages.versioning.workload import Recorded, check_checkout, check_diff, expected_diff

adapter_spec, options, data_dir, folder, out = sys.argv[1], json.loads(sys.argv[2]), *map(Path, sys.argv[3:])
adapter = load_adapter(adapter_spec, VersioningAdapter, options)
history = build(data_dir, folder / "source", months=2, files_per_month="daily", correction=False)
recorded = Recorded(adapter, history, folder / "workspace", folder / "remote")
recorded.open()
recorded.commit_all()
check_checkout(adapter.layout, adapter.checkout(version_id=recorded.ids["v1"]), history.version("v1"), history)
found = adapter.diff(old=recorded.ids["v1"], new=recorded.ids["v2"])
summary = check_diff(found, expected_diff(history, "v1", "v2", "files"), "files", "v1", "v2")
table = adapter.read_columns(version_id=recorded.ids["v2"], names=history.month_names[2], month=2,
                             columns=["flight_id", "late"])
adapter.close()
out.write_text(json.dumps({"files": len(history.version("v2").files), "diff": summary, "rows": table.num_rows,
                           "month_rows": history.month_tables[2].num_rows}))
'''


@pytest.mark.parametrize("entry", FILE_ENTRIES, ids=[e.name for e in FILE_ENTRIES])
def test_file_tools_handle_a_file_per_day(entry, data_dir, tmp_path):
    found = run_driver(DAILY_DRIVER, entry, data_dir, tmp_path)
    assert found["files"] == 59 and found["diff"] == "28 added, 0 changed, 0 removed"
    assert found["rows"] == found["month_rows"] > 0
