"""Lance (pylance): one dataset in the remote folder, one append per month, the correction as
merge_insert on flight_id, tags, and the dataset delta between versions for diffs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bakeoff.stages.versioning.contract import KEY, Change, Checkout, Diff, VersioningAdapter


class LanceVersioning(VersioningAdapter):
    layout = "table"

    def open(self, *, workspace: Path, remote: Path) -> None:
        self.uri = str(remote / "flights.lance")

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self.open(workspace=workspace, remote=remote)  # a teammate opens the same dataset by its URI

    def _dataset(self, version: str | None = None):
        import lance

        return lance.dataset(self.uri, version=None if version is None else int(version))

    def commit(self, *, change: Change) -> str:
        import lance

        if change.appended is not None:
            exists = Path(self.uri).exists()
            # Stable row ids (set at creation) let the dataset delta tell updated rows from
            # inserted ones; without them a merge looks like a delete plus an insert.
            lance.write_dataset(change.appended, self.uri, mode="append" if exists else "create",
                                enable_stable_row_ids=True)
        if change.updated is not None:
            self._dataset().merge_insert(KEY).when_matched_update_all().execute(change.updated)
        return str(self._dataset().version)

    def checkout(self, *, version_id: str) -> Checkout:
        return Checkout(table=self._dataset(version_id).to_table())

    def diff(self, *, old: str, new: str) -> Diff:
        delta = self._dataset(new).delta(begin_version=int(old), end_version=int(new))

        def keys(reader) -> set[int]:
            return {key for batch in reader for key in batch.column(KEY).to_pylist()}

        return Diff.from_rows(inserted=keys(delta.get_inserted_rows()), updated=keys(delta.get_updated_rows()),
                              deleted=set(), how="LanceDataset.delta(begin_version, end_version): inserted and "
                              "updated rows")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        return self._dataset(version_id).to_table(columns=columns, filter=f"month = {int(month)}")

    def tag(self, *, version_id: str, name: str) -> None:
        self._dataset().tags.create(name, int(version_id))

    def resolve_tag(self, *, name: str) -> str:
        return str(self._dataset().tags.list()[name]["version"])

    def restore(self, *, version_id: str) -> str:
        self._dataset(version_id).restore()  # a new latest version with the old content
        return str(self._dataset().version)

    def gc(self, *, keep: list[str]) -> None:
        # cleanup_old_versions never removes tagged versions; error_if_tagged_old_versions=False
        # skips them quietly instead of refusing the whole cleanup.
        self._dataset().cleanup_old_versions(older_than=timedelta(0), delete_unverified=True,
                                             error_if_tagged_old_versions=False)

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        dataset = self._dataset(version_id)
        for fragment in dataset.get_fragments():
            if fragment.to_table(columns=["month"], limit=1).column("month")[0].as_py() == month:
                return Path(self.uri) / "data" / fragment.data_files()[0].path
        raise LookupError(f"no fragment holds month {month}")

    def verify(self) -> str:
        self._dataset().validate()  # raises on an inconsistent dataset
        return ""
