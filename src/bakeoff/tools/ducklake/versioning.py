"""DuckLake: DuckDB with the ducklake extension, its catalog in SQLite and its Parquet data
files in the remote folder; one INSERT per month, the correction as an UPDATE on flight_id, the
table's change feed for diffs. Extensions load from their PyPI wheels; autoinstall is off."""

from __future__ import annotations

from pathlib import Path

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.versioning.contract import KEY, Change, Checkout, Diff, VersioningAdapter

TABLE = "lake.flights"


def extension(package: str, name: str) -> Path:
    """The extension file a duckdb-extension-* wheel ships, for an explicit LOAD."""
    import importlib

    folder = Path(importlib.import_module(package).__file__).parent
    return next(folder.glob(f"extensions/*/{name}.duckdb_extension"))


class DuckLakeVersioning(VersioningAdapter):
    layout = "table"

    def open(self, *, workspace: Path, remote: Path) -> None:
        import duckdb

        # Nothing is fetched at run time: no automatic install or load of known extensions.
        self.db = duckdb.connect(config={"autoinstall_known_extensions": False,
                                         "autoload_known_extensions": False})
        self.db.execute(f"LOAD '{extension('duckdb_extension_sqlite_scanner', 'sqlite_scanner')}'")
        self.db.execute(f"LOAD '{extension('duckdb_extension_ducklake', 'ducklake')}'")
        (remote / "data").mkdir(parents=True, exist_ok=True)
        self.data_path = remote / "data"
        self.db.execute(f"ATTACH 'ducklake:sqlite:{remote / 'catalog.sqlite'}' AS lake "
                        f"(DATA_PATH '{self.data_path}/')")

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self.open(workspace=workspace, remote=remote)  # a teammate attaches the same catalog

    def _snapshot(self) -> str:
        return str(self.db.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])

    def commit(self, *, change: Change) -> str:
        rows = change.appended if change.appended is not None else change.updated
        self.db.register("incoming", rows)
        if change.appended is not None:
            exists = self.db.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' "
                                     "AND table_name = 'flights'").fetchone()[0]
            if exists:
                self.db.execute(f"INSERT INTO {TABLE} SELECT * FROM incoming")
            else:
                self.db.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM incoming")
        else:
            others = [c for c in rows.column_names if c != KEY]
            assignments = ", ".join(f"{c} = incoming.{c}" for c in others)
            self.db.execute(f"UPDATE {TABLE} SET {assignments} FROM incoming WHERE flights.{KEY} = incoming.{KEY}")
        self.db.unregister("incoming")
        return self._snapshot()

    def checkout(self, *, version_id: str) -> Checkout:
        return Checkout(table=self.db.execute(f"SELECT * FROM {TABLE} AT (VERSION => {int(version_id)})").arrow().read_all())

    def diff(self, *, old: str, new: str) -> Diff:
        # In commit order. The ORDER BY is also a workaround (tool.toml): streaming the change
        # feed unordered to Python hung at full size (108,080 rows and more) in duckdb 1.5.5.
        changes = self.db.execute(f"SELECT change_type, {KEY} FROM ducklake_table_changes('lake', 'main', 'flights', "
                                  f"{int(old) + 1}, {int(new)}) ORDER BY snapshot_id, {KEY}").fetchall()

        def of(*kinds: str) -> set[int]:
            return {key for kind, key in changes if kind in kinds}

        return Diff.from_rows(inserted=of("insert"), deleted=of("delete"), updated=of("update_postimage"),
                              how="ducklake_table_changes(catalog, schema, table, start, end)")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        return self.db.execute(f"SELECT {', '.join(columns)} FROM {TABLE} AT (VERSION => {int(version_id)}) "
                               f"WHERE month = {int(month)}").arrow().read_all()

    def tag(self, *, version_id: str, name: str) -> None:
        raise Unsupported("DuckLake snapshots have ids, times and commit messages, but no named tags")

    def gc(self, *, keep: list[str]) -> None:
        # Expire every snapshot not kept, then delete the files only they used (DuckLake docs:
        # "Maintenance": ducklake_expire_snapshots, ducklake_cleanup_old_files).
        ids = [row[0] for row in self.db.execute("SELECT snapshot_id FROM lake.snapshots()").fetchall()]
        current = int(self._snapshot())
        expire = [i for i in ids if str(i) not in keep and i != current]
        if expire:
            self.db.execute(f"CALL ducklake_expire_snapshots('lake', versions => {expire})")
        self.db.execute("CALL ducklake_cleanup_old_files('lake', cleanup_all => true)")

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        files = [row[0] for row in self.db.execute(
            f"SELECT data_file FROM ducklake_list_files('lake', 'flights', snapshot_version => {int(version_id)})")
            .fetchall()]
        for path in files:
            low = self.db.execute(f"SELECT min(month) FROM read_parquet('{path}')").fetchone()[0]
            if low == month:
                return Path(path)
        raise LookupError(f"no data file holds month {month}")

    def close(self) -> None:
        if hasattr(self, "db"):
            self.db.close()
