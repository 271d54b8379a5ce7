"""The training runs every tracker records: the same small hyper-parameter sweep of a real
gradient-boosting model on the flights data. Worker side: base set only."""

from __future__ import annotations

import itertools
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from bakeoff.data.batches import CATEGORICAL, training_frame

GRID = {
    "learning_rate": [0.05, 0.1, 0.2, 0.3],
    "max_leaf_nodes": [7, 15, 31],
    "l2_regularization": [0.0, 1.0],
    "min_samples_leaf": [20, 50],
}


@dataclass
class TrainedRun:
    name: str
    params: dict[str, float | int]
    history: list[float]  # validation log-loss after each boosting iteration
    val_auc: float
    val_logloss: float
    model_path: Path
    probabilities: np.ndarray  # on the validation rows, for the read-back check


def grid(count: int, seed: int) -> list[dict[str, float | int]]:
    combos = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    order = np.random.default_rng(seed).permutation(len(combos))
    return [combos[i] for i in itertools.islice(itertools.cycle(order), count)]


def binary_log_loss(labels: np.ndarray, positive: np.ndarray) -> float:
    """sklearn's log_loss for two classes, without its input validation: that validation cost
    0.2 s per run of 100 steps, a tenth of the sweep, in every tool's trial alike."""
    eps = np.finfo(positive.dtype).eps
    p = np.clip(positive, eps, 1 - eps)
    y = np.asarray(labels, dtype=bool)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


def as_categories(frame: pd.DataFrame, categories: dict[str, pd.Index]) -> pd.DataFrame:
    frame = frame.copy()
    for column in CATEGORICAL:
        frame[column] = pd.Categorical(frame[column], categories=categories[column])
    return frame


# The training runs on one OpenMP thread. With two, OpenMP's spin-waiting made each small fit
# hostage to anything else on the 2-core machine: at load 9-12 one 4,000-row fit took 9-16 s
# instead of 0.5 s (same models, same AUCs), so the sweep's wall time measured the machine
# rather than the tracker. One thread also leaves the second core to the tracker's own threads
# and processes (W&B's core service, Aim's tracking thread, MLflow's server).
TRAINING_THREADS = 1


class Sweep:
    """Holds the data once per trial; `train` fits one run of the sweep."""

    def __init__(self, data_dir: Path, rows: int, steps: int, seed: int, out: Path) -> None:
        x_train, self.y_train, x_valid, self.y_valid = training_frame(data_dir, rows, seed)
        categories = {c: pd.Index(sorted(x_train[c].dropna().unique())) for c in CATEGORICAL}
        self.x_train = as_categories(x_train, categories)
        self.x_valid = as_categories(x_valid, categories)
        self.steps, self.seed, self.out = steps, seed, out

    def train(self, index: int, params: dict[str, float | int]) -> TrainedRun:
        model = HistGradientBoostingClassifier(
            max_iter=self.steps, early_stopping=False, categorical_features="from_dtype",
            random_state=self.seed, **params,
        )
        with threadpool_limits(limits=TRAINING_THREADS, user_api="openmp"):
            model.fit(self.x_train, self.y_train)
            history = [binary_log_loss(self.y_valid, p[:, 1]) for p in model.staged_predict_proba(self.x_valid)]
            probabilities = model.predict_proba(self.x_valid)[:, 1]
        path = self.out / f"model-{index:04d}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=5))
        return TrainedRun(
            name=f"sweep-{index:04d}", params=params, history=history,
            val_auc=float(roc_auc_score(self.y_valid, probabilities)), val_logloss=history[-1],
            model_path=path, probabilities=probabilities,
        )

    def predictions(self, model_file: Path) -> np.ndarray:
        model = pickle.loads(model_file.read_bytes())
        with threadpool_limits(limits=TRAINING_THREADS, user_api="openmp"):
            return model.predict_proba(self.x_valid)[:, 1]
