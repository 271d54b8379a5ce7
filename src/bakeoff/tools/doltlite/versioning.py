"""Dolt's version control through doltlite: libdoltlite (a SQLite fork on Dolt's prolly-tree
chunk store) behind Python's own sqlite3 module. Each workspace is a doltlite database; the
remote is a doltlite database reached as a file:// remote. A month goes in as one SQL
transaction, then dolt_commit and dolt_push; a teammate dolt_clones the remote."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bakeoff.stages.versioning.contract import KEY, Change, Checkout, Diff, VersioningAdapter

TABLE = "flights"
DATABASE = "flights.db"
BRANCH = "main"
# Arrow type names -> SQLite declared types, and back (the declared type is what a clone knows).
TO_SQL = {"int64": "INTEGER", "double": "REAL", "string": "TEXT", "large_string": "TEXT"}
FROM_SQL = {"INTEGER": "int64", "REAL": "float64", "TEXT": "string"}


def _sqlite3():
    """Python's sqlite3 with libdoltlite as its engine: `import doltlite` must come before
    sqlite3 is first imported (on Linux it loads libdoltlite RTLD_GLOBAL in process).

    doltlite 0.51.3 records its bootstrap in the environment (_DOLTLITE_BOOTSTRAPPED=1) and
    skips it when it finds the marker; a child process (the probes' writers, the offline run)
    inherits the marker without the library, and its sqlite3 would be the system SQLite. The
    marker is dropped before a first import in this process, so every process loads the engine."""
    if "doltlite" not in sys.modules:
        if "_sqlite3" in sys.modules:  # doltlite would re-exec the interpreter: refuse instead
            raise RuntimeError("sqlite3 was imported before doltlite; libdoltlite cannot become its engine")
        os.environ.pop("_DOLTLITE_BOOTSTRAPPED", None)
    import doltlite  # noqa: F401  (side effect: libdoltlite becomes sqlite3's engine)
    import sqlite3

    return sqlite3


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DoltliteVersioning(VersioningAdapter):
    layout = "table"

    # --- the store --------------------------------------------------------------------

    def _connect(self, workspace: Path, remote: Path) -> None:
        sqlite3 = _sqlite3()
        self.path, self.remote_url = workspace / DATABASE, f"file://{remote / DATABASE}"
        # Autocommit mode: the adapter opens its own transactions (BEGIN ... COMMIT around a
        # month's rows, as doltlite's docs advise for bulk inserts) and every dolt_* call runs
        # on its own, as dolt_commit ends any SQL transaction anyway.
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:  # a Python whose _sqlite3 links SQLite statically (python-build-standalone) keeps stock SQLite
            engine = self.db.execute("SELECT doltlite_engine()").fetchone()[0]
        except sqlite3.OperationalError as exc:
            engine = f"SQLite {sqlite3.sqlite_version} ({exc})"
        if engine != "prolly":
            raise RuntimeError(f"sqlite3 runs on {engine}, not libdoltlite's prolly-tree engine")
        self._call("dolt_config", "user.name", "bakeoff")
        self._call("dolt_config", "user.email", "bakeoff@localhost")

    def open(self, *, workspace: Path, remote: Path) -> None:
        self._connect(workspace, remote)
        self._call("dolt_remote", "add", "origin", self.remote_url)  # the remote file appears on the first push

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self._connect(workspace, remote)
        self._call("dolt_clone", self.remote_url)  # into this empty database; origin is recorded

    def _call(self, function: str, *args: str):
        """One doltlite version-control function, `SELECT dolt_x(?, ...)`; its scalar result."""
        marks = ", ".join("?" * len(args))
        return self.db.execute(f"SELECT {function}({marks})", args).fetchone()[0]

    def _push(self, ref: str = BRANCH) -> None:
        """Push; when a teammate's push got there first, pull (fetch + merge) and push again,
        Dolt's Git-like rule for a branch that moved on the remote. doltlite refuses such a push
        as "not a fast-forward of the remote branch" (the teammate's commit had landed) or as
        "push failed (remote refs changed)" (SQLITE_BUSY: it lost the race to update the
        remote's refs, which its concurrency docs make a retryable outcome)."""
        for attempt in range(3):
            try:
                self._call("dolt_push", "origin", ref)
                return
            except Exception as rejected:
                if attempt == 2 or not any(m in str(rejected) for m in ("fast-forward", "remote refs changed")):
                    raise
            self._call("dolt_pull", "origin", BRANCH)

    def _head(self) -> str:
        return self._call("dolt_hashof", "HEAD")

    # --- versions ---------------------------------------------------------------------

    def commit(self, *, change: Change) -> str:
        rows = change.appended if change.appended is not None else change.updated
        names = rows.column_names
        values = list(zip(*(rows.column(n).to_pylist() for n in names)))  # one tuple per row
        self.db.execute("BEGIN")
        try:
            if change.appended is not None:
                exists = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                                         (TABLE,)).fetchone()[0]
                if not exists:
                    declared = ", ".join(f"{_quote(n)} {TO_SQL[str(rows.schema.field(n).type)]}"
                                         + (" PRIMARY KEY" if n == KEY else "") for n in names)
                    self.db.execute(f"CREATE TABLE {TABLE} ({declared})")
                marks = ", ".join("?" * len(names))
                self.db.executemany(f"INSERT INTO {TABLE} ({', '.join(map(_quote, names))}) VALUES ({marks})",
                                    values)
            else:  # the correction replaces the rows with the same key
                others = [n for n in names if n != KEY]
                settings = ", ".join(f"{_quote(n)} = ?" for n in others)
                at = names.index(KEY)
                self.db.executemany(f"UPDATE {TABLE} SET {settings} WHERE {KEY} = ?",
                                    [(*(v for i, v in enumerate(row) if i != at), row[at]) for row in values])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._call("dolt_commit", "-A", "-m", change.message)
        self._push()
        return self._head()

    def _rows(self, version_id: str, sql: str, args: tuple):
        """The rows of a query on the version, as a pyarrow Table typed by the declared columns."""
        from operator import itemgetter

        import pyarrow as pa

        snapshot = self._at(version_id)
        try:
            types = {row[1]: FROM_SQL[row[2].upper()] for row in snapshot.execute(f"PRAGMA table_info({TABLE})")}
            cursor = snapshot.execute(sql, args)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        finally:
            snapshot.close()
        return pa.table({n: pa.array(list(map(itemgetter(i), rows)), type=pa.type_for_alias(types[n]))
                         for i, n in enumerate(names)})

    def _at(self, version_id: str):
        """A read-only connection to the database as of a commit: doltlite opens a revision
        given after the file's path (`flights.db/<hash>`) as a detached snapshot, its docs' way
        to read a commit without a branch (Dolt's `AS OF`; doltlite has no AS OF syntax)."""
        return _sqlite3().connect(f"{self.path}/{version_id}", isolation_level=None)

    def checkout(self, *, version_id: str) -> Checkout:
        return Checkout(table=self._rows(version_id, f"SELECT * FROM {TABLE}", ()))

    def diff(self, *, old: str, new: str) -> Diff:
        changes = self.db.execute(f"SELECT diff_type, to_{KEY}, from_{KEY} FROM dolt_diff_{TABLE}(?, ?)",
                                  (old, new)).fetchall()

        def of(kind: str) -> set[int]:
            return {to if kind != "removed" else before for what, to, before in changes if what == kind}

        return Diff.from_rows(inserted=of("added"), deleted=of("removed"), updated=of("modified"),
                              how=f"dolt_diff_{TABLE}(from, to): diff_type added / modified / removed per key")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        return self._rows(version_id, f"SELECT {', '.join(map(_quote, columns))} FROM {TABLE} WHERE month = ?",
                          (int(month),))

    def tag(self, *, version_id: str, name: str) -> None:
        self._call("dolt_tag", name, version_id)
        self._push(name)  # a tag reaches the teammate only when pushed, as in Git

    def resolve_tag(self, *, name: str) -> str:
        found = self.db.execute("SELECT tag_hash FROM dolt_tags WHERE tag_name = ?", (name,)).fetchone()
        if found is None:
            raise LookupError(f"no tag {name}")
        return found[0]

    def restore(self, *, version_id: str) -> str:
        # Dolt's `checkout <commit> -- <table>`: the table as of the commit into the working
        # set, then a new commit on top, so v6..v13 stay in the history.
        self._call("dolt_checkout", version_id, "--", TABLE)
        self._call("dolt_commit", "-A", "-m", f"restore {version_id}")
        self._push()
        return self._head()

    def gc(self, *, keep: list[str]) -> None:
        # dolt_gc keeps every chunk a branch, tag, commit or working set reaches: Dolt never
        # drops a commit of a branch's history, so `keep` (v6 and the current version) is kept
        # with all others; what it reclaims is the unreachable chunks older writes left behind.
        self._call("dolt_gc")

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        # Every version of every row lives in one content-addressed chunk-store file: the
        # workspace database is the file holding month 2 of any version (among everything else).
        return self.path

    def verify(self) -> str:
        # PRAGMA integrity_check: SQLite's row and index checks, then a walk of the chunk graph
        # of every branch, tag and working set; missing or corrupt chunks are errors.
        report = [row[0] for row in self.db.execute("PRAGMA integrity_check").fetchall()]
        return "" if report == ["ok"] else "; ".join(map(str, report))[:400]

    def close(self) -> None:
        if hasattr(self, "db"):
            self.db.close()
