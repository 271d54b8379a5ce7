"""What a store weighs and what a read costs, measured the same way for every tool.
Worker side: standard library only."""

from __future__ import annotations

import os
from pathlib import Path


def store_bytes(*folders: Path) -> int:
    """Bytes of every file under the folders, each inode once and symlinks not followed: a
    hard-linked workspace file and its cache entry are one copy on disk, as they are."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder in folders:
        if not folder.exists():
            continue
        for root, _, files in os.walk(folder):
            for name in files:
                info = os.lstat(os.path.join(root, name))
                if (info.st_dev, info.st_ino) in seen or not os.path.isfile(os.path.join(root, name)) \
                        or os.path.islink(os.path.join(root, name)):
                    continue
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def bytes_read() -> int:
    """Bytes this process (and the children it has reaped) read through read() calls so far:
    `rchar` of /proc/self/io. Memory-mapped reads are not counted; pipes from a child are."""
    for line in Path("/proc/self/io").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "rchar":
            return int(value)
    raise OSError("/proc/self/io has no rchar")
