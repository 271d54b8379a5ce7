"""The versions every tool records, built once per trial from the prepared flights batches, and
what each version must read back as. Worker side: base set only.

v1..v12 add one month each (cumulative); v13 is a late data fix: 1% of March's rows get their
label corrected. Every row carries KEY, a stable id, so table formats can replace rows by it.
The full size scales rows by resampling (recorded as `scale`) and can split each month into
one file per day-of-month ("daily": 365 files), because per-file cost is where file tools hit
limits. The expected content of each version is known before any tool runs: the SHA-256 of
every file (file layouts) and a canonical hash of the sorted rows (both layouts).
"""

from __future__ import annotations

import calendar
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bakeoff.data.batches import FEATURES, LABEL, month_file
from bakeoff.stages.versioning.contract import KEY, Change

MONTHS = 12
CORRECTED_MONTH = 3
CORRECTED_FRACTION = 0.01
COLUMNS = [KEY, *FEATURES, LABEL]
# Parquet written the same way for every version: pyarrow's defaults (snappy), no pandas
# metadata, one row group per file, so equal content means equal bytes.
WRITE_OPTIONS = {"compression": "snappy", "store_schema": False}


@dataclass
class Version:
    name: str  # "v1".."v13"
    files: dict[str, str]  # every data-folder file of the version -> its SHA-256
    rows: int
    change: Change  # what this version adds or rewrites


@dataclass
class History:
    source: Path  # folder of the written files, one sub-folder per version that wrote any
    versions: list[Version]
    month_tables: dict[int, pa.Table]  # each month as first added
    corrected_keys: set[int]
    month_names: dict[int, list[str]] = field(default_factory=dict)  # month -> its file names
    corrected_table: pa.Table | None = None  # the corrected month as of the correction
    _month_hashes: dict[int, bytes] = field(default_factory=dict)

    def rows_of(self, name: str) -> pa.Table:
        """Every row of a version, in KEY order."""
        index = int(name.lstrip("v"))
        months = sorted(self.month_tables)[:index]
        tables = [self.month_tables[m] for m in months]
        if index > len(self.month_tables) and self.corrected_table is not None:
            tables[CORRECTED_MONTH - 1] = self.corrected_table
        return pa.concat_tables(tables)

    def row_hash(self, name: str) -> str:
        """Canonical hash of the version's rows. Months hold disjoint, increasing KEY ranges,
        so the sorted rows of a version are month 1's, then month 2's...: the digest runs over
        per-month row hashes, each computed once, and only when a table is checked."""
        index = int(name.lstrip("v"))
        digest = hashlib.sha256()
        for month in sorted(self.month_tables)[:index]:
            corrected = index > len(self.month_tables) and month == CORRECTED_MONTH
            key = -month if corrected else month
            if key not in self._month_hashes:
                table = self.corrected_table if corrected else self.month_tables[month]
                self._month_hashes[key] = row_hashes(table).tobytes()
            digest.update(self._month_hashes[key])
        return digest.hexdigest()

    def version(self, name: str) -> Version:
        return next(v for v in self.versions if v.name == name)

    def raw_bytes(self, name: str) -> int:
        """Bytes of the version's files: what the data weighs with no versioning at all."""
        version = self.version(name)
        return sum(self.file_path(name, f).stat().st_size for f in version.files)

    def file_path(self, version: str, name: str) -> Path:
        """The source file holding `name` as of `version` (the latest write at or before it)."""
        index = int(version.lstrip("v"))
        for earlier in range(index, 0, -1):
            path = self.source / f"v{earlier}" / name
            if path.exists():
                return path
        raise FileNotFoundError(f"{name} is not part of {version}")

    def write_files(self, version: Version, folder: Path) -> None:
        """Put the version's new or rewritten files into a data folder the way a careful pipeline
        does: write beside, then rename into place (a new inode, so a hard- or sym-linked
        cache entry of the old content is never written through)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in version.change.files:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.writing")
            shutil.copyfile(self.source / version.name / name, temporary)
            os.replace(temporary, target)


def canonical_hash(table: pa.Table) -> str:
    """A hash of a table's rows that ignores row order and storage types: rows sorted by KEY,
    every column in COLUMNS order, values widened to int64 / float64 / string. Two tables hash
    equal exactly when they hold the same rows."""
    return hashlib.sha256(row_hashes(table).tobytes()).hexdigest()


def row_hashes(table: pa.Table) -> np.ndarray:
    """One uint64 per row, in KEY order (see canonical_hash)."""
    import pandas as pd

    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"columns {missing} are missing from the table read back")
    frame = table.select(COLUMNS).to_pandas()
    frame = frame.sort_values(KEY, kind="stable").reset_index(drop=True)
    for column in COLUMNS:
        kind = frame[column].dtype.kind
        if kind in "iub":
            frame[column] = frame[column].astype("int64")
        elif kind == "f":
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype(object)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under a data folder, by relative name (hidden files left out)."""
    return {p.relative_to(folder).as_posix(): file_hash(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def month_frame(data_dir: Path, month: int, scale: int, seed: int) -> pa.Table:
    """One month with KEY: the prepared rows, or `scale` times as many resampled from them."""
    table = pq.read_table(month_file(data_dir, month), columns=[*FEATURES, LABEL]).replace_schema_metadata(None)
    if scale > 1:
        picks = np.random.default_rng(seed + month).integers(0, table.num_rows, table.num_rows * scale)
        table = table.take(pa.array(np.sort(picks)))
    keys = pa.array(month * 10_000_000 + np.arange(table.num_rows, dtype=np.int64))
    return table.add_column(0, KEY, keys)


def split_names(month: int, files_per_month: str) -> list[str]:
    if files_per_month == "daily":
        days = calendar.monthrange(2013, month)[1]
        return [f"month={month:02d}/day={day:02d}.parquet" for day in range(1, days + 1)]
    return [f"month={month:02d}.parquet"]


def write_month(table: pa.Table, folder: Path, names: list[str]) -> None:
    bounds = np.linspace(0, table.num_rows, len(names) + 1).astype(int)
    for name, start, stop in zip(names, bounds[:-1], bounds[1:]):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(start, stop - start), path, **WRITE_OPTIONS)


def build(data_dir: Path, source: Path, *, months: int = MONTHS, scale: int = 1, files_per_month: str = "monthly",
          correction: bool = True, seed: int = 2013) -> History:
    """Write every version's new files under `source/v<k>/` and compute what each version
    must read back as."""
    tables: dict[int, pa.Table] = {}
    names: dict[int, list[str]] = {}
    versions: list[Version] = []
    hashes: dict[str, str] = {}
    rows = 0
    for month in range(1, months + 1):
        table = month_frame(data_dir, month, scale, seed)
        tables[month], names[month] = table, split_names(month, files_per_month)
        folder = source / f"v{month}"
        write_month(table, folder, names[month])
        hashes.update({n: file_hash(folder / n) for n in names[month]})
        rows += table.num_rows
        change = Change(version=f"v{month}", message=f"add month {month:02d}", files=list(names[month]), appended=table)
        versions.append(Version(f"v{month}", dict(hashes), rows, change))
    corrected: set[int] = set()
    fixed = None
    if correction and months >= CORRECTED_MONTH:
        march = tables[CORRECTED_MONTH]
        count = max(1, round(march.num_rows * CORRECTED_FRACTION))
        picks = np.sort(np.random.default_rng(seed).choice(march.num_rows, count, replace=False))
        late = march.column(LABEL).to_numpy().copy()
        late[picks] = 1 - late[picks]  # the late data fix: the arrival status was wrong
        fixed = march.set_column(march.schema.get_field_index(LABEL), LABEL, pa.array(late))
        corrected = set(march.column(KEY).to_numpy()[picks].tolist())
        name = f"v{months + 1}"
        folder = source / name
        write_month(fixed, folder, names[CORRECTED_MONTH])
        # Only the files whose rows changed are rewritten (all of them in the monthly layout).
        touched = [n for n in names[CORRECTED_MONTH] if file_hash(folder / n) != hashes[n]]
        for n in names[CORRECTED_MONTH]:
            if n not in touched:
                (folder / n).unlink()
        hashes.update({n: file_hash(folder / n) for n in touched})
        updated = fixed.take(pa.array(picks))
        change = Change(version=name, message=f"correct the label of {count} March rows", files=touched,
                        updated=updated)
        versions.append(Version(name, dict(hashes), rows, change))
    return History(source, versions, tables, corrected, names, fixed)
