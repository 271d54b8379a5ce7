"""Frouros: one batch data-drift detector per feature, as its README's data-drift quickstart
does it: KSTest for numeric features (missing values left out: the detectors take complete
arrays), ChiSquareTest for categorical ones, drift when p <= 0.001 (the quickstart's alpha).

Frouros is a library of detectors, not a monitoring service: it has no dataset-level rule, no
correction across features, no report, no profiles, no data-quality checks. The batch counts
as drifted when any feature's detector says so. Feature score = log(p) / log(0.001); dataset
score = the largest.
"""

from __future__ import annotations

import pandas as pd
from frouros.detectors.data_drift import ChiSquareTest, KSTest

from bakeoff.stages.monitoring.contract import MonitorAdapter, Verdict, p_value_score

ALPHA = 0.001  # README, "Data drift" quickstart: `alpha = 0.001`, drift when `p_value <= alpha`


class FrourosMonitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.detectors = {}
        for column in numeric:
            self.detectors[column] = KSTest()
            self.detectors[column].fit(X=reference[column].dropna().to_numpy(dtype=float))
        for column in categorical:
            self.detectors[column] = ChiSquareTest()
            self.detectors[column].fit(X=reference[column].to_numpy(dtype=object))

    def check(self, *, current: pd.DataFrame) -> Verdict:
        scores, flagged, methods = {}, [], {}
        for column, detector in self.detectors.items():
            if isinstance(detector, KSTest):
                values = current[column].dropna().to_numpy(dtype=float)
            else:
                values = current[column].to_numpy(dtype=object)
            outcome, _ = detector.compare(X=values)
            scores[column] = p_value_score(outcome.p_value, ALPHA)
            methods[column] = f"{type(detector).__name__} p-value"
            if outcome.p_value <= ALPHA:
                flagged.append(column)
        return Verdict(drift=bool(flagged), score=max(scores.values()), feature_scores=scores, flagged=flagged,
                       methods=methods)
