"""DVC: Parquet files tracked as one directory output (data.dvc) in a Git repository, pushed to
a local DVC remote (a folder standing for S3) beside a bare Git repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.stages.versioning.contract import Change, Checkout, Diff, VersioningAdapter
from bakeoff.stages.versioning.gitrepo import Git

DATA = "data"


class DvcVersioning(VersioningAdapter):
    layout = "files"

    def __init__(self, *, link_type: str = "") -> None:
        # DVC's documented switches, before dvc is imported: no analytics, no Studio calls.
        os.environ["DVC_NO_ANALYTICS"] = "1"
        os.environ["DVC_STUDIO_OFFLINE"] = "1"
        self.link_type = link_type  # "" keeps DVC's default cache.type (reflink,copy)
        self.teammate = False

    def _start(self, workspace: Path) -> None:
        # DVC keeps per-repo state (hash cache by inode and mtime) in a site cache dir, by
        # default /var/tmp/dvc: kept beside the workspace instead, so nothing leaves the trial.
        os.environ["DVC_SITE_CACHE_DIR"] = str(workspace.parent / f".dvc-site-{workspace.name}")
        self.workspace, self.git = workspace, Git(workspace)
        # DVC's merge driver for append-only directories (docs: "Resolving merge conflicts"),
        # so two people adding different files to data/ merge instead of conflicting.
        (workspace / ".gitattributes").write_text("*.dvc merge=dvc\n")
        self.git("config", "merge.dvc.name", "DVC merge driver")
        self.git("config", "merge.dvc.driver",
                 f"{sys.executable} -m dvc git-hook merge-driver --ancestor %O --our %A --their %B")

    def open(self, *, workspace: Path, remote: Path) -> None:
        from dvc.repo import Repo

        Git(workspace).init(remote / "repo.git")
        self._start(workspace)
        self.repo = Repo.init(str(workspace))
        with self.repo.config.edit() as conf:
            conf["core"]["analytics"] = False
            conf["core"]["remote"] = "storage"
            conf["remote"]["storage"] = {"url": str(remote / "dvc-storage")}
            if self.link_type:
                conf["cache"]["type"] = self.link_type
        self.repo.close()
        self.repo = Repo(str(workspace))  # the cache is set up from the config it opens with
        self.data_folder(workspace).mkdir(exist_ok=True)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "dvc init")
        self.git("push", "-q", "-u", "origin", "main")

    def clone(self, *, workspace: Path, remote: Path) -> None:
        from dvc.repo import Repo

        subprocess.run(["git", "clone", "-q", str(remote / "repo.git"), str(workspace)], check=True,
                       capture_output=True, env=Git(workspace.parent).env)
        self._start(workspace)
        self.repo = Repo(str(workspace))
        self.teammate = True
        self.repo.pull(force=True)  # the docs' teammate: `git clone` then `dvc pull`

    def _on_main(self) -> None:
        if str(self.git("rev-parse", "--abbrev-ref", "HEAD")).strip() != "main":
            self.git("checkout", "-q", "main")
            self.repo.checkout(force=True)

    def commit(self, *, change: Change) -> str:
        self._on_main()
        self.repo.add([str(self.data_folder(self.workspace))])
        self.git("add", f"{DATA}.dvc", ".gitignore")
        self.git("commit", "-q", "-m", change.message)
        self.repo.push()
        self.git.push("main")  # merges a teammate's push first if there was one
        return self.git.head()

    def checkout(self, *, version_id: str) -> Checkout:
        self.git("checkout", "-q", version_id)
        if self.teammate:  # a clone has an empty cache: fetch from the remote, then check out
            self.repo.pull(force=True)
        else:
            self.repo.checkout(force=True)
        return Checkout(folder=self.data_folder(self.workspace))

    def diff(self, *, old: str, new: str) -> Diff:
        found = self.repo.diff(a_rev=old, b_rev=new)

        def names(kind: str) -> set[str]:
            return {e["path"][len(DATA) + 1:] for e in found.get(kind, []) if not e["path"].endswith("/")}

        return Diff(added_files=names("added"), changed_files=names("modified"), removed_files=names("deleted"),
                    how="Repo.diff(a_rev, b_rev) (`dvc diff`)")

    def read_columns(self, *, version_id: str, names: list[str], month: int, columns: list[str]) -> object:
        # One DVCFileSystem for the revision (DVC's API for reading several files of one rev),
        # each file streamed from the cache without a checkout.
        from dvc.api import DVCFileSystem

        fs = DVCFileSystem(str(self.workspace), rev=version_id)
        tables = []
        for name in names:
            with fs.open(f"{DATA}/{name}", mode="rb") as handle:
                tables.append(pq.read_table(handle, columns=columns))
        return pa.concat_tables(tables)

    def tag(self, *, version_id: str, name: str) -> None:
        self.git("tag", name, version_id)
        self.git("push", "-q", "origin", name)

    def resolve_tag(self, *, name: str) -> str:
        return str(self.git("rev-parse", f"{name}^{{commit}}")).strip()

    def restore(self, *, version_id: str) -> str:
        # DVC's documented way back: take the old .dvc file from Git, then `dvc checkout`.
        self._on_main()
        self.git("checkout", version_id, "--", f"{DATA}.dvc")
        self.repo.checkout(force=True)
        self.git("commit", "-q", "-m", f"restore {version_id[:10]}")
        self.repo.push()
        self.git.push("main")
        return self.git.head()

    def gc(self, *, keep: list[str]) -> None:
        # `dvc gc --workspace --all-tags --force`: keep what the workspace and every tag use.
        self._on_main()
        self.repo.gc(workspace=True, all_tags=True, force=True)

    def stored_object(self, *, version_id: str, name: str, month: int) -> Path:
        # The cache layout DVC documents: files/md5/<first two>/<rest>; a directory is a
        # .dir object listing each file's md5.
        pointer = str(self.git("show", f"{version_id}:{DATA}.dvc"))
        listing = re.search(r"md5:\s*([0-9a-f]{32})\.dir", pointer).group(1)
        cache = self.workspace / ".dvc" / "cache" / "files" / "md5"
        entries = json.loads((cache / listing[:2] / f"{listing[2:]}.dir").read_text())
        md5 = next(e["md5"] for e in entries if e["relpath"] == name)
        return cache / md5[:2] / md5[2:]

    def verify(self) -> str:
        # `dvc status`: the workspace and cache against the hashes Git records (DVC has no fsck).
        found = self.repo.status()
        return json.dumps(found, default=str)[:400] if found else ""

    def close(self) -> None:
        if hasattr(self, "repo"):
            self.repo.close()
