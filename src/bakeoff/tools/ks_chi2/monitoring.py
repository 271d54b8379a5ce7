"""Baseline monitor: per-feature two-sample tests from scipy, Bonferroni-corrected. No tool.

Kolmogorov-Smirnov for numeric features (missing values left out), chi-squared test of
homogeneity on the category counts for categorical ones (a category unseen in the reference is
just another column of the table). A feature drifts when its p-value is below 0.05 / m (m = the
number of features); the batch drifts when any feature does. Feature score = log(p)/log(0.05/m),
1.0 at the corrected threshold; dataset score = the largest feature score (equivalent to the
smallest p-value).
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp

from bakeoff.stages.monitoring.contract import MonitorAdapter, Verdict, p_value_score

ALPHA = 0.05


class KsChi2Monitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.threshold = ALPHA / (len(numeric) + len(categorical))
        self.ref_values = {c: reference[c].dropna().to_numpy(dtype=float) for c in numeric}
        self.ref_counts = {c: reference[c].fillna("<missing>").value_counts() for c in categorical}

    def check(self, *, current: pd.DataFrame) -> Verdict:
        p_values, methods = {}, {}
        for column in self.numeric:
            values = current[column].dropna().to_numpy(dtype=float)
            p_values[column] = float(ks_2samp(self.ref_values[column], values).pvalue) if len(values) else 1.0
            methods[column] = "KS p-value"
        for column in self.categorical:
            counts = current[column].fillna("<missing>").value_counts()
            table = pd.concat([self.ref_counts[column], counts], axis=1).fillna(0).to_numpy().T
            table = table[:, table.sum(axis=0) > 0]
            p_values[column] = float(chi2_contingency(table).pvalue) if table.shape[1] > 1 else 1.0
            methods[column] = "chi-squared p-value"
        scores = {c: p_value_score(p, self.threshold) for c, p in p_values.items()}
        flagged = [c for c, p in p_values.items() if p < self.threshold]
        return Verdict(drift=bool(flagged), score=max(scores.values()), feature_scores=scores, flagged=flagged,
                       methods=methods)
