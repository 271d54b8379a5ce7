"""Baseline: a numbered copy of the data folder per version on the shared drive."""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.stages.contract import Unsupported
from bakeoff.stages.versioning.contract import Change, Checkout, Diff, VersioningAdapter

HIDDEN = shutil.ignore_patterns(".*")


class SnapshotCopy(VersioningAdapter):
    layout = "files"

    def open(self, *, workspace: Path, remote: Path) -> None:
        self.workspace, self.snapshots = workspace, remote / "snapshots"
        self.snapshots.mkdir(parents=True, exist_ok=True)
        (self.snapshots / "tags").mkdir(exist_ok=True)

    def clone(self, *, workspace: Path, remote: Path) -> None:
        self.workspace, self.snapshots = workspace, remote / "snapshots"
        taken = sorted(p.name for p in self.snapshots.glob("[0-9]*"))
        if taken:  # a teammate starts from a copy of the newest snapshot
            self.checkout(version_id=taken[-1])

    def commit(self, *, change: Change) -> str:
        taken = [int(p.name) for p in self.snapshots.iterdir() if p.name.isdigit()]
        name = f"{max(taken, default=0) + 1:04d}"
        os.mkdir(self.snapshots / name)  # the next number; a concurrent saver that took it fails here
        shutil.copytree(self.data_folder(self.workspace), self.snapshots / name, ignore=HIDDEN, dirs_exist_ok=True)
        return name

    def checkout(self, *, version_id: str) -> Checkout:
        data = self.data_folder(self.workspace)
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(self.snapshots / version_id, data)
        return Checkout(folder=data)

    def diff(self, *, old: str, new: str) -> Diff:
        found = Diff(how="filecmp.dircmp of the two snapshot folders, contents compared (diff -rq)")
        pending = [filecmp.dircmp(self.snapshots / old, self.snapshots / new, ignore=[])]
        prefix = {id(pending[0]): ""}
        while pending:
            compared = pending.pop()
            base = prefix[id(compared)]
            found.added_files |= {f for n in compared.right_only for f in files_of(Path(compared.right), n, base)}
            found.removed_files |= {f for n in compared.left_only for f in files_of(Path(compared.left), n, base)}
            _, mismatch, errors = filecmp.cmpfiles(compared.left, compared.right, compared.common_files, shallow=False)
            found.changed_files |= {base + n for n in mismatch + errors}
            for name, sub in compared.subdirs.items():
                prefix[id(sub)] = f"{base}{name}/"
                pending.append(sub)
        return found

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        return pa.concat_tables(pq.read_table(self.snapshots / version_id / name, columns=columns) for name in names)

    def tag(self, *, version_id: str, name: str) -> None:
        (self.snapshots / "tags" / name).symlink_to(Path("..") / version_id)

    def resolve_tag(self, *, name: str) -> str:
        return Path(os.readlink(self.snapshots / "tags" / name)).name

    def restore(self, *, version_id: str) -> str:
        self.checkout(version_id=version_id)
        return self.commit(change=Change(version="restore", message=f"restore {version_id}", files=[]))

    def gc(self, *, keep: list[str]) -> None:
        for folder in self.snapshots.iterdir():
            if folder.name.isdigit() and folder.name not in keep:
                shutil.rmtree(folder)

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        return self.snapshots / version_id / name

    def verify(self) -> str:
        raise Unsupported("plain copies carry no checksums to verify against")


def files_of(folder: Path, name: str, base: str) -> set[str]:
    """`name`, or every file under it when it is a folder only one side has (a new month of
    daily files): `diff -rq` names the folder, a diff of the data names its files."""
    path = folder / name
    if not path.is_dir():
        return {base + name}
    return {base + p.relative_to(folder).as_posix() for p in path.rglob("*") if p.is_file()}
