"""AUC on the held-out month: `python -m model.evaluate MODEL.pkl OUT.json`."""

import json
import pickle
import sys
from pathlib import Path

from sklearn.metrics import roc_auc_score

from .features import LABEL, as_model_input, data_version, read_months


def evaluate(repo: Path, model_path: Path) -> float:
    version = data_version(repo)
    model = pickle.loads(model_path.read_bytes())
    frame = read_months([version["holdout_month"]], version["holdout_rows"], version["seed"] + 1)
    scores = model["estimator"].predict_proba(as_model_input(frame, model["categories"]))[:, 1]
    return float(roc_auc_score(frame[LABEL], scores))


if __name__ == "__main__":
    auc = evaluate(Path.cwd(), Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps({"auc": auc}))
    print(f"held-out AUC {auc:.4f}")
