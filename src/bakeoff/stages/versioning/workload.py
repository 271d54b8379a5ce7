"""The versioning workload, identical for every tool: record v1..v13, check three versions out
in a shuffled order, diff two pairs, read a slice of one, and let a teammate fetch v6.
Worker side: base set only.

Correctness before speed: every checkout must give back exactly the version (file tools: the
SHA-256 of every file; table tools: the canonical hash of the sorted rows), every diff must
name exactly what changed, the partial read must return exactly the month's two columns, and
the teammate's v6 must be exact too. Any mismatch fails the trial: a fast wrong answer is not
a result.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pyarrow as pa

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.versioning.contract import KEY, Checkout, Diff, VersioningAdapter
from bakeoff.stages.versioning.figures import CheckoutPoint, CommitPoint, Timeline
from bakeoff.stages.versioning.footprint import bytes_read, store_bytes
from bakeoff.stages.versioning.history import History, Version, build, canonical_hash, folder_hashes
from bakeoff.worker.measure import percentile
from bakeoff.worker.protocol import OK, Request, Result

MB = 1e6
PARTIAL_MONTH, PARTIAL_COLUMNS = 7, [KEY, "dest"]


class Mismatch(Exception):
    """The tool gave back something other than what was recorded."""


class Recorded:
    """A store with every version of a history committed: what the trial kinds work on."""

    def __init__(self, adapter: VersioningAdapter, history: History, workspace: Path, remote: Path) -> None:
        self.adapter, self.history, self.workspace, self.remote = adapter, history, workspace, remote
        self.ids: dict[str, str] = {}
        self.points: list[CommitPoint] = []
        self.open_seconds = 0.0

    def open(self) -> None:
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.remote.mkdir(parents=True, exist_ok=True)
        tick = time.perf_counter()
        self.adapter.open(workspace=self.workspace, remote=self.remote)
        self.open_seconds = time.perf_counter() - tick

    def commit(self, version: Version) -> float:
        if self.adapter.layout == "files":  # the pipeline writes the files; the tool records them
            self.history.write_files(version, self.adapter.data_folder(self.workspace))
        tick = time.perf_counter()
        self.ids[version.name] = str(self.adapter.commit(change=version.change))
        seconds = time.perf_counter() - tick
        self.points.append(CommitPoint(version.name, seconds, store_bytes(self.workspace, self.remote) / MB,
                                       self.history.raw_bytes(version.name) / MB))
        return seconds

    def commit_all(self) -> None:
        for version in self.history.versions:
            self.commit(version)

    def storage_bytes(self) -> int:
        return store_bytes(self.workspace, self.remote)


def check_checkout(layout: str, got: Checkout, expected: Version, history: History) -> int:
    """Raise Mismatch unless the checkout is exactly the version; return its row count (file
    layouts: 0, they are checked byte for byte)."""
    if layout == "files":
        if got.folder is None:
            raise Mismatch(f"{expected.name}: the tool gave back no folder")
        found = folder_hashes(got.folder)
        if found != expected.files:
            missing = sorted(set(expected.files) - set(found))
            extra = sorted(set(found) - set(expected.files))
            changed = sorted(n for n in set(found) & set(expected.files) if found[n] != expected.files[n])
            raise Mismatch(f"{expected.name} checked out wrong: missing {missing[:3]}, extra {extra[:3]}, "
                           f"different bytes {changed[:3]}")
        return 0
    if got.table is None:
        raise Mismatch(f"{expected.name}: the tool gave back no rows")
    if got.table.num_rows != expected.rows:
        raise Mismatch(f"{expected.name} read back {got.table.num_rows} rows, recorded {expected.rows}")
    if not same_rows(got.table, history.rows_of(expected.name)) and \
            canonical_hash(got.table) != history.row_hash(expected.name):
        raise Mismatch(f"{expected.name} read back {expected.rows} rows but their values differ")
    return got.table.num_rows


def same_rows(got: pa.Table, expected: pa.Table) -> bool:
    """Fast path of the row check: the rows sorted by KEY equal the recorded ones, column by
    column, at the recorded types. When it says no (a NaN stored for a null, a reordered
    column), the canonical hash decides."""
    try:
        ordered = got.select(expected.column_names).sort_by(KEY).cast(expected.schema)
    except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return ordered.combine_chunks().equals(expected.combine_chunks())


def expected_diff(history: History, old: str, new: str, layout: str) -> Diff:
    """The true change from `old` to `new`, from the history itself."""
    before, after = history.version(old).files, history.version(new).files
    if layout == "files":
        return Diff(added_files=set(after) - set(before), removed_files=set(before) - set(after),
                    changed_files={n for n in set(before) & set(after) if before[n] != after[n]})
    old_keys = set(history.rows_of(old).column(KEY).to_pylist())
    new_table = history.rows_of(new)
    new_keys = set(new_table.column(KEY).to_pylist())
    changed = set(history.corrected_keys) if new == history.versions[-1].name and old != new else set()
    return Diff(added_keys=new_keys - old_keys, removed_keys=old_keys - new_keys, changed_keys=changed & old_keys)


def check_diff(got: Diff, expected: Diff, layout: str, old: str, new: str) -> str:
    """Raise Mismatch unless the tool's diff names exactly what changed; return a summary."""
    names = ("added", "changed", "removed")
    suffix = "files" if layout == "files" else "keys"
    for name in names:
        found, wanted = getattr(got, f"{name}_{suffix}"), getattr(expected, f"{name}_{suffix}")
        if set(found) != set(wanted):
            raise Mismatch(f"diff {old}->{new}: {name} {suffix} {len(found)} reported, {len(wanted)} true "
                           f"(e.g. reported {sorted(set(found) - set(wanted))[:2]}, "
                           f"missed {sorted(set(wanted) - set(found))[:2]})")
    return ", ".join(f"{len(getattr(expected, f'{n}_{suffix}'))} {n}" for n in names)


def check_partial(history: History, table: pa.Table) -> None:
    month = history.month_tables[PARTIAL_MONTH].select(PARTIAL_COLUMNS)
    if table.column_names[:len(PARTIAL_COLUMNS)] != PARTIAL_COLUMNS and set(table.column_names) != set(PARTIAL_COLUMNS):
        raise Mismatch(f"partial read returned columns {table.column_names}, asked {PARTIAL_COLUMNS}")
    got = table.select(PARTIAL_COLUMNS).sort_by(KEY)
    if got.num_rows != month.num_rows or not got.cast(month.schema).equals(month.sort_by(KEY)):
        raise Mismatch(f"partial read of month {PARTIAL_MONTH} returned {got.num_rows} rows, "
                       f"not the {month.num_rows} recorded")


def partial_read(adapter: VersioningAdapter, history: History, version_id: str) -> tuple[float, int]:
    """(seconds, bytes read) for two columns of one month of v12."""
    names = list(history.month_names[PARTIAL_MONTH])
    before, tick = bytes_read(), time.perf_counter()
    table = adapter.read_columns(version_id=version_id, names=names, month=PARTIAL_MONTH, columns=list(PARTIAL_COLUMNS))
    seconds, read = time.perf_counter() - tick, bytes_read() - before
    check_partial(history, table)
    return seconds, read


def teammate_fetch(adapter: VersioningAdapter, request: Request, recorded: Recorded, version: str) -> float:
    """A second workspace clones the store from the remote and fetches `version`, checked.
    Runs in this process through a second adapter built from the same options."""
    from bakeoff.stages.contract import load_adapter

    teammate = load_adapter(request.adapter, VersioningAdapter, {**request.options, **adapter.share()}, check=False)
    workspace = Path(request.scratch) / "teammate"
    workspace.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    teammate.clone(workspace=workspace, remote=recorded.remote)
    got = teammate.checkout(version_id=recorded.ids[version])
    seconds = time.perf_counter() - tick
    try:
        check_checkout(adapter.layout, got, recorded.history.version(version), recorded.history)
    finally:
        teammate.close()
    return seconds


def history_settings(request: Request) -> dict:
    settings = request.settings
    return {"months": settings["months"], "scale": settings["scale"], "files_per_month": settings["files_per_month"],
            "seed": request.seed}


def history_trial(adapter: VersioningAdapter, request: Request, *, import_seconds: float) -> Result:
    settings, scratch = request.settings, Path(request.scratch)
    history = build(Path(request.data_dir), scratch / "source", **history_settings(request))
    recorded = Recorded(adapter, history, scratch / "workspace", scratch / "remote")
    facts: dict[str, object] = {"layout": adapter.layout, "versions": len(history.versions),
                                "files_in_last_version": len(history.versions[-1].files),
                                "rows_in_last_version": history.versions[-1].rows, "scale": settings["scale"]}
    recorded.open()
    commit_seconds = [recorded.commit(v) for v in history.versions]
    last = history.versions[-1].name
    metrics: dict[str, float] = {
        "commit_p50_seconds": percentile(commit_seconds, 50),
        "commit_total_seconds": sum(commit_seconds),
        "cold_start_seconds": import_seconds + recorded.open_seconds + commit_seconds[0],
    }
    stored = recorded.storage_bytes()
    raw = history.raw_bytes(last)
    metrics["storage_ratio"] = stored / raw
    growth = [b.store_mb - a.store_mb for a, b in zip(recorded.points, recorded.points[1:])]
    metrics["growth_per_commit_mb"] = percentile(growth, 50) if growth else 0.0
    facts["raw_mb"], facts["store_mb"] = raw / MB, stored / MB

    # Check three versions out in an order that differs between rounds, every one verified.
    order = [v for v in settings["checkouts"] if v in recorded.ids]
    random.Random(request.trial_id).shuffle(order)
    checkouts: list[CheckoutPoint] = []
    for name in order:
        tick = time.perf_counter()
        got = adapter.checkout(version_id=recorded.ids[name])
        seconds = time.perf_counter() - tick
        checkouts.append(CheckoutPoint(name, seconds, check_checkout(adapter.layout, got, history.version(name), history)))
    facts["checkout_order"] = " ".join(order)
    metrics["checkout_seconds"] = percentile([c.seconds for c in checkouts], 50)

    # The diffs: a wrong or partial diff is the diff_correct probe's finding (capabilities),
    # not a failed trial; its time is reported only when every diff ran and was exact.
    diff_seconds, diff_problem = [], ""
    for old, new in [pair for pair in settings["diffs"] if set(pair) <= set(recorded.ids)]:
        try:
            tick = time.perf_counter()
            got = adapter.diff(old=recorded.ids[old], new=recorded.ids[new])
            diff_seconds.append(time.perf_counter() - tick)
            facts[f"diff_{old}_{new}"] = check_diff(got, expected_diff(history, old, new, adapter.layout),
                                                    adapter.layout, old, new)
            facts["diff_how"] = got.how
        except Unsupported as why:
            diff_problem = f"unsupported {old}->{new}: {why}"
        except Mismatch as wrong:
            diff_problem = str(wrong)
    if diff_problem:
        facts["diff_problem"] = diff_problem
    elif diff_seconds:
        metrics["diff_seconds"] = sum(diff_seconds) / len(diff_seconds)

    partial_version = settings["partial_version"]
    if partial_version in recorded.ids:
        seconds, read = partial_read(adapter, history, recorded.ids[partial_version])
        metrics["partial_read_seconds"], metrics["partial_read_mb"] = seconds, read / MB

    shared = settings["share_version"]
    if shared in recorded.ids:
        try:
            metrics["share_seconds"] = teammate_fetch(adapter, request, recorded, shared)
        except Unsupported as why:
            facts["share"] = f"unsupported: {why}"
    adapter.close()
    result = Result(trial_id=request.trial_id, status=OK, metrics=metrics, facts=facts,
                    samples={"commit_seconds": commit_seconds, "checkout_seconds": [c.seconds for c in checkouts]})
    result.put(Timeline(layout=adapter.layout, commits=recorded.points, checkouts=checkouts))
    return result
