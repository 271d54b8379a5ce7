"""Git as the file tools use it (DVC keeps its pointers in Git; git-lfs is Git): a small
runner over the `git` command with the settings a scripted, offline repository needs.
Worker side: standard library only; the adapters that need Git call it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {"GIT_AUTHOR_NAME": "bakeoff", "GIT_AUTHOR_EMAIL": "bakeoff@localhost",
            "GIT_COMMITTER_NAME": "bakeoff", "GIT_COMMITTER_EMAIL": "bakeoff@localhost"}


class GitError(Exception):
    """A git command that failed; the message holds its output."""


class Git:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        # No system config, no pager, no prompt: the trial's HOME is its scratch folder.
        self.env = {**os.environ, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
                    "GIT_PAGER": "cat"}

    def __call__(self, *args: str, check: bool = True, binary: bool = False) -> str | bytes:
        done = subprocess.run(["git", *args], cwd=self.cwd, env=self.env, capture_output=True, text=not binary)
        if check and done.returncode != 0:
            err = done.stderr if not binary else done.stderr.decode(errors="replace")
            raise GitError(f"git {' '.join(args)}: {err.strip()[-800:]}")
        return done.stdout

    def init(self, remote: Path) -> None:
        """A repository on branch main whose origin is a bare repository in `remote`."""
        self.cwd.mkdir(parents=True, exist_ok=True)
        self("init", "-q", "-b", "main")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], env=self.env, check=True,
                       capture_output=True)
        self("remote", "add", "origin", str(remote))

    def head(self) -> str:
        return str(self("rev-parse", "HEAD")).strip()

    def changed_files(self, old: str, new: str, under: str) -> dict[str, set[str]]:
        """`git diff --name-status` between two commits, for paths under a folder."""
        found: dict[str, set[str]] = {"A": set(), "M": set(), "D": set()}
        for line in str(self("diff", "--no-renames", "--name-status", old, new, "--", under)).splitlines():
            status, _, path = line.partition("\t")
            found.setdefault(status[:1], set()).add(path[len(under) + 1:] if path.startswith(under + "/") else path)
        return found

    def push(self, *refs: str) -> None:
        """Push; when a teammate pushed first, merge theirs and push again (git's own rule)."""
        try:
            self("push", "-q", "origin", *refs)
        except GitError as rejected:
            if "rejected" not in str(rejected) and "fetch first" not in str(rejected):
                raise
            self("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
            self("push", "-q", "origin", *refs)
