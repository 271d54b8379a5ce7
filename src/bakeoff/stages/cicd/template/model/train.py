"""Train on the data version in data.json with params.json: `python -m model.train OUT [CONFIG]`.

Writes OUT/model.pkl (a dict: estimator, categories, params) and OUT/train.json.
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from .features import LABEL, as_model_input, categories_of, data_version, read_months


def params_for(repo: Path, config: str) -> dict:
    params = json.loads((repo / "params.json").read_text())
    chosen = {"max_iter": params["max_iter"], "learning_rate": params["learning_rate"],
              "shuffle_labels": params.get("shuffle_labels", False)}
    if config:
        chosen.update(params["configs"][config])
    return chosen


def train(repo: Path, out: Path, config: str = "") -> dict:
    version, params = data_version(repo), params_for(repo, config)
    frame = read_months(version["train_months"], version["train_rows"], version["seed"])
    labels = frame[LABEL].to_numpy()
    if params["shuffle_labels"]:  # what a broken join does: labels no longer belong to their rows
        labels = np.random.default_rng(version["seed"]).permutation(labels)
    categories = categories_of(frame)
    estimator = HistGradientBoostingClassifier(max_iter=params["max_iter"], learning_rate=params["learning_rate"],
                                               categorical_features="from_dtype", early_stopping=False,
                                               random_state=version["seed"])
    estimator.fit(as_model_input(frame, categories), labels)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.pkl").write_bytes(pickle.dumps({"estimator": estimator, "categories": categories,
                                                  "params": params}))
    summary = {"rows": len(frame), "params": params}
    (out / "train.json").write_text(json.dumps(summary))
    return summary


if __name__ == "__main__":
    print(json.dumps(train(Path.cwd(), Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")))
