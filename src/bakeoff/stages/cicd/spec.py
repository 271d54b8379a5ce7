"""The cicd stage as the host sees it."""

from bakeoff.stages.spec import Metric, Probe, StageSpec, TrialKind

# Quick sizes: 4,000 training rows and 40 boosting iterations fit in a fraction of a second, so
# a push's time is mostly the tool's own (scheduling, checkouts, job start-up), which is what
# separates CI setups; shuffled labels still give an AUC near 0.5 against about 0.7, so the gate
# separates the good change from the bad one as clearly as on full data.
SIZES = {"train_rows": 4_000, "holdout_rows": 4_000, "health_timeout_s": 20, "deploy_timeout_s": 120,
         "verdict_timeout_s": 180, "timeout_probe_s": 45}

CICD = StageSpec(
    name="cicd",
    title="CI/CD",
    question="When someone pushes a change, which CI/CD setup tells us soonest whether the model is fit to "
             "ship, refuses a worse model, and deploys a better one without a person in the loop?",
    contract="bakeoff.stages.cicd.contract:CicdAdapter",
    kinds={
        "push": TrialKind("bakeoff.stages.cicd.workload:push_trial", timeout=420, repeated=True),
        # Probe outcomes only (a time in a probe's evidence is context): it runs beside another
        # tool's capabilities trial. The matrix's time is its own measured kind.
        "capabilities": TrialKind("bakeoff.stages.cicd.probes:capabilities_trial", timeout=600, shares_machine=True),
        "matrix": TrialKind("bakeoff.stages.cicd.probes:matrix_trial", timeout=420),
    },
    quick={**SIZES, "empty_jobs": [1, 4], "matrix_rows": 4_000},
    full={**SIZES, "train_rows": 20_000, "holdout_rows": 10_000, "empty_jobs": [1, 4, 8], "matrix_rows": 20_000},
    # The warm-up round's figures are discarded: it starts the tool and pushes the good change (every
    # job, the deploy). The bad change reruns the same jobs and the empty pipelines run the same
    # step script, so they are left out: the round warms what a measured round first touches.
    warmup={"empty_jobs": [], "bad_change": False},
    metrics={
        "push_to_verdict_good_s": Metric("Push to verdict, good change", "s", "lower", "speed", headline=True),
        "push_to_verdict_bad_s": Metric("Push to verdict, bad change (blocked at the gate)", "s", "lower", "speed",
                                        headline=True),
        "push_to_deployed_s": Metric("Push to the new model serving", "s", "lower", "speed", headline=True),
        "pipeline_fixed_s": Metric("Per-pipeline overhead a (push to verdict = a + b x N empty jobs)", "s",
                                   "lower", "speed"),
        "per_job_s": Metric("Per-job overhead b (push to verdict = a + b x N empty jobs)", "s", "lower", "speed"),
        "cold_start_seconds": Metric("Cold start: import + start the CI tool until a push is picked up", "s",
                                     "lower", "cold_start", headline=True),
        "server_start_seconds": Metric("CI server/agent start until ready (once per team)", "s", "lower", "shown"),
        "server_footprint_mb": Metric("CI server/agent memory when idle (PSS)", "MB", "lower", "resource"),
        "matrix_seconds": Metric("Matrix of three model configurations on two cores, push to verdict", "s",
                                 "lower", "speed"),
        "config_lines": Metric("Lines of the ML pipeline in the tool's format", "lines", "lower", "shown"),
    },
    probes={
        "bad_model_blocked": Probe("A model trained on shuffled labels fails the gate; register and deploy never run",
                                   core=True),
        "good_model_shipped": Probe("A good model is registered and deployed: the serving SHA-256 is the trained "
                                    "one and it answers", core=True),
        "artifact_passing": Probe("The model reaches evaluate, register and deploy byte-identical (SHA-256)"),
        "docs_change_skips_training": Probe("A docs-only push runs no training, gate, register or deploy"),
        "matrix_failure_fails": Probe("One failing configuration of a three-way matrix fails the pipeline"),
        "retry_flaky_job": Probe("A job that fails once passes on the tool's own retry"),
        "timeout_kills_job": Probe("A hanging job is killed at its timeout and the pipeline fails"),
        "concurrent_pushes": Probe("Two quick pushes both get verdicts, and the later one is what ships last"),
        "invalid_config_rejected": Probe("A pipeline with a job without a command is refused before anything runs"),
        "secret_masked": Probe("A secret given to a job never appears in its log"),
        "rollback": Probe("A deploy whose health check fails leaves the old model serving"),
        "local_ui": Probe("The tool's web UI renders the pipeline run in headless Chromium", proves="ui"),
        "offline": Probe("A push gets its verdict with the network switched off", proves="offline"),
    },
    smoke="bakeoff.stages.cicd.probes:smoke",
    section="bakeoff.stages.cicd.section:figures",
    # An estimate for a quiet machine, not a measured total (docs/cicd.md, "Budget"): at load 2 the
    # baseline and act took 233 s; the four tools' quick runs at load 6-12 took 1,198-1,259 s of
    # trials. Scaled, about 350-450 s quiet; 3 minutes would need fewer push rounds or pushes than
    # the evidence needs.
    quick_budget_s=480.0,
)
