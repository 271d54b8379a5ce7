"""The monitoring stage as the host sees it."""

from bakeoff.stages.spec import Metric, Probe, StageSpec, TrialKind

MONITORING = StageSpec(
    name="monitoring",
    title="Model monitoring",
    question="Which monitor warns us when our flights model is in trouble, without waking us for nothing, "
             "and at what cost per check?",
    contract="bakeoff.stages.monitoring.contract:MonitorAdapter",
    kinds={
        "cost": TrialKind("bakeoff.stages.monitoring.workload:cost_trial", timeout=300, repeated=True),
        # Counts, rates and outcomes only (detection, false alarms, probes' outcomes): it runs beside
        # another tool's suite. Full mode: about 1,850 Evidently checks at about 1 s each.
        "suite": TrialKind("bakeoff.stages.monitoring.suite:suite_trial", timeout=3_600, shares_machine=True),
        # The suite's memory and time figures (peak memory of one check per size, the
        # 1,000,000-row check), measured with the machine to itself.
        "scale": TrialKind("bakeoff.stages.monitoring.suite:scale_trial", timeout=900),
    },
    # Batch counts are per batch size, in the order of `sizes`. Calibration and no-drift batches
    # are disjoint: thresholds are set on the first, false alarms measured on the second. Batch i
    # of a kind is checked against reference split i mod splits (large batches need many splits:
    # see scenarios.py).
    quick={"sizes": [100, 1_000, 10_000], "reference_rows": 50_000,
           "calibration_batches": [20, 20, 20], "no_drift_batches": [20, 20, 20], "drift_batches": [1, 1, 1],
           "splits": [1, 3, 10], "timed_checks": 2, "timeline_rows": 1_000, "auc_tolerance": 0.005,
           "scale_rows": 1_000_000, "scale_memory_mb": 4_096, "scale_budget_s": 240, "workers": 2},
    full={"sizes": [100, 1_000, 10_000], "reference_rows": 50_000,
          "calibration_batches": [200, 200, 200], "no_drift_batches": [200, 200, 200], "drift_batches": [30, 30, 10],
          "splits": [4, 10, 50], "timed_checks": 5, "timeline_rows": 10_000, "auc_tolerance": 0.005,
          "scale_rows": 1_000_000, "scale_memory_mb": 4_096, "scale_budget_s": 600, "workers": 2},
    # The warm-up round (figures discarded) runs the cost trial's code paths (imports, fit, sanity
    # check, a timed check) on one batch size: NannyML's fit for 100-row chunks alone takes seconds.
    warmup={"sizes": [1_000], "timed_checks": 1},
    # Materiality (the difference a team would feel): a check runs once per batch, so under half a
    # second per 1,000 rows goes unnoticed; rates within 5 percentage points are ties. A default
    # false-alarm rate above 25% (one no-drift batch in four raises an alarm) is a failed core
    # check: a team stops reading such alerts. A profile may accept it (accept_failures).
    metrics={
        "check_ms_100": Metric("One check of a 100-row batch", "ms", "lower", "shown"),
        "check_ms_1000": Metric("One check of a 1,000-row batch", "ms", "lower", "speed", headline=True, material=500),
        "check_ms_10000": Metric("One check of a 10,000-row batch", "ms", "lower", "speed", headline=True, material=1000),
        "fit_seconds": Metric("Fit on the 50,000-row reference (1,000-row batches)", "s", "lower", "speed", material=10),
        "peak_mb_10000": Metric("Peak memory allocated by one 10,000-row check", "MB", "lower", "resource", material=200),
        # Rates: the median over the three batch sizes (interval = their spread); per size in the
        # stage's own figures.
        "false_alarm_default_pct": Metric("False alarms on no-drift batches, tool defaults", "%", "lower", "correctness",
                                          headline=True, material=5, limit=25),
        "false_alarm_calibrated_pct": Metric("False alarms, threshold calibrated to 5%", "%", "lower", "correctness", material=5),
        "detection_default_pct": Metric("Drifted batches caught (8 scenarios), tool defaults", "%", "higher", "correctness",
                                        headline=True, material=5),
        "detection_calibrated_pct": Metric("Drifted batches caught, calibrated threshold", "%", "higher", "correctness",
                                           headline=True, material=5),
        "named_pct": Metric("Drifted batches whose changed feature the tool named", "%", "higher", "correctness", material=5),
        "scale_seconds": Metric("One check of 1,000,000 rows", "s", "lower", "speed", material=30),
        "scale_peak_mb": Metric("Peak resident memory of the trial during the 1,000,000-row check", "MB", "lower", "resource", material=500),
    },
    probes={
        "visual_report": Probe("The tool writes its own visual drift report (HTML) naming the drifted feature"),
        "per_feature_scores": Probe("A score for every feature, the changed one ranked first"),
        "performance_estimation": Probe("ROC AUC estimated without labels, against the true AUC of each real month"),
        "quality_checks": Probe("The tool's own checks flag a missing-value surge and a column turned to text"),
        "profiles_merge": Probe("Batch profiles stored, read back and merged without the raw rows, exactly", core=True),
        "million_rows": Probe("A 1,000,000-row batch checked within the time and memory budget"),
    },
    smoke="bakeoff.stages.monitoring.workload:smoke",
    section="bakeoff.stages.monitoring.section:figures",
    upgrade_facts="bakeoff.stages.monitoring.figures:upgrade_facts",
    # An estimate, not a measured total (docs/monitoring.md, "Budget"): at load 2-3 four of the six
    # tools (ks_chi2, frouros, nannyml, whylogs) took 292 s; alibi-detect adds about 60 s and
    # Evidently about 270 s (207 suite checks at ~0.8-1 s on two workers, cost rounds ~12 s, its
    # scale trial), partly beside the others' suites. Ten minutes, as before: the changes save
    # tens of seconds, not minutes.
    quick_budget_s=600,
    demo_tool="evidently",
)
