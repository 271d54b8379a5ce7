"""The task functions every orchestrator runs: the same code for every tool, wired by each
adapter into its tool's DAG. Worker side: standard library and the base set only.

This file is copied once per workflow into the trial's `flows/` folder as `<module>.py`,
beside `<module>.json` (the job: data folder, sizes, the workflow's run folder; see
workflow.py), and tools import it from there (the folder is on PYTHONPATH): a tool's child
processes, Airflow's task runner or Metaflow's step processes find it the same way, and the
code-change probe can edit one function as a developer would.

Two ways to pass data, chosen by the job's `passing` (workflow.py): "path" (the comparison):
each task writes its output file(s) under `out/<task>/` and returns a reference
`"<path>@<sha256 prefix>"`; the digest makes the reference change whenever the content does, so
a tool whose cache keys on task inputs sees a changed upstream output. "value" (each tool's
idiomatic passing, measured apart): prepare and features return the DataFrame, train the fitted
model, evaluate the scores; the tool carries them (IO manager, artifacts, results, datasets).
Either way a task accepts what its upstream returned, and the last tasks write the same final
files (evaluate's predictions and scores, register's model and registry entry), which are
compared bit for bit. The work is the same code in both: only the hand-over differs.

Each execution appends one JSON line to `markers/<task>.jsonl` (start and end on the wall
clock, pid, error if any): the resume and cache probes count executions from these files, and
the trigger latency is measured to the first task's start. Faults are switched on by files in
`faults/` (`faults/<task>` makes that task raise), so no tool needs a special argument.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# numpy and pandas are imported by the functions that use them, not here: a no-op, spin, flaky
# or hang task run in a process of its own (Dagster's multiprocess executor, Metaflow's steps,
# Airflow's task runner, a process pool) would otherwise pay pandas' import in every process,
# and the fan-out would measure that import as the tool's per-task overhead.

HERE = Path(__file__).resolve().parent
_JOB_FILE = Path(__file__).resolve().with_suffix(".json")
JOB = json.loads(_JOB_FILE.read_text()) if _JOB_FILE.is_file() else {}
WORK = Path(JOB.get("work", HERE))
PIPELINE = ("prepare", "features", "train", "evaluate", "register")
PASSING = JOB.get("passing", "path")  # "path" or "value"
# What a task takes and returns: a reference string (by path) or the object itself (by value).
# Annotated, as Hamilton builds its graph from the annotations (Any matches either).
Passed = Any
# The files a value-passing run writes (the rest travel through the tool): compared bit for bit.
FINAL_OUTPUTS = ("evaluate/metrics.json", "evaluate/predictions.npy", "register/model.pkl", "register/registry.json")


class InjectedFault(RuntimeError):
    """A failure the probe asked for (a file in faults/)."""


def reference(path: Path) -> str:
    """The reference a task returns: its output path and a digest of the bytes in it."""
    return f"{path}@{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def path_of(ref: str) -> Path:
    return Path(ref.rpartition("@")[0])


@contextmanager
def marked(task: str):
    """Record one execution of `task` and raise the fault the probe planted for it."""
    markers = WORK / "markers"
    markers.mkdir(parents=True, exist_ok=True)
    line = {"task": task, "start": time.time(), "pid": os.getpid()}
    try:
        if (WORK / "faults" / task).exists():
            raise InjectedFault(f"fault injected into {task}")
        yield
    except BaseException as exc:
        line["error"] = f"{type(exc).__name__}: {exc}"[:200]
        raise
    finally:
        line["end"] = time.time()
        with open(markers / f"{task}.jsonl", "a") as fh:  # one short write: atomic with O_APPEND
            fh.write(json.dumps(line) + "\n")


def by_value() -> bool:
    return PASSING == "value"


def frame_of(upstream: Passed) -> "pd.DataFrame":
    """An upstream frame: read from its reference, or (passed by value) a copy, so a task never
    changes what another task returned."""
    import pandas as pd

    return pd.read_parquet(path_of(upstream)) if isinstance(upstream, str) else upstream.copy()


def model_bytes(model) -> bytes:
    """The model file's bytes: a pickle without memo (Pickler.fast), so they depend on the
    model's values only. A memoised pickle's bytes also depend on which equal objects are one
    object (shared dtypes, interned strings), and that changes when a model is loaded in
    another process, as an IO manager, Metaflow's artifacts or Kedro's manager process carry
    it: same numbers, other bytes. Without memo, both modes and every tool compare bit for bit."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo: each object written out in full wherever it occurs
    pickler.dump(model)
    return buffer.getvalue()


def out_dir(task: str) -> Path:
    folder = WORK / "out" / task
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the pipeline: prepare -> features -> train -> evaluate -> register ---------------------

def prepare() -> Passed:
    """Sample the training months and the validation month from the monthly batches."""
    import pandas as pd

    from bakeoff.data.batches import FEATURES, LABEL, TRAIN_MONTHS, VALID_MONTH, load_months

    with marked("prepare"):
        data_dir, rows, seed = Path(JOB["data_dir"]), int(JOB["rows"]), int(JOB["seed"])
        train = load_months(data_dir, TRAIN_MONTHS)
        valid = load_months(data_dir, [VALID_MONTH])
        train = train.sample(n=min(rows, len(train)), random_state=seed)
        valid = valid.sample(n=min(rows // 2, len(valid)), random_state=seed + 1)
        frame = pd.concat([train.assign(split="train"), valid.assign(split="valid")], ignore_index=True)
        frame = frame[[*FEATURES, LABEL, "split"]]
        if by_value():
            return frame
        path = out_dir("prepare") / "prepared.parquet"
        frame.to_parquet(path, index=False)
        return reference(path)


def features(prepare: Passed) -> Passed:
    """Model-ready columns: distance in the unit below, categoricals with one shared category set."""
    import pandas as pd

    from bakeoff.data.batches import CATEGORICAL

    with marked("features"):
        frame = frame_of(prepare)
        distance_unit = 1.0  # miles; the code-change probe edits this line
        frame["distance"] = frame["distance"] * distance_unit
        for column in CATEGORICAL:
            frame[column] = frame[column].astype(pd.CategoricalDtype(sorted(frame[column].unique())))
        if by_value():
            return frame
        path = out_dir("features") / "features.parquet"
        frame.to_parquet(path, index=False)
        return reference(path)


def train(features: Passed) -> Passed:
    """Fit the reference pipeline (fewer iterations: the orchestrator, not the model, is measured)."""
    from threadpoolctl import threadpool_limits

    from bakeoff.data.batches import FEATURES, LABEL, reference_pipeline

    with marked("train"):
        frame = frame_of(features)
        fit = frame[frame["split"] == "train"]
        model = reference_pipeline(max_iter=int(JOB["max_iter"]), seed=int(JOB["seed"]))
        # One OpenMP thread, whatever the process inherited: the orchestrator's two workers are
        # the parallelism, and the thread count is stored in the model (its bytes must match).
        with threadpool_limits(limits=1, user_api="openmp"):
            model.fit(fit[FEATURES], fit[LABEL])
        if by_value():
            return model
        path = out_dir("train") / "model.pkl"
        path.write_bytes(model_bytes(model))
        return reference(path)


def evaluate(train: Passed, features: Passed) -> Passed:
    """Validation predictions and scores (written in both modes: they are final outputs)."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    from bakeoff.data.batches import FEATURES, LABEL

    with marked("evaluate"):
        model = pickle.loads(path_of(train).read_bytes()) if isinstance(train, str) else train
        frame = frame_of(features)
        valid = frame[frame["split"] == "valid"]
        scores = model.predict_proba(valid[FEATURES])[:, 1]
        folder = out_dir("evaluate")
        np.save(folder / "predictions.npy", scores)
        metrics = {"auc": float(roc_auc_score(valid[LABEL], scores)),
                   "logloss": float(log_loss(valid[LABEL], scores)), "rows": int(len(valid))}
        path = folder / "metrics.json"
        path.write_text(json.dumps(metrics, sort_keys=True))
        return metrics if by_value() else reference(path)


def register(train: Passed, evaluate: Passed) -> str:
    """Put the model into a file registry with its scores (no timestamps: outputs compare bit for bit)."""
    with marked("register"):
        folder = out_dir("register")
        model = path_of(train).read_bytes() if isinstance(train, str) else model_bytes(train)
        (folder / "model.pkl").write_bytes(model)
        scores = json.loads(path_of(evaluate).read_text()) if isinstance(evaluate, str) else evaluate
        entry = {"name": "flights-delay", "version": 1, "model_sha256": hashlib.sha256(model).hexdigest(),
                 "metrics": scores}
        path = folder / "registry.json"
        path.write_text(json.dumps(entry, sort_keys=True))
        return reference(path)


# --- the other workflows ----------------------------------------------------------------------

def noop(index: int) -> int:
    """A task that does nothing: the fan-out measures what the orchestrator adds per task."""
    return index


def spin(index: int, seconds: float = 1.0) -> int:
    """`seconds` (one, in the measured rounds) of this thread's own CPU time (pure Python, so it
    holds the GIL): four of these on two workers take 2 s only if the tool really runs two at
    once on two cores."""
    with marked(f"spin_{index}"):
        start = time.thread_time()
        count = 0
        while time.thread_time() - start < seconds:
            count += 1
        return index


def flaky() -> str:
    """Fails on its first two attempts, then succeeds; each attempt is a marker line."""
    with marked("flaky"):
        counter = WORK / "flaky.count"
        attempts = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(attempts))
        if attempts <= 2:
            raise RuntimeError(f"flaky failure on attempt {attempts}")
        return f"succeeded on attempt {attempts}"


def hang() -> str:
    """Hangs (with a heartbeat file, so the probe sees whether it still runs) for up to 30 s."""
    with marked("hang"):
        beat = WORK / "hang.beat"
        deadline = time.time() + 30
        while time.time() < deadline:
            beat.write_text(json.dumps({"pid": os.getpid(), "at": time.time()}))
            time.sleep(0.1)
        return "was not stopped"


def executions(work: Path, task: str) -> list[dict]:
    """Every recorded execution of `task` in a run folder, in order."""
    path = Path(work) / "markers" / f"{task}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
