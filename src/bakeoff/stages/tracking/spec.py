"""The tracking stage as the host sees it."""

from bakeoff.stages.spec import Metric, StageSpec

TRACKING = StageSpec(
    name="tracking",
    title="Experiment tracking",
    question="Which experiment tracker records and finds our runs best, and at what cost?",
    workload="bakeoff.stages.tracking.workload:run_trial",
    contract="bakeoff.stages.tracking.contract:TrackingAdapter",
    repeated_kind="sweep",
    once_kinds=("capabilities",),
    quick={"runs": 8, "steps": 100, "train_rows": 10_000, "single_logs": 300, "batch_values": 1_000,
           "scale_runs": 200, "scale_budget_s": 60, "writers": 2, "writer_runs": 5},
    full={"runs": 40, "steps": 100, "train_rows": 20_000, "single_logs": 1_000, "batch_values": 1_000,
          "scale_runs": 1_000, "scale_budget_s": 600, "writers": 2, "writer_runs": 20},
    metrics={
        "sweep_seconds": Metric("Sweep of K training runs, wall time", "s", "lower", headline=True),
        "tracking_seconds": Metric("Time inside the tracker during the sweep", "s", "lower", headline=True),
        "readback_seconds": Metric("Find best run and read it back", "s", "lower", headline=True),
        "single_log_p50_ms": Metric("Single metric log, p50", "ms", "lower"),
        "single_log_p99_ms": Metric("Single metric log, p99", "ms", "lower"),
        "batch_1000_ms": Metric("Log 1,000 steps through the batch API", "ms", "lower"),
        "cold_start_seconds": Metric("Cold start: import + init to first value stored", "s", "lower", headline=True),
        "server_start_seconds": Metric("Tracking server start to healthy (once per team, not per script)", "s", "lower"),
        "store_mb": Metric("Store size on disk after the sweep", "MB", "lower"),
        "search_ms": Metric("Search latency with the scale store", "ms", "lower"),
    },
    probes={
        "roundtrip_exact": "Params and a 150-step metric history read back exactly",
        "artifact_roundtrip": "A model file read back byte-identical",
        "search_filter": "The tool's own search finds runs by a metric filter, in order",
        "model_registry": "Register two versions and move an alias between them",
        "local_ui": "A local UI starts and serves the run over HTTP",
        "offline": "Logs and reads back with the network switched off",
        "autolog_sklearn": "scikit-learn autologging records a fit's params",
        "concurrent_writers": "Two processes logging into one store at once lose nothing",
    },
    timeouts={"sweep": 300, "capabilities": 900},
    warmup={"runs": 2, "single_logs": 20},
)
