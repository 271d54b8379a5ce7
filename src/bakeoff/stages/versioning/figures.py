"""The versioning stage's figure data: per-version series the report section draws (storage
and commit time against the number of versions, checkout time against the version checked
out). The history trial fills one `Timeline` and `result.put`s it; `section.py` reads it back
with `Timeline.find(tool)`. The history kind is repeated; like its facts, its figure data
comes from one measured round, the metrics carry the medians over rounds.
Worker and host side: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bakeoff.worker.figure_data import FigureData


@dataclass
class CommitPoint:
    version: str  # "v1".."v13"
    seconds: float  # the tool's commit (and push, for file tools)
    store_mb: float  # everything the tool keeps (workspace + remote) right after this commit
    raw_mb: float  # the version's own files: what it weighs with no versioning


@dataclass
class CheckoutPoint:
    version: str
    seconds: float
    rows: int


@dataclass
class Timeline(FigureData):
    KIND = "versioning.timeline"
    VERSION = 1
    layout: str  # "files" or "table"
    commits: list[CommitPoint]
    checkouts: list[CheckoutPoint] = field(default_factory=list)  # in the order they ran
