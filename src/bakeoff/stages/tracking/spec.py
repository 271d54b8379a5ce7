"""The tracking stage as the host sees it."""

from bakeoff.stages.spec import Metric, Probe, StageSpec, TrialKind

TRACKING = StageSpec(
    name="tracking",
    title="Experiment tracking",
    question="Which experiment tracker records and finds our runs best, and at what cost?",
    contract="bakeoff.stages.tracking.contract:TrackingAdapter",
    kinds={
        "sweep": TrialKind("bakeoff.stages.tracking.workload:sweep_trial", timeout=300, repeated=True),
        # Probe outcomes only (no time or memory figure): it runs beside another tool's.
        "capabilities": TrialKind("bakeoff.stages.tracking.probes:capabilities_trial", timeout=900,
                                  shares_machine=True),
        # The search latency over a store of many runs, timed with the machine to itself.
        "scale": TrialKind("bakeoff.stages.tracking.probes:scale_trial", timeout=900),
    },
    # Quick sizes: docs/tracking.md ("Quick sizes") says why each still separates the tools.
    quick={"runs": 6, "steps": 100, "train_rows": 4_000, "single_logs": 150, "batch_values": 1_000,
           "scale_runs": 100, "scale_budget_s": 60, "writers": 2, "writer_runs": 5},
    full={"runs": 40, "steps": 100, "train_rows": 20_000, "single_logs": 1_000, "batch_values": 1_000,
          "scale_runs": 1_000, "scale_budget_s": 600, "writers": 2, "writer_runs": 20},
    metrics={
        "sweep_seconds": Metric("Sweep of K training runs, wall time", "s", "lower", "speed", headline=True, material=5),
        "tracking_seconds": Metric("Time inside the tracker during the sweep", "s", "lower", "speed", headline=True, material=2),
        "readback_seconds": Metric("Find best run and read it back", "s", "lower", "speed", headline=True, material=1),
        "single_log_p50_ms": Metric("Single metric log, p50", "ms", "lower", "shown"),
        "single_log_p99_ms": Metric("Single metric log, p99", "ms", "lower", "shown"),
        "batch_1000_ms": Metric("Log 1,000 steps through the batch API", "ms", "lower", "shown"),
        "cold_start_seconds": Metric("Cold start: import + init to first value stored", "s", "lower", "cold_start", headline=True, material=2),
        "server_start_seconds": Metric("Tracking server start to healthy (once per team, not per script)", "s", "lower", "shown"),
        "store_mb": Metric("Store size on disk after the sweep", "MB", "lower", "resource", material=100),
        "search_ms": Metric("Search latency with the scale store", "ms", "lower", "speed", material=500),
    },
    probes={
        "roundtrip_exact": Probe("Params and a 150-step metric history read back exactly", core=True),
        "artifact_roundtrip": Probe("A model file read back byte-identical", core=True),
        "search_filter": Probe("The tool's own search finds runs by a metric filter, in order"),
        "model_registry": Probe("Register two versions and move an alias between them"),
        "local_ui": Probe("A local UI starts and shows the run, rendered in headless Chromium", proves="ui"),
        "offline": Probe("Logs and reads back with the network switched off", proves="offline"),
        "autolog_sklearn": Probe("scikit-learn autologging records a fit's params"),
        "concurrent_writers": Probe("Two processes logging into one store at once lose nothing", core=True),
    },
    correctness_facts={"metric_precision": "exact"},
    smoke="bakeoff.stages.tracking.smoke:smoke",
    # Discarded: one run on a small sample is enough to import, create a store and make the first calls.
    warmup={"runs": 1, "train_rows": 2_000, "single_logs": 10},
    demo_tool="dvclive",
)
