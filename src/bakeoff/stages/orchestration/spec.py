"""The orchestration stage as the host sees it.

Why the quick sizes still separate tools: the pipeline is the real one on 10,000 rows (each
task does a second or less of the same work everywhere, so what differs is the tool's cost
around it), and two fan-out sizes (2 and 12 no-op tasks) fix both a and b of time = a + b*N:
per-task overheads among orchestrators span about three orders of magnitude (well under a
millisecond in-process, a second or more per task process under a scheduler), so the 10 tasks
between the sizes separate the groups beyond the noise of three rounds (docs/orchestration.md).
Servers and schedulers start once per trial, timed apart, as a team starts them once. The
parallel probe's tasks spin 1 s in every measured round (0.2 s in the discarded warm-up).
"""

from bakeoff.stages.spec import Metric, Probe, StageSpec, TrialKind

ORCHESTRATION = StageSpec(
    name="orchestration",
    title="Orchestration",
    question="Which orchestrator runs our training pipeline reliably, and what does each task cost?",
    contract="bakeoff.stages.orchestration.contract:OrchestrationAdapter",
    kinds={
        "pipeline": TrialKind("bakeoff.stages.orchestration.workload:pipeline_trial", timeout=600, repeated=True),
        # Outcomes only (the timed parallel probe is the pipeline trial's): two run side by side.
        "capabilities": TrialKind("bakeoff.stages.orchestration.probes:capabilities_trial", timeout=900,
                                  shares_machine=True),
    },
    quick={"rows": 10_000, "max_iter": 20, "fan_out": [2, 12], "spin_seconds": 1.0},
    full={"rows": 50_000, "max_iter": 100, "fan_out": [10, 50, 200], "spin_seconds": 1.0},
    # The warm-up round only warms imports, bytecode and the page cache: the same code paths on
    # the smallest work (its figures are discarded).
    warmup={"rows": 2_000, "max_iter": 5, "fan_out": [2, 3], "spin_seconds": 0.2},
    metrics={
        "pipeline_seconds": Metric("Pipeline run (prepare -> register), warm, wall time, data passed by path", "s", "lower", "speed",
                                   headline=True),
        "pipeline_value_seconds": Metric("Pipeline run, warm, idiomatic data passing (frames and model carried by "
                                         "the tool: IO manager, artifacts, task results, datasets)", "s", "lower",
                                         "shown"),
        "per_task_ms": Metric("Per-task overhead b in a + b*N (fan-out of no-op tasks)", "ms", "lower", "speed",
                              headline=True),
        "fixed_cost_seconds": Metric("Fixed cost a per run in a + b*N", "s", "lower", "speed"),
        "trigger_latency_seconds": Metric("Trigger to the first task's start", "s", "lower", "speed"),
        "parallel_efficiency": Metric("Parallel efficiency: 4 one-second CPU tasks on 2 workers (ideal 2 s = 1.0)",
                                      "ratio", "higher", "speed"),
        "cold_start_seconds": Metric("Cold start: import + first pipeline run", "s", "lower", "cold_start",
                                     headline=True),
        "server_start_seconds": Metric("Server or scheduler start to ready (once per team)", "s", "lower", "shown"),
        "server_memory_mb": Metric("Server or scheduler memory (PSS) after the runs", "MB", "lower", "resource"),
        "store_mb": Metric("The tool's own state on disk after the trial", "MB", "lower", "resource"),
    },
    probes={
        "outputs_identical": Probe("Pipeline outputs equal the baseline's bit for bit", core=True),
        "retry_flaky": Probe("A task failing twice then succeeding is retried by the tool, with its delay"),
        "resume_no_redo": Probe("After evaluate fails, a resume runs evaluate and register only", core=False),
        "cache_hit": Probe("A second run with the cache on skips train"),
        "cache_invalidates_data": Probe("With the cache on, changing one month's data reruns train"),
        "cache_invalidates_code": Probe("With the cache on, changing the features function reruns it"),
        "cache_values_fresh": Probe("With values passed the tool's way and its cache on, a changed month reruns "
                                    "train and the final outputs are fresh"),
        "parallel_speedup": Probe("Four one-second CPU tasks on two workers finish in under 3 s"),
        "timeout_kills": Probe("A hung task is ended at its time limit and nothing of it keeps running"),
        "schedule_registered": Probe("The tool's next fire time of a daily 06:00 UTC schedule is right"),
        "local_ui": Probe("The local UI, rendered in headless Chromium, shows the run", proves="ui"),
        "offline": Probe("The pipeline runs with the network switched off (loopback only)", proves="offline"),
    },
    smoke="bakeoff.stages.orchestration.smoke:smoke",
    section="bakeoff.stages.orchestration.section:figures",
    # The issue asked for 3 minutes; the stage does not fit it without fewer entries or rounds.
    # Run 20261201-183548-02e5 (docs/orchestration.md) took 312 s of checks (run two at a time)
    # and 850 s for its warm-up round under a load of 7-11 on two cores; a measured round takes
    # about as long. An estimate for a quiet machine, not a measurement: 20-30 minutes.
    quick_budget_s=1800.0,
    demo_tool="hamilton",
)
