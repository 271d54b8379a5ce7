"""The model's inputs, and how a data version is read."""

import json
import os
from pathlib import Path

import pandas as pd

NUMERIC = ["month", "weekday", "sched_dep_hour", "distance", "temp", "humid", "wind_speed", "precip", "visib",
           "pressure"]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = NUMERIC + CATEGORICAL
LABEL = "late"


def data_version(repo: Path) -> dict:
    return json.loads((repo / "data.json").read_text())


def read_months(months: list[int], rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows drawn with `seed` from the monthly batches in $DATA_DIR."""
    folder = Path(os.environ["DATA_DIR"])
    frame = pd.concat([pd.read_parquet(folder / f"month={m:02d}.parquet") for m in months], ignore_index=True)
    return frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)


def as_model_input(frame: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The feature columns, categoricals with the category set seen in training."""
    out = frame[FEATURES].copy()
    for column in CATEGORICAL:
        out[column] = pd.Categorical(out[column], categories=categories[column])
    return out


def categories_of(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {column: sorted(frame[column].dropna().unique().tolist()) for column in CATEGORICAL}
