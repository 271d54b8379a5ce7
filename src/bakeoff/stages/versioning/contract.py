"""The data-versioning contract: what the versioning stage asks of every tool.

Two layouts exist, and an adapter says which it is with the class attribute `layout`:

- "files": the tool tracks a folder of Parquet files (DVC, git-lfs, the snapshot-copy baseline).
  The workload writes the version's files into `data_folder(workspace)` itself, as a pipeline
  would (a changed file is written to a new name and renamed into place, never rewritten
  through its old inode), then asks the tool to record the folder.
- "table": the tool owns a table (Delta Lake, Lance, Iceberg, DuckLake). The workload hands
  it the rows: a month to append, or corrected rows to replace by `KEY`.

Call order, in one process:
1. `open(workspace=, remote=)` once: create the store. `workspace` is this user's folder;
   `remote` is the shared place (a folder standing for object storage or a Git server) that
   teammates reach. Anything the tool keeps goes into one of the two.
2. `commit(change=)` once per version, v1, v2, ... in order; each returns the tool's own id
   for the version (a Git commit, a table version, a snapshot id). A commit is complete when
   a teammate could fetch it: file tools push to the remote inside `commit`.
3. Any number, in any order, of `checkout`, `diff`, `read_columns`, `tag`, `resolve_tag`,
   `restore`, `gc`, `verify`, `stored_object`, `clone`.
4. `close()`. Nothing the adapter started may outlive it.

A second process (a teammate, a concurrent writer) gets the adapter's constructor options
plus `share()`, and calls `clone(workspace=, remote=)` on its own workspace instead of
`open`; after that it may `commit` and `checkout` like the first.

Every method takes keyword-only arguments. A capability the tool lacks raises Unsupported;
never a workaround outside the tool, which would credit the tool with our code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bakeoff.stages.contract import Unsupported, required

LAYOUTS = ("files", "table")
KEY = "flight_id"  # a stable id per flight row: what a table format matches corrected rows on ("row_id" is reserved by DuckLake)


@dataclass
class Change:
    """One version's change, handed to `commit`. File tools use `files` (already written into
    the data folder); table tools use `appended` and `updated` (pyarrow Tables)."""

    version: str  # "v1" ... "v13"
    message: str
    files: list[str]  # data-folder relative names written or rewritten for this version
    appended: object = None  # pyarrow.Table of rows added, or None
    updated: object = None  # pyarrow.Table of rows replacing those with the same KEY, or None


@dataclass
class Checkout:
    """A version as the tool gave it back: a folder of files, or the rows of the table."""

    folder: Path | None = None  # file layouts: the folder holding the version's Parquet files
    table: object = None  # table layouts: a pyarrow.Table with every row of the version


@dataclass
class Diff:
    """What changed between two versions, as the tool's own diff reports it. File layouts fill
    the file sets (names relative to the data folder); table layouts fill the key sets (KEY
    values). A row the tool reports as deleted and re-inserted is a changed row."""

    added_files: set[str] = field(default_factory=set)
    changed_files: set[str] = field(default_factory=set)
    removed_files: set[str] = field(default_factory=set)
    added_keys: set[int] = field(default_factory=set)
    changed_keys: set[int] = field(default_factory=set)
    removed_keys: set[int] = field(default_factory=set)
    how: str = ""  # the tool call that produced it, for the evidence

    @classmethod
    def from_rows(cls, *, inserted: set[int], deleted: set[int], updated: set[int], how: str) -> Diff:
        """A table tool's row-level change feed as a Diff: a key deleted and inserted again
        (copy-on-write, merge) is a changed row, not a removed and an added one."""
        changed = updated | (inserted & deleted)
        return cls(added_keys=inserted - changed, removed_keys=deleted - changed, changed_keys=changed, how=how)


class VersioningAdapter:
    """One data-versioning tool. Constructed with the options from its tool.toml."""

    layout = "files"  # "files" or "table"; see the module docstring

    @staticmethod
    def data_folder(workspace: Path) -> Path:
        """Where a file tool's tracked data lives in a workspace (the workload writes there)."""
        return workspace / "data"

    @required
    def open(self, *, workspace: Path, remote: Path) -> None:
        """Create the store: initialise the repository or table, wire up the remote."""
        raise NotImplementedError

    def share(self) -> dict:
        """Constructor options another process needs besides the remote folder (e.g. a
        server's URL). Empty when the remote folder is enough."""
        return {}

    def clone(self, *, workspace: Path, remote: Path) -> None:
        """As a teammate: get a workspace of the store from `remote` (git clone, open the
        table or catalog by its shared path), ready for `checkout` and `commit`."""
        raise Unsupported("no way to open the store from a second workspace")

    @required
    def commit(self, *, change: Change) -> str:
        """Record the next version and make it reachable from the remote; return its id."""
        raise NotImplementedError

    @required
    def checkout(self, *, version_id: str) -> Checkout:
        """Give back the version: file tools put its files in the data folder (or a folder
        they name); table tools read every row of it."""
        raise NotImplementedError

    def diff(self, *, old: str, new: str) -> Diff:
        """What changed from version `old` to `new`, through the tool's own diff."""
        raise Unsupported("no diff between versions")

    @required
    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        """Read only `columns` of one month of a version (a pyarrow.Table), the cheapest way the
        tool allows. File tools get the month's files `names` (one in the monthly layout, one per
        day in the daily one) and return their rows together; table tools filter on the month column."""
        raise NotImplementedError

    def tag(self, *, version_id: str, name: str) -> None:
        """Give the version a human name that `resolve_tag` finds later."""
        raise Unsupported("no tags")

    def resolve_tag(self, *, name: str) -> str:
        """The version id a tag points to."""
        raise Unsupported("no tags")

    def restore(self, *, version_id: str) -> str:
        """Make `version_id` the current version again without losing the later ones (as a
        new version); return the new current version's id."""
        raise Unsupported("no restore")

    def gc(self, *, keep: list[str]) -> None:
        """Reclaim the storage of everything not reachable from the versions in `keep` (ids),
        the tool's own garbage collection or vacuum."""
        raise Unsupported("no garbage collection")

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        """The file inside the tool's store that holds the data of `name` (a data-folder file
        for file tools, the month's data file for table tools) as of the version: what the
        corruption probe damages."""
        raise Unsupported("the store's objects are not files on disk")

    def verify(self) -> str:
        """Run the tool's own integrity check over the store; raise (or return a non-empty
        report) when it finds damage, return "" when it finds none."""
        raise Unsupported("no integrity check")

    def close(self) -> None:
        """Release the store; stop anything `open` or `clone` started."""
