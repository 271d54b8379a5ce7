"""The scenario suite: production batches with known ground truth, made from the real flights.

Worker side: standard library and the base set only. Everything is a pure function of the
prepared data, the seed and the scenario's name, so every tool checks exactly the same rows.

A split shuffles the training window (months 1-3) and cuts it into three disjoint parts: the
reference a monitor learns, a calibration pool (no-drift batches that set the calibrated
thresholds) and an evaluation pool (no-drift batches that measure false alarms, and the rows
every drift scenario starts from). A no-drift batch is drawn without replacement from its pool:
with the reference, a random split of the same rows, so an exact "no drift" case. A 10,000-row
batch takes most of a 14,000-row pool, so its batches share that pool's own sampling noise; the
suite therefore draws large batches across several splits (several references), each split a
fresh shuffle of the window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.data.batches import (
    CATEGORICAL,
    LABEL,
    NUMERIC,
    SCORES_FILE,
    TRAIN_MONTHS,
    load_model_scores,
    load_month,
    load_months,
)

# `month` is a model feature but not monitored: every production month lies outside the
# training window by construction, so it would alarm on every batch and teach nothing.
MONITORED_NUMERIC = [c for c in NUMERIC if c != "month"]
MONITORED = MONITORED_NUMERIC + CATEGORICAL
MODEL_FEATURES = NUMERIC + CATEGORICAL
SCORE = "model_score"  # the column a production month batch's frame carries the model's scores in


def month_scores(data_dir: Path, month: int) -> np.ndarray:
    """The reference model's score (P(late)) for every row of `month`, in the month file's row
    order, as prepared data (batches.SCORES_FILE): a monitor's env never unpickles the model,
    so one whose numpy or scikit-learn differs from the base set's gets the same scores."""
    scores = np.asarray(load_model_scores(data_dir, month), dtype=float)
    rows = len(load_month(data_dir, month))
    if len(scores) != rows:
        raise ValueError(f"{SCORES_FILE}: {len(scores)} scores for month {month}, which has {rows} rows")
    return scores


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str  # what a reader sees
    group: str  # no drift | covariate | categorical | quality | concept
    truth: tuple[str, ...]  # the features whose distribution was changed
    drift: bool  # should a feature-drift monitor warn?
    how: str  # the injection, for the record


SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("no_drift", "No drift", "no drift", (), False,
             "rows drawn without replacement from held-out rows of the training months"),
    Scenario("cov_temp_small", "Temperature shift, small", "covariate", ("temp",), True,
             "rows resampled with weight exp(0.1 z_temp): mean up about 0.1 sd"),
    Scenario("cov_temp_medium", "Temperature shift, medium", "covariate", ("temp",), True,
             "rows resampled with weight exp(0.3 z_temp): mean up about 0.3 sd"),
    Scenario("cov_temp_strong", "Temperature shift, strong", "covariate", ("temp",), True,
             "rows resampled with weight exp(1.0 z_temp): mean up about 1 sd"),
    Scenario("cov_several", "Several features shift", "covariate", ("distance", "wind_speed", "humid"), True,
             "rows resampled with weight exp(0.3 (z_distance + z_wind_speed + z_humid))"),
    Scenario("cat_carrier_mix", "Carrier mix changes", "categorical", ("carrier",), True,
             "rows resampled with carrier EV weighted x2 and UA x0.5"),
    Scenario("cat_unseen", "Unseen carrier", "categorical", ("carrier",), True,
             "5% of rows get carrier 'ZZ', never seen in the reference"),
    Scenario("quality_missing", "Missing-value surge", "quality", ("wind_speed",), True,
             "25% of rows lose wind_speed (NaN); reference has 0.2% missing"),
    Scenario("quality_unit", "Temperature in Celsius", "quality", ("temp",), True,
             "temp converted from Fahrenheit to Celsius in every row"),
    Scenario("concept", "Concept drift, features unchanged", "concept", (), False,
             "no-drift rows; the label of evening flights (18h+) redrawn at the base rate"),
]}
DRIFT_SCENARIOS = [name for name, s in SCENARIOS.items() if s.drift]

TILTS = {
    "cov_temp_small": {"temp": 0.1},
    "cov_temp_medium": {"temp": 0.3},
    "cov_temp_strong": {"temp": 1.0},
    "cov_several": {"distance": 0.3, "wind_speed": 0.3, "humid": 0.3},
}
CARRIER_WEIGHTS = {"EV": 2.0, "UA": 0.5}
UNSEEN_CARRIER, UNSEEN_SHARE = "ZZ", 0.05
MISSING_COLUMN, MISSING_SHARE = "wind_speed", 0.25
EVENING_HOUR = 18


@dataclass
class Batch:
    scenario: str
    rows: int
    index: int
    features: pd.DataFrame  # MONITORED columns, what the monitor sees
    labels: np.ndarray  # the labels after the scenario (concept drift changes them)
    model_frame: pd.DataFrame  # MODEL_FEATURES
    scores: np.ndarray | None = None  # the reference model's scores (production month batches only)


class Scenarios:
    """The split of the training window and every batch drawn from it."""

    def __init__(self, data_dir: Path, *, seed: int, reference_rows: int, split: int = 0) -> None:
        self.data_dir, self.split = Path(data_dir), split
        self.seed = seed if split == 0 else seed * 1_000 + split
        window = load_months(self.data_dir, TRAIN_MONTHS)
        order = np.random.default_rng(self.seed).permutation(len(window))
        if reference_rows >= len(window) - 2:
            raise ValueError(f"reference_rows must leave held-out rows: {reference_rows} of {len(window)}")
        rest = order[reference_rows:]
        half = len(rest) // 2
        self.window = window
        self.reference = window.iloc[order[:reference_rows]].reset_index(drop=True)
        self.calibration_pool = window.iloc[rest[:half]].reset_index(drop=True)
        self.evaluation_pool = window.iloc[rest[half:]].reset_index(drop=True)
        self.held_out = window.iloc[rest].reset_index(drop=True)
        # Standardisation of the tilted features, from the reference (what "1 sd" means).
        self.stats = {c: (float(self.reference[c].mean()), float(self.reference[c].std()))
                      for c in {f for tilt in TILTS.values() for f in tilt}}

    def reference_features(self) -> pd.DataFrame:
        return self.reference[MONITORED].copy()

    def _rng(self, *parts: object) -> np.random.Generator:
        # One stream per (scenario, size, index): a batch does not depend on what ran before.
        text = "|".join(str(p) for p in (self.seed, *parts)).encode()
        return np.random.default_rng(int.from_bytes(hashlib.sha256(text).digest()[:8], "little"))

    def _draw(self, pool: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        if rows > len(pool):
            raise ValueError(f"a {rows}-row batch needs a pool of at least {rows} rows, have {len(pool)}")
        return pool.iloc[rng.choice(len(pool), size=rows, replace=False)].reset_index(drop=True)

    def _weighted(self, pool: pd.DataFrame, weights: np.ndarray, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        p = weights / weights.sum()
        return pool.iloc[rng.choice(len(pool), size=rows, replace=True, p=p)].reset_index(drop=True)

    def calibration_batch(self, rows: int, index: int) -> Batch:
        frame = self._draw(self.calibration_pool, rows, self._rng("calibration", rows, index))
        return self._batch("calibration", rows, index, frame)

    def batch(self, scenario: str, rows: int, index: int) -> Batch:
        """Batch `index` of `scenario` with `rows` rows, always the same for the same arguments."""
        rng = self._rng(scenario, rows, index)
        pool = self.evaluation_pool
        if scenario in TILTS:
            z = np.zeros(len(pool))
            for column, beta in TILTS[scenario].items():
                mean, sd = self.stats[column]
                z += beta * np.nan_to_num((pool[column].to_numpy(dtype=float) - mean) / sd)
            return self._batch(scenario, rows, index, self._weighted(pool, np.exp(z), rows, rng))
        if scenario == "cat_carrier_mix":
            weights = pool["carrier"].map(CARRIER_WEIGHTS).fillna(1.0).to_numpy(dtype=float)
            return self._batch(scenario, rows, index, self._weighted(pool, weights, rows, rng))
        frame = self._draw(pool, rows, rng)
        if scenario == "cat_unseen":
            hit = rng.random(rows) < UNSEEN_SHARE
            frame.loc[hit, "carrier"] = UNSEEN_CARRIER
        elif scenario == "quality_missing":
            frame.loc[rng.random(rows) < MISSING_SHARE, MISSING_COLUMN] = np.nan
        elif scenario == "quality_unit":
            frame["temp"] = (frame["temp"] - 32.0) * 5.0 / 9.0
        elif scenario == "concept":
            frame = self.concept_labels(frame, rng)
        elif scenario != "no_drift":
            raise ValueError(f"unknown scenario {scenario!r}")
        return self._batch(scenario, rows, index, frame)

    def concept_labels(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """The changed label rule: evening flights' labels redrawn at the base rate, so the
        features say nothing about them any more; the features themselves are untouched."""
        frame = frame.copy()
        evening = frame["sched_dep_hour"].to_numpy() >= EVENING_HOUR
        redrawn = (rng.random(len(frame)) < float(self.reference[LABEL].mean())).astype(frame[LABEL].dtype)
        frame.loc[evening, LABEL] = redrawn[evening]
        return frame

    def month_batch(self, month: int, rows: int) -> Batch:
        """A production batch from real month `month`: for the training months, drawn from
        their held-out rows (never rows the reference holds) while they suffice."""
        if month in TRAIN_MONTHS:
            pool = self.held_out[self.held_out["month"] == month].reset_index(drop=True)
            if len(pool) < rows:  # large batches: the whole month, some rows shared with the reference
                pool = load_month(self.data_dir, month)
        else:  # a production month: its rows carry the model's scores (performance estimation)
            pool = load_month(self.data_dir, month)
            pool[SCORE] = month_scores(self.data_dir, month)
        frame = self._draw(pool, min(rows, len(pool)), self._rng("month", month, rows))
        return self._batch(f"month_{month:02d}", rows, 0, frame)

    def scale_batch(self, rows: int) -> Batch:
        """A very large no-drift batch, resampled with replacement from the held-out rows."""
        rng = self._rng("scale", rows)
        frame = self.held_out.iloc[rng.integers(0, len(self.held_out), size=rows)].reset_index(drop=True)
        return self._batch("scale", rows, 0, frame)

    def _batch(self, scenario: str, rows: int, index: int, frame: pd.DataFrame) -> Batch:
        scores = frame[SCORE].to_numpy(dtype=float) if SCORE in frame else None
        return Batch(scenario, rows, index, frame[MONITORED].copy(), frame[LABEL].to_numpy(),
                     frame[MODEL_FEATURES], scores)


def quality_problem_batch(batch: Batch) -> pd.DataFrame:
    """The data-quality probe's batch: a missing-value surge in wind_speed and `distance`
    arriving as text (an upstream schema change), both at once."""
    frame = batch.features.copy()
    rng = np.random.default_rng(len(frame))
    frame.loc[rng.random(len(frame)) < MISSING_SHARE, MISSING_COLUMN] = np.nan
    frame["distance"] = frame["distance"].map(lambda miles: f"{miles} mi")
    return frame
