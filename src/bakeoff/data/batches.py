"""Read the prepared flights data inside a tool env (worker side).

Imports only the standard library and the base set (numpy, pandas, pyarrow, scikit-learn):
this module runs in tool envs that have nothing else. It is also the single source of truth
for the feature definitions; the host-side `prepare` imports them from here.

A data folder (made by `bakeoff.host.prepare.prepare`) holds `month=01.parquet` ...
`month=12.parquet` with the columns `FEATURES + [LABEL]`, `model.pkl` and `manifest.json`.
Categorical columns are plain strings (object dtype); the label is int 0/1.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

# Scheduled hour, not actual: the actual departure time leaks the delay we predict.
NUMERIC = [
    "month",
    "weekday",
    "sched_dep_hour",
    "distance",
    "temp",
    "humid",
    "wind_speed",
    "precip",
    "visib",
    "pressure",
]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = NUMERIC + CATEGORICAL
LABEL = "late"

SEED = 2013
TRAIN_MONTHS = (1, 2, 3)
VALID_MONTH = 4
# The reference model's settings; `reference_pipeline` rebuilds it for any stage.
MODEL_PARAMS = {"max_iter": 200, "learning_rate": 0.1}


def month_file(data_dir: Path, month: int) -> Path:
    """Path of one month's batch; months are 1..12."""
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    return Path(data_dir) / f"month={int(month):02d}.parquet"


def load_month(data_dir: Path, month: int) -> pd.DataFrame:
    """One month's rows: columns FEATURES + [LABEL], index 0..n-1. Returns a fresh frame."""
    return _read_month(*_file_identity(data_dir, month)).copy()


def load_months(data_dir: Path, months: Iterable[int]) -> pd.DataFrame:
    """Several months stacked in the order given, index 0..n-1."""
    frames = [_read_month(*_file_identity(data_dir, m)) for m in months]
    if not frames:
        raise ValueError("load_months needs at least one month")
    return pd.concat(frames, ignore_index=True)


def load_reference_model(data_dir: Path):
    """The fitted reference Pipeline (unpickled model.pkl); predict_proba(X[FEATURES])."""
    with open(Path(data_dir) / "model.pkl", "rb") as fh:
        return pickle.load(fh)


def training_frame(data_dir: Path, rows: int, seed: int):
    """A deterministic (X_train, y_train, X_valid, y_valid) for small training runs.

    `rows` rows sampled without replacement from months 1-3 and `rows // 2` from month 4,
    both driven by `seed` alone, so the same (data, rows, seed) always gives the same frames.
    X has the columns FEATURES; y is the int 0/1 label as a Series.

    Unlike `load_month`, CATEGORICAL columns come as pandas `category` with one category set
    shared by train and valid: a bare HistGradientBoostingClassifier then handles them natively
    (about 0.15 s for 100 iterations on 10,000 rows on 2 cores, against about 0.5 s through the
    one-hot `reference_pipeline`, which accepts these frames too).
    """
    rows = int(rows)
    train_pool = load_months(data_dir, TRAIN_MONTHS)
    valid_pool = _read_month(*_file_identity(data_dir, VALID_MONTH))
    n_valid = rows // 2
    if not 1 <= rows <= len(train_pool) or n_valid > len(valid_pool):
        raise ValueError(
            f"rows must be 1..{len(train_pool)} (and rows // 2 <= {len(valid_pool)}), got {rows}"
        )
    train = train_pool.sample(n=rows, random_state=seed).reset_index(drop=True)
    # A different stream for validation so it does not mirror the training draw.
    valid = valid_pool.sample(n=n_valid, random_state=seed + 1).reset_index(drop=True)
    shared = {
        column: pd.CategoricalDtype(sorted(set(train_pool[column]) | set(valid_pool[column])))
        for column in CATEGORICAL
    }
    x_train, x_valid = train[FEATURES].astype(shared), valid[FEATURES].astype(shared)
    return x_train, train[LABEL], x_valid, valid[LABEL]


def reference_pipeline(*, max_iter: int = MODEL_PARAMS["max_iter"],
                       learning_rate: float = MODEL_PARAMS["learning_rate"], seed: int = SEED):
    """An unfitted copy of the reference model: one-hot categoricals + gradient boosting.

    Missing weather stays NaN: HistGradientBoosting learns where missing values go.
    Early stopping is off so the model (and its timing) depends only on these arguments.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
         ("numeric", "passthrough", NUMERIC)],
    )
    boost = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, early_stopping=False, random_state=seed
    )
    return Pipeline([("encode", encode), ("boost", boost)])


def _file_identity(data_dir: Path, month: int) -> tuple[str, int, int]:
    # Size and mtime are in the cache key so a batch rewritten in place (drift scenarios,
    # versioning) is read again rather than served stale.
    path = month_file(data_dir, month).resolve()
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=16)
def _read_month(path: str, size: int, mtime_ns: int) -> pd.DataFrame:
    # Cached because sweeps call training_frame many times in one process; callers get copies
    # (or new frames from concat/sample), never this cached object.
    return pd.read_parquet(path)


SCORES_FILE = "model_scores.parquet"  # columns month, score: the reference model's P(late), row order of each month


def load_model_scores(data_dir: Path | str, month: int):
    """The reference model's scores for one month's rows, as prepared (no unpickling needed)."""
    scores = pd.read_parquet(Path(data_dir) / SCORES_FILE, engine="pyarrow")
    return scores.loc[scores["month"] == month, "score"].to_numpy()
