"""Delta Lake (delta-rs): one table in the remote folder (standing for object storage), one
append per month, the correction as a MERGE on flight_id, the change data feed for diffs."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.versioning.contract import KEY, Change, Checkout, Diff, VersioningAdapter


class DeltaVersioning(VersioningAdapter):
    layout = "table"

    def open(self, *, workspace: Path, remote: Path) -> None:
        self.uri = str(remote / "flights")

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self.open(workspace=workspace, remote=remote)  # a teammate opens the same table by its URI

    def _table(self, version: str | None = None):
        from deltalake import DeltaTable

        return DeltaTable(self.uri, version=None if version is None else int(version))

    def commit(self, *, change: Change) -> str:
        from deltalake import DeltaTable, write_deltalake

        if change.appended is not None:
            # The change data feed is a table property set at creation (Delta docs: "Change
            # data feed"); later appends keep it.
            write_deltalake(self.uri, change.appended, mode="append",
                            configuration={"delta.enableChangeDataFeed": "true"},
                            commit_properties=None)
        if change.updated is not None:
            (DeltaTable(self.uri).merge(source=change.updated, predicate=f"t.{KEY} = s.{KEY}", source_alias="s",
                                        target_alias="t")
             .when_matched_update_all().execute())
        return str(DeltaTable(self.uri).version())

    def checkout(self, *, version_id: str) -> Checkout:
        return Checkout(table=self._table(version_id).to_pyarrow_table())

    def diff(self, *, old: str, new: str) -> Diff:
        feed = pa.table(self._table().load_cdf(starting_version=int(old) + 1, ending_version=int(new),
                                               columns=[KEY, "_change_type"]))
        kinds = feed.column("_change_type").to_pylist()
        keys = feed.column(KEY).to_pylist()

        def of(*names: str) -> set[int]:
            return {k for k, kind in zip(keys, kinds) if kind in names}

        return Diff.from_rows(inserted=of("insert"), deleted=of("delete"), updated=of("update_postimage"),
                              how="DeltaTable.load_cdf (change data feed)")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        # filters prune files by their min/max statistics, then filter rows
        return self._table(version_id).to_pyarrow_table(columns=columns, filters=pc.field("month") == month)

    def tag(self, *, version_id: str, name: str) -> None:
        raise Unsupported("Delta Lake versions are numbers and timestamps; it has no named tags")

    def restore(self, *, version_id: str) -> str:
        table = self._table()
        table.restore(int(version_id))
        return str(self._table().version())

    def gc(self, *, keep: list[str]) -> None:
        # VACUUM removes files no longer referenced by the current version once older than
        # the retention period (7 days by default): 0 here, the only way it reclaims today.
        self._table().vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        actions = pa.table(self._table(version_id).get_add_actions(flatten=True))
        paths = actions.column("path").to_pylist()
        lows = actions.column("min.month").to_pylist()
        return Path(self.uri) / next(p for p, low in zip(paths, lows) if low == month)
