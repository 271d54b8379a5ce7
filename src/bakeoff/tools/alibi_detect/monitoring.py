"""Alibi Detect: TabularDrift with its defaults (KS per numeric feature, chi-squared per
categorical feature, Bonferroni over features at p_val=0.05), numpy/scipy only.

alibi-detect cannot be installed next to the base set (numpy 2.1.3; see tool.toml), so its env
is off the base set: numpy 1.26.4 with the base set's pandas, pyarrow and scikit-learn.

TabularDrift takes one numeric array: categories are ordinal-encoded (an unseen category gets
a new code; alibi-detect >= 0.6.1 accepts unseen categories in test batches), and rows with a
missing value are left out (its tests take complete arrays). Feature score =
log(p) / log(p_val / n_features), 1.0 at the corrected threshold; dataset score = the largest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from alibi_detect.cd import TabularDrift

from bakeoff.stages.monitoring.contract import MonitorAdapter, Verdict, p_value_score


class AlibiDetectMonitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.columns = [*self.numeric, *self.categorical]
        self.codes = {c: {v: i for i, v in enumerate(sorted(reference[c].dropna().unique()))} for c in categorical}
        categories = {len(self.numeric) + i: None for i in range(len(self.categorical))}  # None: infer from x_ref
        self.detector = TabularDrift(self._encode(reference), p_val=0.05, categories_per_feature=categories)

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        """One float array, categories as codes; rows with a missing value are left out
        (alibi-detect's tests take complete arrays: scipy's KS returns NaN on a NaN)."""
        parts = [frame[c].to_numpy(dtype=float) for c in self.numeric]
        for column in self.categorical:
            codes = self.codes[column]
            parts.append(frame[column].map(lambda v, codes=codes: codes.get(v, len(codes))).to_numpy(dtype=float))
        values = np.column_stack(parts)
        return values[~np.isnan(values).any(axis=1)]

    def check(self, *, current: pd.DataFrame) -> Verdict:
        found = self.detector.predict(self._encode(current), drift_type="batch", return_p_val=True)["data"]
        threshold = float(found["threshold"])
        p_values = dict(zip(self.columns, np.asarray(found["p_val"], dtype=float)))
        scores = {c: p_value_score(p, threshold) for c, p in p_values.items()}
        flagged = [c for c, p in p_values.items() if p < threshold]
        methods = {**{c: "KS p-value" for c in self.numeric}, **{c: "chi-squared p-value" for c in self.categorical}}
        return Verdict(drift=bool(found["is_drift"]), score=max(scores.values()), feature_scores=scores,
                       flagged=flagged, methods=methods)
