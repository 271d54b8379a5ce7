"""The results database: SQLite, schema-versioned, raw samples kept, one transaction per trial.

Every trial is written whole or not at all, so an interrupted run can be resumed from exactly
the trials that finished. One database holds every run made under an output folder.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.host.registry import ConfigError

SCHEMA_VERSION = 2  # 2: trials.figures (typed figure data)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, created TEXT NOT NULL, command TEXT NOT NULL, settings TEXT NOT NULL,
  host TEXT NOT NULL, data TEXT NOT NULL, status TEXT NOT NULL, wall_seconds REAL DEFAULT 0,
  phases TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS envs (
  run_id TEXT NOT NULL, tool TEXT NOT NULL, status TEXT NOT NULL, info TEXT NOT NULL, error TEXT NOT NULL,
  PRIMARY KEY (run_id, tool));
CREATE TABLE IF NOT EXISTS trials (
  run_id TEXT NOT NULL, trial_id TEXT NOT NULL, stage TEXT NOT NULL, entry TEXT NOT NULL,
  kind TEXT NOT NULL, round INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
  seconds REAL NOT NULL, log TEXT NOT NULL, facts TEXT NOT NULL, figures TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, trial_id));
CREATE TABLE IF NOT EXISTS samples (
  run_id TEXT NOT NULL, trial_id TEXT NOT NULL, metric TEXT NOT NULL, idx INTEGER NOT NULL,
  value REAL NOT NULL);  -- idx -1: the trial's figure for the metric; 0..n: raw in-trial samples
CREATE TABLE IF NOT EXISTS probes (
  run_id TEXT NOT NULL, trial_id TEXT NOT NULL, probe TEXT NOT NULL, status TEXT NOT NULL,
  evidence TEXT NOT NULL);
"""
# Each step brings a database of the version before it to the next, inside one transaction.
MIGRATIONS = {1: ["ALTER TABLE trials ADD COLUMN figures TEXT NOT NULL DEFAULT '{}'"]}


# A fact the host adds to a trial's record: when its worker exited (epoch seconds). With the
# worker's own `worker_seconds` it gives the worker's span, for the overhead figure.
WORKER_ENDED = "worker_ended_at"


@dataclass
class TrialRecord:
    trial_id: str
    stage: str
    entry: str
    kind: str
    round: int
    status: str
    reason: str = ""
    seconds: float = 0.0
    log: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    probes: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)


class Store:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.row_factory = sqlite3.Row
            self._open(path)
        except sqlite3.DatabaseError as exc:  # not a database, or one we cannot write: left untouched
            if "full" in str(exc):
                raise ConfigError(f"{path}: the disk is full ({exc}); fix: free space there (`df -h`) or pass "
                                  "--out on another disk") from None
            raise ConfigError(f"{path}: not a usable results database ({exc}); fix: pass another --out folder "
                              "or move the file away") from None
        except OSError as exc:
            raise ConfigError(f"cannot use {path.parent} for results ({exc.strerror or exc}); fix: pass a "
                              "writable --out folder") from None

    def _open(self, path: Path) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            found = int(self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise ConfigError(f"{path} has results schema {found}, newer than this bakeoff reads "
                                  f"({SCHEMA_VERSION}); fix: upgrade bakeoff or use another --out folder")
            with self.db:
                for version in range(found, SCHEMA_VERSION):
                    for statement in MIGRATIONS[version]:
                        self.db.execute(statement)
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
        with self.db:
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    def create_run(self, run_id: str, *, created: str, command: str, settings: dict, host: dict, data: dict) -> None:
        with self.db:
            self.db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,0,'{}')",
                            (run_id, created, command, json.dumps(settings), json.dumps(host), json.dumps(data), "running"))

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            known = [r[0] for r in self.db.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 3")]
            raise ConfigError(f"no run {run_id!r} in this results store; recent runs: {', '.join(known) or 'none'}")
        run = dict(row)
        for key in ("settings", "host", "data", "phases"):
            run[key] = json.loads(run[key])
        return run

    def finish_run(self, run_id: str, status: str, phases: dict[str, float]) -> None:
        """Close a session of the run; phase seconds add up across resumed sessions."""
        with self.db:
            old = self.run(run_id)["phases"]
            merged = {k: old.get(k, 0.0) + phases.get(k, 0.0) for k in {*old, *phases}}
            self.db.execute("UPDATE runs SET status=?, wall_seconds=?, phases=? WHERE run_id=?",
                            (status, sum(merged.values()), json.dumps(merged), run_id))

    def record_env(self, run_id: str, tool: str, status: str, info: dict, error: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO envs VALUES (?,?,?,?,?)", (run_id, tool, status, json.dumps(info), error))

    def envs(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM envs WHERE run_id=?", (run_id,))
        return {r["tool"]: {"status": r["status"], "info": json.loads(r["info"]), "error": r["error"]} for r in rows}

    def record_trial(self, run_id: str, trial: TrialRecord) -> None:
        """Write the trial with all its figures in one transaction (replacing an earlier attempt)."""
        with self.db:
            for table in ("trials", "samples", "probes"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id=? AND trial_id=?", (run_id, trial.trial_id))
            self.db.execute("INSERT INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (run_id, trial.trial_id, trial.stage, trial.entry, trial.kind, trial.round, trial.status,
                             trial.reason, trial.seconds, trial.log, json.dumps(trial.facts), json.dumps(trial.figures)))
            rows = [(run_id, trial.trial_id, m, -1, v) for m, v in trial.metrics.items()]
            rows += [(run_id, trial.trial_id, m, i, v) for m, vs in trial.samples.items() for i, v in enumerate(vs)]
            self.db.executemany("INSERT INTO samples VALUES (?,?,?,?,?)", rows)
            self.db.executemany("INSERT INTO probes VALUES (?,?,?,?,?)",
                                [(run_id, trial.trial_id, p, o["status"], o["evidence"]) for p, o in trial.probes.items()])

    def typical_seconds(self, quick: bool) -> dict[tuple[str, str, str], float]:
        """Median seconds of earlier ok trials per (stage, entry, kind), in the newest run of the
        same size (quick or full) in this database that has them: what a new run's estimate rests
        on. The newest, not all: an older run ran older code, or on a busier machine."""
        rows = self.db.execute(
            "SELECT t.stage, t.entry, t.kind, t.seconds, r.settings, r.run_id FROM trials t "
            "JOIN runs r USING (run_id) WHERE t.status = 'ok' ORDER BY r.created, r.run_id")
        found: dict[tuple[str, str, str], tuple[str, list[float]]] = {}
        for stage, entry, kind, seconds, settings, run_id in rows:
            if bool(json.loads(settings).get("quick")) != quick:
                continue
            key = (stage, entry, kind)
            if key not in found or found[key][0] != run_id:  # a newer run replaces the older's figures
                found[key] = (run_id, [])
            found[key][1].append(seconds)
        return {key: sorted(v)[len(v) // 2] for key, (_, v) in found.items()}

    def finished_trials(self, run_id: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT trial_id FROM trials WHERE run_id=?", (run_id,))}

    def trials(self, run_id: str) -> list[TrialRecord]:
        records = {}
        for r in self.db.execute("SELECT * FROM trials WHERE run_id=? ORDER BY rowid", (run_id,)):
            records[r["trial_id"]] = TrialRecord(
                trial_id=r["trial_id"], stage=r["stage"], entry=r["entry"], kind=r["kind"], round=r["round"],
                status=r["status"], reason=r["reason"], seconds=r["seconds"], log=r["log"], facts=json.loads(r["facts"]),
                figures=json.loads(r["figures"]))
        for r in self.db.execute("SELECT * FROM samples WHERE run_id=? ORDER BY idx", (run_id,)):
            record = records[r["trial_id"]]
            if r["idx"] < 0:
                record.metrics[r["metric"]] = r["value"]
            else:
                record.samples.setdefault(r["metric"], []).append(r["value"])
        for r in self.db.execute("SELECT * FROM probes WHERE run_id=?", (run_id,)):
            records[r["trial_id"]].probes[r["probe"]] = {"status": r["status"], "evidence": r["evidence"]}
        return list(records.values())

    def latest_run(self) -> str | None:
        row = self.db.execute("SELECT run_id FROM runs ORDER BY created DESC, rowid DESC LIMIT 1").fetchone()
        return row[0] if row else None
