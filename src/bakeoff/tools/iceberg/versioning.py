"""Apache Iceberg (pyiceberg): a SqlCatalog on SQLite and a file warehouse, both in the remote
folder; one append per month, the correction as an upsert on flight_id, tags as snapshot refs."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.versioning.contract import KEY, Change, Checkout, Diff, VersioningAdapter

TABLE = "bakeoff.flights"


class IcebergVersioning(VersioningAdapter):
    layout = "table"

    def open(self, *, workspace: Path, remote: Path) -> None:
        from pyiceberg.catalog.sql import SqlCatalog

        (remote / "warehouse").mkdir(parents=True, exist_ok=True)
        self.catalog = SqlCatalog("bakeoff", uri=f"sqlite:///{remote / 'catalog.db'}",
                                  warehouse=f"file://{remote / 'warehouse'}")
        self.catalog.create_namespace_if_not_exists("bakeoff")

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self.open(workspace=workspace, remote=remote)  # a teammate points a catalog at the same database

    def _table(self):
        return self.catalog.load_table(TABLE)

    def commit(self, *, change: Change) -> str:
        if change.appended is not None:
            if not self.catalog.table_exists(TABLE):
                self.catalog.create_table(TABLE, schema=change.appended.schema)
            self._table().append(change.appended)
        if change.updated is not None:
            self._table().upsert(change.updated, join_cols=[KEY])
        return str(self._table().current_snapshot().snapshot_id)

    def checkout(self, *, version_id: str) -> Checkout:
        return Checkout(table=self._table().scan(snapshot_id=int(version_id)).to_arrow())

    def diff(self, *, old: str, new: str) -> Diff:
        table = self._table()
        # Walk the snapshots after `old` up to `new`: pyiceberg's incremental scan reads what
        # append snapshots added; it has no changelog for overwrites (Spark's
        # create_changelog_view has no pyiceberg counterpart).
        snapshot, between = table.snapshot_by_id(int(new)), []
        while snapshot is not None and snapshot.snapshot_id != int(old):
            between.append(snapshot)
            snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
        operations = {s.summary.operation.value for s in between}
        if operations - {"append"}:
            raise Unsupported(f"snapshots {old}->{new} include {sorted(operations - {'append'})}: pyiceberg's "
                              "incremental scan covers append snapshots only, it has no row-level changelog")
        added = table.incremental_append_scan(from_snapshot_id_exclusive=int(old), to_snapshot_id_inclusive=int(new),
                                              selected_fields=(KEY,)).to_arrow()
        return Diff.from_rows(inserted=set(added.column(KEY).to_pylist()), deleted=set(), updated=set(),
                              how="Table.incremental_append_scan(from_snapshot_id_exclusive, to_snapshot_id_inclusive)")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        from pyiceberg.expressions import EqualTo

        return self._table().scan(row_filter=EqualTo("month", int(month)), selected_fields=tuple(columns),
                                  snapshot_id=int(version_id)).to_arrow()

    def tag(self, *, version_id: str, name: str) -> None:
        self._table().manage_snapshots().create_tag(int(version_id), name).commit()

    def resolve_tag(self, *, name: str) -> str:
        return str(self._table().metadata.refs[name].snapshot_id)

    def restore(self, *, version_id: str) -> str:
        # rollback_to_snapshot makes an ancestor current; the later snapshots stay in the
        # metadata (readable by id) until expired.
        self._table().manage_snapshots().rollback_to_snapshot(int(version_id)).commit()
        return str(self._table().current_snapshot().snapshot_id)

    def gc(self, *, keep: list[str]) -> None:
        # expire_snapshots never expires a tag's or a branch's head. pyiceberg removes the
        # snapshots from the metadata; deleting the files they alone used is left to
        # orphan-file removal, which pyiceberg does not have.
        from datetime import datetime, timezone

        table = self._table()
        table.maintenance.expire_snapshots().older_than(datetime.now(timezone.utc)).commit()

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        for task in self._table().scan(snapshot_id=int(version_id)).plan_files():
            path = task.file.file_path.removeprefix("file://")
            if pc.min(pq.read_table(path, columns=["month"]).column("month")).as_py() == month:
                return Path(path)
        raise LookupError(f"no data file holds month {month}")
