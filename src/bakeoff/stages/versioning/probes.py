"""Capability probes: run once per tool on a store holding v1..v13. A capability counts only if
a probe exercised it here; every outcome carries its evidence. Worker side: base set only.

Order matters, because some probes change the store: the read-only probes first, then
restore (adds a version), then garbage collection (drops versions), then the corruption probe
(damages an object) last. The concurrent writers and the offline run use stores of their own.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.data.batches import FEATURES, LABEL, reference_pipeline
from bakeoff.stages.contract import Unsupported, run_probe
from bakeoff.stages.versioning.contract import KEY, Checkout, VersioningAdapter
from bakeoff.stages.versioning.history import History, build
from bakeoff.stages.versioning.workload import (Mismatch, Recorded, check_checkout, check_diff, expected_diff,
                                                history_settings, teammate_fetch)
from bakeoff.worker.measure import timed_step
from bakeoff.worker.processes import ProcessTree
from bakeoff.worker.protocol import FAIL, OK, PASS, Request, Result

Outcome = tuple[str, str]


def rows_of(layout: str, got: Checkout) -> pa.Table:
    """The rows of a checkout, in KEY order, as a training script would load them."""
    if layout == "files":
        files = sorted(p for p in got.folder.rglob("*.parquet") if not p.name.startswith("."))
        table = pa.concat_tables([pq.read_table(p) for p in files])
    else:
        table = got.table
    return table.sort_by(KEY)


class Probes:
    def __init__(self, adapter: VersioningAdapter, request: Request, recorded: Recorded) -> None:
        self.adapter, self.request, self.recorded = adapter, request, recorded
        self.history: History = recorded.history
        self.settings, self.scratch = request.settings, Path(request.scratch)
        self.tagged = ""  # the tag name given to v6 when it was committed
        self.tag_error = ""  # why it could not be tagged
        self.current = ""  # the version restore made current

    @property
    def ids(self) -> dict[str, str]:
        return self.recorded.ids

    def _check(self, name: str, version_id: str | None = None) -> None:
        got = self.adapter.checkout(version_id=version_id or self.ids[name])
        check_checkout(self.adapter.layout, got, self.history.version(name), self.history)

    def exact_readback(self) -> Outcome:
        order = [*self.settings["checkouts"], self.history.versions[-1].name]
        random.Random(self.request.seed).shuffle(order)
        try:
            for name in order:
                self._check(name)
        except Mismatch as wrong:
            return FAIL, str(wrong)
        how = "SHA-256 of every file" if self.adapter.layout == "files" else "every row (sorted by key)"
        return PASS, f"{', '.join(order)} checked out in this order, {how} identical"

    def diff_correct(self) -> Outcome:
        found = []
        for old, new in self.settings["diffs"]:
            got = self.adapter.diff(old=self.ids[old], new=self.ids[new])
            try:
                summary = check_diff(got, expected_diff(self.history, old, new, self.adapter.layout),
                                     self.adapter.layout, old, new)
            except Mismatch as wrong:
                return FAIL, f"{wrong} ({got.how})"
            found.append(f"{old}->{new}: {summary}")
        return PASS, f"exact through {got.how}: " + "; ".join(found)

    def tag_resolve(self) -> Outcome:
        if not self.tagged:
            raise Unsupported(self.tag_error or "no tags")
        resolved = self.adapter.resolve_tag(name=self.tagged)
        if resolved != self.ids["v6"]:
            return FAIL, f"tag {self.tagged} resolves to {resolved}, v6 was {self.ids['v6']}"
        self._check("v6", resolved)
        return PASS, f"tag '{self.tagged}' made at v6, then 7 more commits; it resolves to v6 and reads back exactly"

    def reproduce_model(self) -> Outcome:
        """Train on v6 as the tool gives it back and on the original v6; predictions must match
        bit for bit (same rows in the same order give the same model)."""
        got = rows_of(self.adapter.layout, self.adapter.checkout(version_id=self.ids["v6"]))
        original = self.history.rows_of("v6").sort_by(KEY)
        evaluate = self.history.month_tables[12].slice(0, 2000).to_pandas()[FEATURES]
        predictions = [self._fit(table).predict_proba(evaluate)[:, 1] for table in (got, original)]
        if np.array_equal(predictions[0], predictions[1]):
            return PASS, (f"model trained on {got.num_rows // self.settings['reproduce_stride']:,} rows of v6 as "
                          f"checked out predicts 2,000 December rows bit-identically to the one trained on the original")
        worst = float(np.max(np.abs(predictions[0] - predictions[1])))
        return FAIL, f"predictions differ by up to {worst:.3g}"

    def _fit(self, table: pa.Table):
        from threadpoolctl import threadpool_limits

        frame = table.to_pandas().iloc[::self.settings["reproduce_stride"]]
        model = reference_pipeline(max_iter=self.settings["reproduce_iterations"])
        # One thread: OpenMP threads spin against the probes' child processes on two cores.
        with threadpool_limits(1):
            return model.fit(frame[FEATURES], frame[LABEL])

    def share_with_teammate(self) -> Outcome:
        seconds = teammate_fetch(self.adapter, self.request, self.recorded, "v6")
        return PASS, f"a second workspace cloned from the remote and got v6 exactly in {seconds:.2f} s"

    def restore(self) -> Outcome:
        new_id = self.adapter.restore(version_id=self.ids["v5"])
        self._check("v5", new_id)
        self._check("v13")  # the later versions are still there
        self.current = new_id
        return PASS, f"v5 made current as a new version ({new_id[:12]}); v13 still reads back exactly"

    def gc_keeps_tagged(self) -> Outcome:
        keep = [self.ids["v6"], self.current or self.ids["v13"]]
        before = self.recorded.storage_bytes()
        self.adapter.gc(keep=keep)
        after = self.recorded.storage_bytes()
        kept = f"tagged v6 ('{self.tagged}')" if self.tagged else "v6 (kept by id: the tool has no tags)"
        try:
            self._check("v6")
        except Exception as exc:
            return FAIL, f"after gc ({before / 1e6:.2f} -> {after / 1e6:.2f} MB) the {kept} no longer reads: " \
                         f"{type(exc).__name__}: {str(exc)[:200]}"
        if after >= before:
            return FAIL, f"gc reclaimed nothing ({before / 1e6:.2f} MB before and after); {kept} still reads"
        return PASS, f"gc reclaimed {(before - after) / 1e6:.2f} MB of {before / 1e6:.2f} MB; {kept} reads back exactly"

    def corruption_detected(self) -> Outcome:
        """Flip one byte of the stored object holding month 2 of the current version (the
        restored v5, or v13), which reads back exactly first; then ask the tool."""
        name, version_id = ("v5", self.current) if self.current else ("v13", self.ids["v13"])
        self._check(name, version_id)
        clean = self._verify()[0]
        if clean:
            return FAIL, f"the integrity check reported damage before any was done: {clean[:200]}"
        stored = self.adapter.stored_object(version_id=version_id, name=self.history.month_names[2][0], month=2)
        data = bytearray(stored.read_bytes())
        offset = len(data) // 2
        data[offset] ^= 0xFF
        stored.chmod(0o644)  # caches keep objects read-only; the damage is the disk's, not a write through the tool
        stored.write_bytes(bytes(data))
        where = stored.relative_to(self.scratch) if stored.is_relative_to(self.scratch) else stored
        report, check = self._verify()
        if report:
            return PASS, f"byte {offset} of {where} flipped; {check} reported it: {report[:200]}"
        try:
            self._check(name, version_id)
        except Mismatch as wrong:
            return FAIL, f"byte {offset} of {where} flipped; {check} found nothing and {name} read back wrong " \
                         f"silently: {str(wrong)[:160]}"
        except Exception as exc:
            return PASS, f"byte {offset} of {where} flipped; reading {name} raised {type(exc).__name__}: {str(exc)[:160]}"
        return FAIL, (f"byte {offset} of {where} flipped; {check} found nothing and {name} still reads right, "
                      "so the damaged object stays in the store unnoticed")

    def _verify(self) -> tuple[str, str]:
        """(what the tool's integrity check reported, how to name the check)."""
        try:
            return self.adapter.verify(), "the tool's integrity check"
        except Unsupported as why:
            return "", str(why) if str(why).startswith("no integrity check") else f"no integrity check ({why})"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}", "the tool's integrity check"

    # --- probes with processes of their own ---------------------------------------------

    def _job(self, name: str, **job) -> dict:
        path = self.scratch / f"child-{name}.json"
        job = {"adapter": self.request.adapter, "options": {**self.request.options, **self.adapter.share()},
               "path": str(path), **job}
        path.write_text(json.dumps(job))
        return job

    def start_offline(self) -> Callable[[], Outcome]:
        """Start the offline child (a small history of its own with the network cut) and return
        the check that waits for it; it runs alongside the read-only probes."""
        months = 3
        job = self._job("offline", mode="offline", scratch=str(self.scratch / "offline"), months=months,
                        data_dir=self.request.data_dir, seed=self.request.seed)
        wrap = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
        try:
            tree = ProcessTree([*wrap, sys.executable, "-m", "bakeoff.stages.versioning.child", job["path"]],
                               cwd=self.scratch, log=Path(job["path"] + ".log"))
        except OSError as exc:
            return lambda: (FAIL, f"could not start the child: {exc}")

        def offline() -> Outcome:
            with tree:
                output = wait_for(tree, job, timeout=240)
            if output["problems"]:
                return FAIL, f"with no network: {output['problems'][0]}"
            return PASS, (f"{output['versions']} versions committed and each checked out exactly in a network "
                          "namespace with only loopback")

        return offline

    def concurrent_writers(self) -> Outcome:
        """A store with month 1; two teammates' processes commit months 2 and 3 at once."""
        folder = self.scratch / "concurrent"
        history = build(Path(self.request.data_dir), folder / "source",
                        **{**history_settings(self.request), "months": 3})
        base = Recorded(self.adapter.__class__(**self.request.options), history, folder / "workspace",
                        folder / "remote")
        base.open()
        base.commit(history.versions[0])
        go = folder / "go"
        jobs = [self._job(f"writer{m}", mode="write", workspace=str(folder / f"writer{m}"), remote=str(base.remote),
                          go=str(go), version=f"v{m}", message=f"add month {m:02d}",
                          files={n: str(history.source / f"v{m}" / n) for n in history.month_names[m]})
                for m in (2, 3)]
        trees = [ProcessTree([sys.executable, "-m", "bakeoff.stages.versioning.child", job["path"]], cwd=self.scratch,
                             log=Path(job["path"] + ".log")) for job in jobs]
        try:
            deadline = time.monotonic() + 120
            while not all(Path(j["path"] + ".ready").exists() for j in jobs) and time.monotonic() < deadline:
                if any(not t.running() for t in trees):
                    break
                time.sleep(0.01)
            go.write_text("go")
            outputs = [wait_for(tree, job, timeout=180) for tree, job in zip(trees, jobs)]
        finally:
            for tree in trees:
                tree.stop(limit=5)
            base.adapter.close()
        errors = [f"writer of month {m}: {o['error']}" for m, o in zip((2, 3), outputs) if o["error"]]
        # Every row of months 1..3 must be in one version a teammate can check out.
        expected = history.version("v3")
        reader = self.adapter.__class__(**{**self.request.options, **self.adapter.share()})
        reader_workspace = folder / "reader"
        reader_workspace.mkdir()
        reader.clone(workspace=reader_workspace, remote=base.remote)
        found = []
        try:
            for output in outputs:
                if not output["version_id"]:
                    continue
                try:
                    check_checkout(self.adapter.layout, reader.checkout(version_id=output["version_id"]),
                                   expected, history)
                    found.append(output["version_id"])
                except Mismatch as wrong:
                    errors.append(f"version {output['version_id'][:12]}: {wrong}")
        finally:
            reader.close()
        if found:
            return PASS, f"two processes committed months 2 and 3 at once; version {found[-1][:12]} holds months 1-3 exactly"
        return FAIL, "two processes committed months 2 and 3 at once and no version holds both: " + "; ".join(errors)[:500]


def wait_for(tree: ProcessTree, job: dict, *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while tree.running() and time.monotonic() < deadline:
        time.sleep(0.02)
    if tree.running():
        raise RuntimeError(f"child {Path(job['path']).name} did not finish in {timeout:.0f} s")
    out = Path(job["path"] + ".out")
    if not out.exists():
        tail = tree.log_tail(400).strip().splitlines()[-1:]
        raise RuntimeError(f"child exited {tree.process.returncode}: {tail[0] if tail else 'no output'}")
    return json.loads(out.read_text())


def record_history(adapter: VersioningAdapter, request: Request, probes_tag: Callable[[str], None]) -> Recorded:
    scratch = Path(request.scratch)
    history = build(Path(request.data_dir), scratch / "source", **history_settings(request))
    recorded = Recorded(adapter, history, scratch / "workspace", scratch / "remote")
    recorded.open()
    for version in history.versions:
        recorded.commit(version)
        if version.name == request.settings["tag_version"]:
            probes_tag(recorded.ids[version.name])
    return recorded


def capabilities_trial(adapter: VersioningAdapter, request: Request, *, import_seconds: float) -> Result:
    result = Result(trial_id=request.trial_id, status=OK, facts={"layout": adapter.layout})
    tag_state = {"name": "", "error": ""}

    def tag(version_id: str) -> None:  # tagged when v6 is committed, resolved after v13
        try:
            adapter.tag(version_id=version_id, name="v6-trained")
            tag_state["name"] = "v6-trained"
        except Unsupported as why:
            tag_state["error"] = str(why)

    with timed_step("record"):
        recorded = record_history(adapter, request, tag)
    probes = Probes(adapter, request, recorded)
    probes.tagged, probes.tag_error = tag_state["name"], tag_state["error"]
    offline = probes.start_offline()
    for name in ("exact_readback", "diff_correct", "tag_resolve", "reproduce_model", "share_with_teammate"):
        with timed_step(name):
            result.probes[name] = run_probe(getattr(probes, name))
    with timed_step("offline (joined)"):
        result.probes["offline"] = run_probe(offline)
    for name in ("concurrent_writers", "restore", "gc_keeps_tagged", "corruption_detected"):
        with timed_step(name):
            result.probes[name] = run_probe(getattr(probes, name))
    adapter.close()
    return result


def smoke(adapter: VersioningAdapter, request: Request) -> str:
    """One cheap real round trip for `bakeoff check`: a store with one month, checked out."""
    scratch = Path(request.scratch)
    history = build(Path(request.data_dir), scratch / "smoke-source", months=1, correction=False, seed=request.seed)
    recorded = Recorded(adapter, history, scratch / "smoke-workspace", scratch / "smoke-remote")
    recorded.open()
    recorded.commit(history.versions[0])
    check_checkout(adapter.layout, adapter.checkout(version_id=recorded.ids["v1"]), history.versions[0], history)
    adapter.close()
    return f"committed and checked out v1 ({history.versions[0].rows:,} rows) exactly"
