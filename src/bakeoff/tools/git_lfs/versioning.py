"""git-lfs: the Parquet files are tracked by Git LFS (pointers in Git, contents in
.git/lfs/objects), pushed to a bare repository in the remote folder over a file:// URL."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.stages.versioning.contract import Change, Checkout, Diff, VersioningAdapter
from bakeoff.stages.versioning.gitrepo import Git

DATA = "data"


class GitLfsVersioning(VersioningAdapter):
    layout = "files"

    def _start(self, workspace: Path) -> None:
        self.workspace, self.git = workspace, Git(workspace)
        # Hooks and filters in this repository's own config (the trial's HOME is scratch anyway).
        self.git("lfs", "install", "--local")

    def open(self, *, workspace: Path, remote: Path) -> None:
        Git(workspace).init(remote / "repo.git")
        self._start(workspace)
        self.git("lfs", "track", f"{DATA}/**/*.parquet", f"{DATA}/*.parquet")
        self.git("add", ".gitattributes")
        self.git("commit", "-q", "-m", "track Parquet files with Git LFS")
        self.git("push", "-q", "-u", "origin", "main")
        self.data_folder(workspace).mkdir(exist_ok=True)

    def clone(self, *, workspace: Path, remote: Path) -> None:
        # file:// so Git LFS takes the remote's objects through its file transfer adapter;
        # checked out only once the LFS filters are installed in the clone.
        subprocess.run(["git", "clone", "-q", "--no-checkout", f"file://{remote / 'repo.git'}", str(workspace)],
                       check=True, capture_output=True, env=Git(workspace.parent).env)
        self._start(workspace)
        self.git("checkout", "-q", "main")

    def _on_main(self) -> None:
        if str(self.git("rev-parse", "--abbrev-ref", "HEAD")).strip() != "main":
            self.git("checkout", "-q", "main")

    def commit(self, *, change: Change) -> str:
        self._on_main()
        self.git("add", "-A", DATA)
        self.git("commit", "-q", "-m", change.message)
        self.git.push("main")  # the pre-push hook uploads the LFS objects first
        return self.git.head()

    def checkout(self, *, version_id: str) -> Checkout:
        self.git("checkout", "-q", version_id)  # the smudge filter fills the files (fetching if needed)
        return Checkout(folder=self.data_folder(self.workspace))

    def diff(self, *, old: str, new: str) -> Diff:
        found = self.git.changed_files(old, new, DATA)
        return Diff(added_files=found["A"], changed_files=found["M"], removed_files=found["D"],
                    how="git diff --name-status (LFS pointers compared by object id)")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        # Each file as checkout would write it, without touching the work tree.
        return pa.concat_tables(
            pq.read_table(io.BytesIO(self.git("cat-file", "--filters", f"{version_id}:{DATA}/{name}", binary=True)),
                          columns=columns) for name in names)

    def tag(self, *, version_id: str, name: str) -> None:
        self.git("tag", name, version_id)
        self.git("push", "-q", "origin", name)

    def resolve_tag(self, *, name: str) -> str:
        return str(self.git("rev-parse", f"{name}^{{commit}}")).strip()

    def restore(self, *, version_id: str) -> str:
        self._on_main()
        self.git("restore", f"--source={version_id}", "--staged", "--worktree", "--", DATA)
        self.git("commit", "-q", "-m", f"restore {version_id[:10]}")
        self.git.push("main")
        return self.git.head()

    def gc(self, *, keep: list[str]) -> None:
        # `git lfs prune --recent`: drop local objects not needed by the checkout and already
        # pushed; tagged versions are fetched back from the remote when checked out.
        self._on_main()
        self.git("lfs", "prune", "--recent")

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        pointer = str(self.git("cat-file", "-p", f"{version_id}:{DATA}/{name}"))
        oid = re.search(r"oid sha256:([0-9a-f]{64})", pointer).group(1)
        return self.workspace / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid

    def verify(self) -> str:
        # `git lfs fsck` re-hashes every object the checked-out history needs.
        done = subprocess.run(["git", "lfs", "fsck"], cwd=self.workspace, env=self.git.env, capture_output=True, text=True)
        report = (done.stdout + done.stderr).strip()
        return report[-400:] if done.returncode != 0 or "corrupt" in report.lower() else ""
