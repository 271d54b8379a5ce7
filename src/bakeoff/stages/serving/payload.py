"""The requests every server answers, and the one way rows become the model's input.

Rows are records (feature name -> value) from a held-out month; a missing number travels as JSON
null and becomes NaN again in `to_frame`, which every hand-wired service (FastAPI, BentoML,
LitServe, Ray Serve) calls after its framework has parsed and validated the request. Servers
with their own wire format (MLServer's V2 protocol, MLflow's dataframe_split) decode with their
own codecs; the correctness check proves they reach the same model input. Worker side and
server side: standard library and the base set only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.data.batches import CATEGORICAL, FEATURES, NUMERIC, load_month

Row = dict[str, float | str | None]

# The request body of the services whose format we choose: {"rows": [...]} -> {"p_late": [...]}.
ROWS_KEY, ANSWER_KEY = "rows", "p_late"

# A pydantic model of one row, as source text for the generated service files (pydantic lives
# in the tool envs, not in the base set). Numbers may be null (missing weather); every field is
# required, so a missing field or a string where a number belongs is refused before the model.
PYDANTIC_ROW = "\n".join(
    ["class Row(BaseModel):"]
    + [f"    {name}: float | None" for name in NUMERIC]
    + [f"    {name}: str" for name in CATEGORICAL]
) + "\n"


def to_frame(records: list[dict]) -> pd.DataFrame:
    """Records -> the model's input: numbers as float64 (None -> NaN), categories as str objects.
    Raises KeyError naming a missing feature."""
    columns: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        columns[name] = np.array([r[name] for r in records], dtype=np.float64)
    for name in CATEGORICAL:
        columns[name] = np.array([r[name] for r in records], dtype=object)
    return pd.DataFrame(columns, columns=FEATURES)


def clean(value) -> float | str | None:
    """A cell as JSON carries it: NaN -> None, numpy scalars -> Python ones."""
    if isinstance(value, str):
        return value
    value = float(value)
    return None if math.isnan(value) else value


@dataclass
class RequestSet:
    """The fixed request set: single rows and batches, plus what the model answers in process."""

    singles: list[list[Row]]  # each a one-row request
    batches: list[list[Row]]  # each a `batch_rows`-row request
    expected_singles: list[list[float]]
    expected_batches: list[list[float]]

    def requests(self) -> list[tuple[list[Row], list[float]]]:
        return list(zip(self.singles, self.expected_singles)) + list(zip(self.batches, self.expected_batches))


def sample_rows(data_dir: Path, month: int, count: int, seed: int) -> list[Row]:
    """`count` rows of `month`, a quarter of them with a missing number (so null -> NaN is tested)."""
    frame = load_month(data_dir, month)
    rng = np.random.default_rng(seed)
    missing = frame[FEATURES].isna().any(axis=1).to_numpy()
    with_nan = np.flatnonzero(missing)
    complete = np.flatnonzero(~missing)
    n_nan = min(len(with_nan), max(1, count // 4))
    picks = np.concatenate([rng.choice(with_nan, n_nan, replace=False),
                            rng.choice(complete, count - n_nan, replace=False)])
    rng.shuffle(picks)
    return [{name: clean(frame.at[int(i), name]) for name in FEATURES} for i in picks]


def predict(model, rows: list[Row]) -> list[float]:
    """P(late) in process: the answer every server must give back, bit for bit."""
    return [float(p) for p in model.predict_proba(to_frame(rows))[:, 1]]


def request_rows(data_dir: Path, *, month: int, singles: int, batches: int, batch_rows: int,
                 seed: int) -> tuple[list[list[Row]], list[list[Row]]]:
    """The fixed requests: `singles` one-row requests and `batches` requests of `batch_rows`."""
    rows = sample_rows(data_dir, month, singles + batches * batch_rows, seed)
    single = [[row] for row in rows[:singles]]
    rest = rows[singles:]
    return single, [rest[i * batch_rows:(i + 1) * batch_rows] for i in range(batches)]


def request_set(data_dir: Path, model, *, month: int, singles: int, batches: int, batch_rows: int,
                seed: int) -> RequestSet:
    single, batch = request_rows(data_dir, month=month, singles=singles, batches=batches, batch_rows=batch_rows, seed=seed)
    return RequestSet(single, batch, [predict(model, r) for r in single], [predict(model, r) for r in batch])


def rows_body(rows: list[Row]) -> bytes:
    """The {"rows": [...]} body; json.dumps writes floats with repr, which round-trips float64."""
    return json.dumps({ROWS_KEY: rows}, allow_nan=False).encode()


def rows_answer(body: bytes) -> list[float]:
    return [float(p) for p in json.loads(body)[ANSWER_KEY]]


def route(model: str) -> str:
    """The URL path of a model in the services whose routes we choose."""
    from bakeoff.stages.serving.contract import MAIN_MODEL

    return "/predict" if model == MAIN_MODEL else f"/{model}/predict"
