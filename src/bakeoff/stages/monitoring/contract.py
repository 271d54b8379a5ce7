"""The model-monitoring contract: what the monitoring stage asks of every drift monitor.

An adapter subclasses MonitorAdapter and translates each method into its tool's own API, with
the tool's documented defaults for tabular data drift. Every method takes keyword-only
arguments. A capability the tool lacks raises Unsupported: never a workaround outside the tool.

Scores share one orientation so the workload can treat every tool alike: higher means more
drift, and a per-feature score of 1.0 sits exactly on the tool's own default threshold for that
feature (how a p-value or a distance becomes such a score is the adapter's to state, in its
docstring and its tool.toml). The workload calibrates a second threshold on the dataset-level
`score` from no-drift batches; the adapter never sees that threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.stages.contract import Unsupported, required

__all__ = ["MonitorAdapter", "Verdict", "QualityFindings", "ProfileSummary", "Unsupported",
           "p_value_score", "distance_score", "contract_method_names"]

# The smallest p-value kept: beyond it a score would be infinite (the workload stores JSON).
P_FLOOR = 1e-300


def p_value_score(p_value: float, alpha: float) -> float:
    """A p-value as a drift score: log(p) / log(alpha). 1.0 at p = alpha, higher = more drift."""
    p = min(max(float(p_value), P_FLOOR), 1.0)
    return float(np.log(p) / np.log(alpha))


def distance_score(distance: float, threshold: float) -> float:
    """A distance as a drift score: distance / threshold. 1.0 at the threshold."""
    return float(distance) / float(threshold)


@dataclass
class Verdict:
    """What one check of one batch said."""

    drift: bool  # the tool's own dataset-level decision with its documented defaults
    score: float  # dataset-level drift score, higher = more drift (how it is derived: see adapter)
    feature_scores: dict[str, float]  # every monitored feature -> score (1.0 = tool's threshold)
    flagged: list[str]  # features the tool itself marks as drifted
    methods: dict[str, str] = field(default_factory=dict)  # feature -> the tool's method name


@dataclass
class QualityFindings:
    """The tool's own data-quality checks on one batch."""

    flagged: dict[str, str]  # column -> what the tool found wrong with it (its words)
    missing_share: dict[str, float] = field(default_factory=dict)  # column -> share missing, as the tool reports


@dataclass
class ProfileSummary:
    """Statistics read back from a stored (or merged) profile, without the raw rows."""

    rows: int
    means: dict[str, float]  # numeric column -> mean of its non-missing values
    missing: dict[str, int] = field(default_factory=dict)  # column -> missing-value count


class MonitorAdapter:
    """One drift monitor. Constructed once per trial with the options from its tool.toml.

    Call order, within one trial process (the workload, never the adapter, decides it):

    1. `fit(...)` learns a reference for one batch size. It is called again, on the same
       adapter, whenever the reference or the batch size changes (each batch size; each
       reference split of the suite): a new `fit` replaces everything the previous one learnt.
    2. `check(current=...)` then runs once per batch, any number of times, each batch
       independent of the others (no state may carry from one check to the next). In the
       suite, checks run in forked worker processes that inherit the fitted adapter: a check
       must not rely on anything a sibling check changed.
    3. After a `fit`, and between its checks, the probes call the optional methods on the same
       fitted adapter, each once per probe: `save_report` (one batch), `quality_check` (a clean
       batch, then a broken one), `write_profile` once per batch then `merge_profiles` once on
       the files written. `fit_performance` is called once, on labelled data with the model's
       scores, and is followed by `estimate_performance` once per production month; it does
       not replace the drift reference. The heaviest call, one `check` of 1,000,000 rows, comes
       last in the suite, after a fit for 10,000-row batches.

    Nothing is closed: the trial process ends after its last call. Files go only into the
    folders the workload passes (`path`).
    """

    @required
    def fit(self, *, reference: pd.DataFrame, numeric: list[str], categorical: list[str],
            batch_rows: int) -> None:
        """Learn the reference: `reference` holds the monitored columns (numeric ones as
        floats or ints with NaN for missing, categorical ones as strings). `batch_rows` is the
        size of the production batches this monitor will check; tools that cut the reference
        into chunks of the batch size (NannyML) need it, the others ignore it."""
        raise NotImplementedError  # required: every adapter overrides it

    @required
    def check(self, *, current: pd.DataFrame) -> Verdict:
        """Compare one production batch (same columns as the reference) with the reference."""
        raise NotImplementedError  # required: every adapter overrides it

    def save_report(self, *, current: pd.DataFrame, path: Path) -> Path:
        """Write the tool's own visual drift report for `current` (HTML) into folder `path`;
        return the file. Unsupported if the tool draws none."""
        raise Unsupported("no visual report")

    def fit_performance(self, *, reference: pd.DataFrame, labels: np.ndarray, scores: np.ndarray,
                        batch_rows: int) -> None:
        """Learn how the model's scores relate to its accuracy on labelled reference data
        (`labels` 0/1, `scores` the model's probability of class 1), for estimating ROC AUC on
        batches of `batch_rows` rows without labels. Unsupported without such an estimator."""
        raise Unsupported("no performance estimation without labels")

    def estimate_performance(self, *, current: pd.DataFrame, scores: np.ndarray) -> float:
        """The tool's estimate of the model's ROC AUC on `current`, from features and scores only."""
        raise Unsupported("no performance estimation without labels")

    def quality_check(self, *, current: pd.DataFrame) -> QualityFindings:
        """Run the tool's own data-quality checks (missing values, types, unseen values...)
        against the fitted reference. Unsupported if the tool has none."""
        raise Unsupported("no data-quality checks")

    def write_profile(self, *, current: pd.DataFrame, path: Path) -> Path:
        """Summarise `current` into the tool's profile format, store it under folder `path`
        and return the file. Unsupported if the tool keeps no profiles."""
        raise Unsupported("no stored profiles")

    def merge_profiles(self, *, paths: list[Path]) -> ProfileSummary:
        """Read stored profiles back and merge them with the tool's own merge, without the
        raw rows; return what the merged profile says."""
        raise Unsupported("no profile merge")


def contract_method_names() -> set[str]:
    """The public methods an adapter may define (anything else is not part of the stage)."""
    return {name for name in vars(MonitorAdapter) if not name.startswith("_")}
