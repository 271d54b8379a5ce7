"""A second process for the probes that need one: a concurrent writer (a teammate's clone that
commits one month), and the offline run (a whole small history with the network cut).
`python -m bakeoff.stages.versioning.child JOB.json` writes JOB.json.out. Worker side."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.stages.contract import load_adapter
from bakeoff.stages.versioning.contract import Change, VersioningAdapter


def write(job: dict) -> dict:
    """Clone the store, wait for the go signal (so both writers commit at the same moment),
    commit the job's files or rows, report the version id or the error."""
    adapter = load_adapter(job["adapter"], VersioningAdapter, job["options"])
    workspace = Path(job["workspace"])
    workspace.mkdir(parents=True, exist_ok=True)
    adapter.clone(workspace=workspace, remote=Path(job["remote"]))
    Path(job["path"] + ".ready").write_text("ready")
    go = Path(job["go"])
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    files = {name: Path(source) for name, source in job["files"].items()}
    if adapter.layout == "files":
        folder = adapter.data_folder(workspace)
        for name, source in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(source.read_bytes())
    rows = pa.concat_tables([pq.read_table(p) for p in files.values()])
    change = Change(version=job["version"], message=job["message"], files=list(files), appended=rows)
    try:
        version_id, error = adapter.commit(change=change), ""
    except Exception as exc:  # the tool refused: a finding, reported by the probe
        version_id, error = "", f"{type(exc).__name__}: {exc}"[:500]
    adapter.close()
    return {"version_id": version_id, "error": error}


def offline(job: dict) -> dict:
    """The history's first versions, committed and checked out with no network at all."""
    from bakeoff.stages.versioning.history import build
    from bakeoff.stages.versioning.workload import Mismatch, Recorded, check_checkout

    adapter = load_adapter(job["adapter"], VersioningAdapter, job["options"])
    scratch = Path(job["scratch"])
    history = build(Path(job["data_dir"]), scratch / "source", months=job["months"], seed=job["seed"])
    recorded = Recorded(adapter, history, scratch / "workspace", scratch / "remote")
    recorded.open()
    recorded.commit_all()
    problems = []
    for version in history.versions:
        try:
            check_checkout(adapter.layout, adapter.checkout(version_id=recorded.ids[version.name]), version, history)
        except Mismatch as wrong:
            problems.append(str(wrong))
    adapter.close()
    return {"versions": len(history.versions), "problems": problems}


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    output = write(job) if job["mode"] == "write" else offline(job)
    Path(job_path + ".out").write_text(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
