"""The reference answers and the floor, from the model called in the trial's own worker process
(a plain Python process of the tool's env, started fresh for the trial) on the server's core with
one OpenMP thread, exactly as every server runs it: P(late) for every request of the set (what
each server must give back, bit for bit), then the model's own predict latency on the same
payloads, which no server can beat. `reference(...)` runs it in process (the worker has already
imported pandas for the request set, so a separate interpreter only paid a second start-up and a
second import of pandas and scikit-learn, about 2 s of CPU per trial);
`python -m bakeoff.stages.serving.floor JOB.json` (writes JOB.json.out) is the same in a process
of its own.

Two figures per payload kind: `predict` (predict_proba on a ready DataFrame) and `handle`
(JSON body -> records -> DataFrame -> predict_proba -> JSON answer: the least any server must do).
Worker side: base set only.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path

from bakeoff.stages.serving.payload import ANSWER_KEY, ROWS_KEY, predict, rows_answer, rows_body, to_frame


def _time(call, calls: int) -> list[float]:
    for _ in range(3):  # first calls pay lazy initialisation
        call()
    out = []
    for _ in range(calls):
        tick = time.perf_counter()
        call()
        out.append((time.perf_counter() - tick) * 1000)
    return out


def measure(model, payloads: dict[str, list[list[dict]]], calls: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    for kind, requests in payloads.items():
        frames = [to_frame(rows) for rows in requests]
        bodies = [rows_body(rows) for rows in requests]
        index = {"i": 0}

        def predict_only() -> None:
            index["i"] += 1
            model.predict_proba(frames[index["i"] % len(frames)])

        def handle() -> None:
            index["i"] += 1
            records = json.loads(bodies[index["i"] % len(bodies)])[ROWS_KEY]
            answer = model.predict_proba(to_frame(records))[:, 1].tolist()
            rows_answer(json.dumps({ANSWER_KEY: answer}).encode())

        results[kind] = {"predict": _time(predict_only, calls), "handle": _time(handle, calls)}
    return results


def reference(model_path: Path, payloads: dict[str, list[list[dict]]], calls: int, core: int | None) -> dict:
    """{"predictions", "timings"} in this process: this thread pinned to `core` (when given) and
    OpenMP limited to one thread for the calls, both restored afterwards (the servers this process
    starts later inherit its affinity)."""
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    before = os.sched_getaffinity(0)
    try:
        if core is not None:
            os.sched_setaffinity(0, {core})
        with threadpool_limits(limits=1):
            model = pickle.loads(Path(model_path).read_bytes())
            answers = {kind: [predict(model, rows) for rows in requests] for kind, requests in payloads.items()}
            timings = measure(model, payloads, calls)
    finally:
        os.sched_setaffinity(0, before)
    return {"predictions": answers, "timings": timings}


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    model = pickle.loads(Path(job["model"]).read_bytes())
    answers = {kind: [predict(model, rows) for rows in requests] for kind, requests in job["payloads"].items()}
    timings = measure(model, job["payloads"], job["calls"])
    Path(job_path + ".out").write_text(json.dumps({"predictions": answers, "timings": timings}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
