"""whylogs: profiles (statistical sketches) of the reference and of each batch, compared with
whylogs' own drift algorithms at their defaults.

`why.log(frame).view()` profiles a frame; `calculate_drift_scores(..., with_thresholds=True)`
picks per column the KS test on the two KLL sketches (numeric) or a chi-squared test on the
frequent-items sketches (strings), and sorts the p-value into NO_DRIFT (>= 0.15),
POSSIBLE_DRIFT or DRIFT (< 0.05). A feature is flagged in DRIFT; the batch drifts when any
feature does (whylogs has no dataset-level rule). Feature score = log(p) / log(0.05); dataset
score = the largest. Only the profiles are compared: the raw reference rows are not kept.
"""

from __future__ import annotations

import os

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")  # whylogs' documented telemetry opt-out

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import whylogs as why  # noqa: E402
from whylogs.core.constraints import ConstraintsBuilder  # noqa: E402
from whylogs.core.view.dataset_profile_view import DatasetProfileView  # noqa: E402
from whylogs.experimental.constraints_generation import generate_constraints_from_reference_profile  # noqa: E402
from whylogs.viz import NotebookProfileVisualizer  # noqa: E402
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores  # noqa: E402

from bakeoff.stages.monitoring.contract import (  # noqa: E402
    MonitorAdapter,
    ProfileSummary,
    QualityFindings,
    Verdict,
    p_value_score,
)

DRIFT_P = 0.05  # upper bound of whylogs' default DRIFT category for KS and chi-squared


class WhylogsMonitor(MonitorAdapter):
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str], batch_rows: int) -> None:
        self.columns, self.numeric = [*numeric, *categorical], list(numeric)
        self.reference = why.log(reference[self.columns]).view()
        self.constraints = None  # generated on first use: only the quality probe needs them

    def _profile(self, frame: pd.DataFrame) -> DatasetProfileView:
        return why.log(frame[self.columns]).view()

    def check(self, *, current: pd.DataFrame) -> Verdict:
        drift = calculate_drift_scores(target_view=self._profile(current), reference_view=self.reference,
                                       with_thresholds=True)
        scores, flagged, methods = {}, [], {}
        for column in self.columns:
            found = drift.get(column)
            if not found:  # whylogs could not score the column (no usable metric)
                continue
            scores[column] = p_value_score(found["pvalue"], DRIFT_P)
            methods[column] = f"{found['algorithm']} p-value"
            if found["drift_category"] == "DRIFT":
                flagged.append(column)
        return Verdict(drift=bool(flagged), score=max(scores.values(), default=0.0), feature_scores=scores,
                       flagged=flagged, methods=methods)

    def save_report(self, *, current: pd.DataFrame, path: Path) -> Path:
        visualizer = NotebookProfileVisualizer()
        visualizer.set_profiles(target_profile_view=self._profile(current), reference_profile_view=self.reference)
        target = Path(path) / "whylogs-summary-drift.html"
        target.write_text(visualizer.summary_drift_report().data)
        return target

    def quality_check(self, *, current: pd.DataFrame) -> QualityFindings:
        # Constraints generated from the reference profile (whylogs' experimental generator).
        if self.constraints is None:
            self.constraints = generate_constraints_from_reference_profile(self.reference)
        profile = self._profile(current)
        builder = ConstraintsBuilder(dataset_profile_view=profile)
        builder.add_constraints(self.constraints)
        flagged: dict[str, list[str]] = {}
        for outcome in builder.build().generate_constraints_report():
            column = outcome.name.split(" ", 1)[0]
            if outcome.failed and column in self.columns:
                flagged.setdefault(column, []).append(f"failed '{outcome.name}'")
        missing = {}
        for column in self.columns:
            counts = profile.get_column(column).to_summary_dict()
            missing[column] = counts["counts/null"] / counts["counts/n"] if counts["counts/n"] else 0.0
        return QualityFindings(flagged={c: "; ".join(v) for c, v in flagged.items()}, missing_share=missing)

    def write_profile(self, *, current: pd.DataFrame, path: Path) -> Path:
        target = Path(path) / "profile.bin"
        self._profile(current).write(str(target))
        return target

    def merge_profiles(self, *, paths: list[Path]) -> ProfileSummary:
        views = [DatasetProfileView.read(str(p)) for p in paths]
        merged = views[0]
        for view in views[1:]:
            merged = merged.merge(view)
        summary = {c: merged.get_column(c).to_summary_dict() for c in self.columns}
        rows = int(summary[self.columns[0]]["counts/n"])
        means = {c: float(summary[c]["distribution/mean"]) for c in self.numeric}
        missing = {c: int(summary[c]["counts/null"]) for c in self.columns}
        return ProfileSummary(rows=rows, means=means, missing=missing)
