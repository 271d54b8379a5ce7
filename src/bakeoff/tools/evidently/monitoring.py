"""Evidently (0.7 API): a Report with the DataDriftPreset, its defaults, tests included.

Evidently picks a method per column (with more than 1,000 reference rows: normed Wasserstein
distance for numeric columns, Jensen-Shannon distance for categorical ones, threshold 0.1; with
fewer: KS / chi-squared p-values at 0.05) and calls the dataset drifted when at least half the
columns drift (drift_share=0.5). Feature score = distance / threshold, or log(p) / log(alpha)
for a p-value method, so 1.0 is Evidently's own line; dataset score = the largest feature
score. The verdict and the flags are Evidently's own tests.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset, DataSummaryPreset

from bakeoff.stages.monitoring.contract import (
    MonitorAdapter,
    QualityFindings,
    Verdict,
    distance_score,
    p_value_score,
)


def _failed(test: dict) -> bool:
    return str(test.get("status", "")).rsplit(".", 1)[-1] == "FAIL"


class EvidentlyMonitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.columns = [*numeric, *categorical]
        self.definition = DataDefinition(numerical_columns=list(numeric), categorical_columns=list(categorical))
        self.reference = Dataset.from_pandas(reference[self.columns], data_definition=self.definition)

    def _dataset(self, frame: pd.DataFrame) -> Dataset:
        return Dataset.from_pandas(frame[self.columns], data_definition=self.definition)

    def _drift_snapshot(self, current: pd.DataFrame):
        report = Report([DataDriftPreset()], include_tests=True)
        return report.run(current_data=self._dataset(current), reference_data=self.reference)

    def check(self, *, current: pd.DataFrame) -> Verdict:
        result = self._drift_snapshot(current).dict()
        scores, methods = {}, {}
        for metric in result["metrics"]:
            params = metric["config"]
            if not params["type"].endswith(":ValueDrift"):
                continue
            column, method, threshold = params["column"], params["method"], params["threshold"]
            methods[column] = method
            value = float(metric["value"])
            p_value = "p_value" in method  # Evidently's p-value tests are named "... p_value"
            scores[column] = p_value_score(value, threshold) if p_value else distance_score(value, threshold)
        flagged, dataset_drift = [], False
        for test in result["tests"]:
            params = test["metric_config"]["params"]
            if params["type"].endswith(":ValueDrift") and _failed(test):
                flagged.append(params["column"])
            elif params["type"].endswith(":DriftedColumnsCount"):
                dataset_drift = _failed(test)  # "share of drifted columns less than 0.5" failed
        return Verdict(drift=dataset_drift, score=max(scores.values()), feature_scores=scores,
                       flagged=[c for c in self.columns if c in flagged], methods=methods)

    def save_report(self, *, current: pd.DataFrame, path: Path) -> Path:
        target = Path(path) / "evidently-drift.html"
        self._drift_snapshot(current).save_html(str(target))
        return target

    def quality_check(self, *, current: pd.DataFrame) -> QualityFindings:
        # The data-quality preset with the tests Evidently derives from the reference.
        report = Report([DataSummaryPreset()], include_tests=True)
        result = report.run(current_data=self._dataset(current), reference_data=self.reference).dict()
        flagged: dict[str, list[str]] = {}
        for test in result["tests"]:
            column = test["metric_config"]["params"].get("column")
            if column and _failed(test):
                flagged.setdefault(column, []).append(test["description"])
        missing = {}
        for metric in result["metrics"]:
            params = metric["config"]
            if params["type"].endswith(":MissingValueCount") and params.get("column"):
                missing[params["column"]] = float(metric["value"]["share"])
        return QualityFindings(flagged={c: "; ".join(d) for c, d in flagged.items()}, missing_share=missing)
