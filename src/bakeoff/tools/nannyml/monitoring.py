"""NannyML: univariate drift (Jensen-Shannon) and multivariate drift (PCA data reconstruction
error), both with their default thresholds; CBPE for ROC AUC without labels; its data-quality
calculators.

NannyML works on chunks: the reference is cut into chunks of the production batch size, and a
method's threshold is mean + 3 standard deviations of its values over those reference chunks.
So the monitor is fitted per batch size (`batch_rows` = chunk size). A batch of exactly that
size is one chunk; a larger one (the 1,000,000-row probe) is checked chunk by chunk and counts
as drifted when any chunk alerts. Feature score = JS distance / its upper threshold; the
reconstruction error is scored the same way; the batch drifts when NannyML raises any alert;
dataset score = the largest of those scores.
"""

from __future__ import annotations

import os

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # NannyML's documented opt-out of usage analytics

from pathlib import Path  # noqa: E402

import nannyml as nml  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bakeoff.stages.contract import Unsupported  # noqa: E402
from bakeoff.stages.monitoring.contract import MonitorAdapter, QualityFindings, Verdict  # noqa: E402

MULTIVARIATE = "reconstruction_error"


def _analysis(result) -> pd.DataFrame:
    return result.filter(period="analysis").to_df()


class NannymlMonitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.columns, self.numeric, self.categorical = [*numeric, *categorical], list(numeric), list(categorical)
        self.chunk_size = batch_rows
        self.reference = reference[self.columns].reset_index(drop=True)
        self.univariate = nml.UnivariateDriftCalculator(
            column_names=self.columns, treat_as_categorical=self.categorical, chunk_size=batch_rows,
        ).fit(self.reference)
        self.multivariate = nml.DataReconstructionDriftCalculator(
            column_names=self.columns, chunk_size=batch_rows,
        ).fit(self.reference)
        self.quality = None  # fitted on first use: only the quality probe needs it

    def _univariate(self, current: pd.DataFrame):
        return self.univariate.calculate(current[self.columns].reset_index(drop=True))

    def check(self, *, current: pd.DataFrame) -> Verdict:
        frame = current[self.columns].reset_index(drop=True)
        uni = _analysis(self.univariate.calculate(frame))
        multi = _analysis(self.multivariate.calculate(frame))
        scores, flagged, methods = {}, [], {}
        for column in self.columns:
            values = uni[(column, "jensen_shannon", "value")].to_numpy(dtype=float)
            upper = uni[(column, "jensen_shannon", "upper_threshold")].to_numpy(dtype=float)
            scores[column] = float(np.max(values / upper))
            methods[column] = "Jensen-Shannon distance"
            if uni[(column, "jensen_shannon", "alert")].any():
                flagged.append(column)
        error = multi[(MULTIVARIATE, "value")].to_numpy(dtype=float)
        error_upper = multi[(MULTIVARIATE, "upper_threshold")].to_numpy(dtype=float)
        multivariate_score = float(np.max(error / error_upper))
        drift = bool(flagged) or bool(multi[(MULTIVARIATE, "alert")].any())
        return Verdict(drift=drift, score=max(multivariate_score, *scores.values()), feature_scores=scores,
                       flagged=flagged, methods=methods)

    def save_report(self, *, current: pd.DataFrame, path: Path) -> Path:
        figure = self._univariate(current).filter(methods=["jensen_shannon"]).plot(kind="drift")
        target = Path(path) / "nannyml-univariate-drift.html"
        figure.write_html(str(target), include_plotlyjs=True)  # self-contained: no CDN at view time
        return target

    def fit_performance(self, *, reference: pd.DataFrame, labels: np.ndarray, scores: np.ndarray,
                        batch_rows: int) -> None:
        frame = pd.DataFrame({"y_pred_proba": scores, "y_pred": (scores >= 0.5).astype(int), "y_true": labels})
        self.cbpe = nml.CBPE(problem_type="classification_binary", y_pred_proba="y_pred_proba", y_pred="y_pred",
                             y_true="y_true", metrics=["roc_auc"], chunk_size=batch_rows).fit(frame)

    def estimate_performance(self, *, current: pd.DataFrame, scores: np.ndarray) -> float:
        frame = pd.DataFrame({"y_pred_proba": scores, "y_pred": (scores >= 0.5).astype(int)})
        estimated = _analysis(self.cbpe.estimate(frame))[("roc_auc", "value")].to_numpy(dtype=float)
        return float(np.mean(estimated))

    def quality_check(self, *, current: pd.DataFrame) -> QualityFindings:
        if self.quality is None:
            self.quality = {
                "missing values": nml.MissingValuesCalculator(column_names=self.columns, chunk_size=self.chunk_size),
                "unseen values": nml.UnseenValuesCalculator(column_names=self.categorical, chunk_size=self.chunk_size),
                "values out of the reference range": nml.NumericalRangeCalculator(
                    column_names=self.numeric, chunk_size=self.chunk_size),
            }
            for calculator in self.quality.values():
                calculator.fit(self.reference)
        frame = current[self.columns].reset_index(drop=True)
        flagged: dict[str, list[str]] = {}
        missing = {}
        for label, calculator in self.quality.items():
            table = _analysis(calculator.calculate(frame))
            for column in calculator.column_names:
                if table[(column, "alert")].any():
                    value = float(table[(column, "value")].max())
                    flagged.setdefault(column, []).append(f"{label} alert (value {value:.3g})")
                if label == "missing values":
                    missing[column] = float(table[(column, "value")].mean())
        return QualityFindings(flagged={c: "; ".join(v) for c, v in flagged.items()}, missing_share=missing)

    def write_profile(self, *, current: pd.DataFrame, path: Path) -> Path:
        raise Unsupported("NannyML stores calculator results (pickle or raw files), not profiles that merge "
                          "across batches without the raw rows")
