"""The serving stage as the host sees it."""

from bakeoff.stages.spec import Metric, Probe, StageSpec, TrialKind

_COMMON = {
    "server_core": 0, "generator_core": 1, "workers": 1,
    "batch_rows": 32, "rate": 40, "batch_rate": 5,  # the common offered load: 40 single + 5 batch req/s
    "saturation_connections": 32, "concurrency": [1, 8, 32, 64],
    "start_timeout_s": 180, "stop_limit_s": 5, "big_body_mb": 10, "dropped_connections": 100,
    "batching_clients": 16,
}

SERVING = StageSpec(
    name="serving",
    title="Model serving",
    question="Which server answers our predictions fastest, leanest and most robustly, and what does it cost to run?",
    contract="bakeoff.stages.serving.contract:ServingAdapter",
    kinds={
        "latency": TrialKind("bakeoff.stages.serving.workload:latency_trial", timeout=300, repeated=True),
        "capacity": TrialKind("bakeoff.stages.serving.probes:capacity_trial", timeout=600),
    },
    # Why each quick size still separates the tools, with the interval widths a quick run gave:
    # docs/serving.md, "Budget".
    quick={**_COMMON, "singles": 32, "batches": 8, "floor_calls": 20, "warmup_s": 1, "phase_s": 3,
           "saturation_s": 2, "sweep_s": 1, "sweep_rounds": 1},
    full={**_COMMON, "singles": 64, "batches": 16, "floor_calls": 300, "warmup_s": 3, "phase_s": 20,
          "saturation_s": 8, "sweep_s": 5, "sweep_rounds": 3},
    # The warm-up round (figures discarded) only has to run the same code paths: a fresh server
    # through start, the full correctness check, every k6 scenario and wrk, and the stop (SIGTERM,
    # then SIGKILL after 1 s: LitServe's workers never go, so waiting 5 s again taught nothing).
    warmup={"floor_calls": 3, "warmup_s": 1, "phase_s": 1, "saturation_s": 1, "stop_limit_s": 1},
    metrics={
        "p50_ms": Metric("Single row, p50 at the common offered rate", "ms", "lower", "speed", headline=True, material=10),
        "p90_ms": Metric("Single row, p90 at the common offered rate", "ms", "lower", "shown"),
        "p99_ms": Metric("Single row, p99 at the common offered rate", "ms", "lower", "speed", headline=True, material=50),
        "batch_p50_ms": Metric("32-row batch, p50 at the common offered rate", "ms", "lower", "shown"),
        "batch_p99_ms": Metric("32-row batch, p99 at the common offered rate", "ms", "lower", "speed", material=50),
        "saturation_rps": Metric("Throughput at 32 connections, single rows", "req/s", "higher", "shown", headline=True),
        "max_rps": Metric("Maximum throughput over the concurrency sweep", "req/s", "higher", "speed", material=100),
        "error_rate": Metric("Failed or unserved requests at the common rate", "fraction", "lower", "correctness", material=0.01),
        "cold_start_seconds": Metric("Cold start: process start to first correct answer", "s", "lower", "cold_start", headline=True, material=2),
        "idle_memory_mb": Metric("Memory of the whole process tree, idle (PSS)", "MB", "lower", "resource", material=200),
        "peak_memory_mb": Metric("Peak memory of the whole process tree under load (PSS)", "MB", "lower", "resource", headline=True, material=200),
        "stop_seconds": Metric("SIGTERM to the last process gone", "s", "lower", "shown"),
    },
    probes={
        "malformed_json": Probe("A truncated JSON body gets a 4xx, then the server still answers correctly", core=True),
        "wrong_schema": Probe("A string where a number belongs gets a 4xx", core=True),
        "missing_fields": Probe("A row without a feature gets a 4xx", core=True),
        "big_body": Probe("A 10 MB body gets a 4xx or a clean close", core=True),
        "dropped_connections": Probe("100 connections dropped mid-request leave the server answering correctly", core=True),
        "sigterm": Probe("SIGTERM stops every process of the server within 5 s"),
        "loopback_only": Probe("Every socket the server listens on is on loopback"),
        "health_ready": Probe("Liveness and readiness endpoints answer 200"),
        "openapi": Probe("An OpenAPI document is served"),
        "prometheus_metrics": Probe("Prometheus metrics are served"),
        "adaptive_batching": Probe("Concurrent single-row requests reach the model in batches, answers exact"),
        "several_models": Probe("One server answers two models at two routes, each exactly"),
        "hot_reload": Probe("The model is switched to a new version without restarting the server"),
    },
    smoke="bakeoff.stages.serving.smoke:check_call",
    section="bakeoff.stages.serving.section:figures",
    upgrade_facts="bakeoff.stages.serving.figures:upgrade_facts",
)
