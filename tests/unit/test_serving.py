"""The serving stage's pure logic: payloads, load-generator parsing, the spec, the contract of
every registered serving adapter, its smoke call, the figure data and the report figures."""

import ast
import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from bakeoff.data.batches import CATEGORICAL, FEATURES, NUMERIC
from bakeoff.host import registry
from bakeoff.stages.contract import load_adapter
from bakeoff.stages.serving import figures as data
from bakeoff.stages.serving import load, payload, section
from bakeoff.stages.serving.contract import ServingAdapter
from bakeoff.stages.serving.smoke import check_call
from bakeoff.stages.serving.spec import SERVING
from bakeoff.stages.spec import resolve
from bakeoff.worker.figure_data import FigureData
from bakeoff.worker.protocol import Request, check_facts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "student-quick" / "results.json"

ROW = {"month": 9.0, "weekday": 2.0, "sched_dep_hour": 7.0, "distance": 1089.0, "temp": None, "humid": 60.1,
       "wind_speed": 10.35702, "precip": 0.0, "visib": 10.0, "pressure": None, "carrier": "UA", "origin": "EWR",
       "dest": "ORD"}


def test_to_frame_maps_null_to_nan_and_keeps_types():
    frame = payload.to_frame([ROW, {**ROW, "temp": 71.5}])
    assert list(frame.columns) == FEATURES
    assert all(frame[c].dtype == np.float64 for c in NUMERIC)
    assert all(frame[c].dtype == object for c in CATEGORICAL)
    assert math.isnan(frame.at[0, "temp"]) and frame.at[1, "temp"] == 71.5
    assert frame.at[0, "carrier"] == "UA"


def test_to_frame_names_a_missing_feature():
    with pytest.raises(KeyError, match="distance"):
        payload.to_frame([{k: v for k, v in ROW.items() if k != "distance"}])


def test_rows_body_round_trips_every_bit_and_null():
    values = [1 / 3, 0.1 + 0.2, 2.0**-1074, 1e308, 0.36171456981395810]
    rows = [{**ROW, "humid": v} for v in values]
    back = json.loads(payload.rows_body(rows))["rows"]
    assert [r["humid"] for r in back] == values
    assert back[0]["temp"] is None
    assert payload.rows_answer(json.dumps({"p_late": values}).encode()) == values


def test_clean_turns_nan_into_none_and_numpy_into_python():
    assert payload.clean(np.float64("nan")) is None
    assert type(payload.clean(np.int64(7))) is float
    assert payload.clean("JFK") == "JFK"


def test_request_set_is_reproducible_and_has_missing_numbers(data_dir):
    class Half:
        def predict_proba(self, frame):
            return np.column_stack([np.zeros(len(frame)), np.full(len(frame), 0.5)])

    a = payload.request_set(data_dir, Half(), month=9, singles=8, batches=2, batch_rows=4, seed=1)
    b = payload.request_set(data_dir, Half(), month=9, singles=8, batches=2, batch_rows=4, seed=1)
    assert a.singles == b.singles and len(a.singles) == 8 and all(len(r) == 1 for r in a.singles)
    assert [len(r) for r in a.batches] == [4, 4]
    rows = [row for req in a.singles + a.batches for row in req]
    assert any(v is None for row in rows for v in row.values())
    assert len(a.requests()) == 10 and a.expected_batches[0] == [0.5] * 4



def test_the_reference_runs_in_process_on_the_server_core_and_gives_the_model_its_own_answers(data_dir):
    """The floor and the reference answers come from this process (no second interpreter), on
    one OpenMP thread and the server's core, and the affinity is back afterwards (the servers
    started later inherit it)."""
    import os
    import pickle

    from bakeoff.stages.serving import floor

    singles, batches = payload.request_rows(data_dir, month=9, singles=4, batches=2, batch_rows=8, seed=3)
    before = os.sched_getaffinity(0)
    core = min(before)
    out = floor.reference(data_dir / "model.pkl", {"single": singles, "batch": batches}, 3, core)
    assert os.sched_getaffinity(0) == before
    model = pickle.loads((data_dir / "model.pkl").read_bytes())
    assert out["predictions"]["single"] == [payload.predict(model, rows) for rows in singles]
    assert out["predictions"]["batch"] == [payload.predict(model, rows) for rows in batches]
    assert set(out["timings"]) == {"single", "batch"}
    assert all(len(times) == 3 and min(times) > 0 for kind in out["timings"].values() for times in kind.values())

def test_routes():
    assert payload.route("flights") == "/predict"
    assert payload.route("second") == "/second/predict"


def test_pydantic_row_source_names_every_feature():
    tree = ast.parse(payload.PYDANTIC_ROW)
    fields = [node.target.id for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)]
    assert fields == NUMERIC + CATEGORICAL


def _k6_points(tmp_path, points):
    path = tmp_path / "points.json"
    path.write_text("\n".join(json.dumps(p) for p in points))
    return path


def test_k6_points_become_phases_with_errors_and_dropped(tmp_path):
    def duration(value, status, scenario):
        return {"type": "Point", "metric": "http_req_duration",
                "data": {"value": value, "tags": {"status": status, "scenario": scenario}}}

    points = [duration(3.0, "200", "single"), duration(5.0, "200", "single"), duration(40.0, "503", "single"),
              duration(9.0, "0", "single"), duration(7.0, "200", "warmup"),
              {"type": "Point", "metric": "dropped_iterations", "data": {"value": 2, "tags": {"scenario": "single"}}},
              {"type": "Metric", "metric": "http_req_duration", "data": {}}]
    phases = load.parse_k6_points(_k6_points(tmp_path, points),
                                  {"single": {"rate": 10, "seconds": 2}, "warmup": {"rate": 10, "seconds": 1}})
    single = phases["single"]
    assert single.latencies_ms == [3.0, 5.0] and single.errors == 2 and single.dropped == 2
    assert single.sent == 4 and single.error_rate == pytest.approx(4 / 6)
    assert single.achieved_rps == 1.0 and single.quantile(99) == 5.0
    assert phases["warmup"].latencies_ms == [7.0]


def test_k6_scenarios_run_back_to_back_unless_told_otherwise():
    steps = load._k6_scenarios([{"name": "w", "rate": 40, "seconds": 1}, {"name": "a", "rate": 40, "seconds": 4, "sequential": False},
                                {"name": "b", "rate": 5, "seconds": 4}])
    assert [s["start"] for s in steps] == [0.0, 1.0, 1.0]
    assert all(s["max_vus"] >= s["prealloc"] > 0 for s in steps)


def test_wrk_summary_parsing():
    out = 'Running 2s test\nBAKEOFF {"requests": 600, "duration_us": 2000000, "connect": 0, "read": 1, "write": 0, ' \
          '"status": 100, "timeout": 2, "p50_us": 3100, "p90_us": 4000, "p99_us": 9000}\n'
    closed = load.parse_wrk(out, 8)
    assert closed.rps == 250.0 and closed.errors == 103 and closed.p99_ms == 9.0 and closed.connections == 8
    with pytest.raises(RuntimeError, match="no summary"):
        load.parse_wrk("nothing", 1)


def test_lua_long_strings_survive_closing_brackets():
    text = 'a]]b]=]c'
    quoted = load._lua_string(text)
    level = quoted.index("[", 1)
    assert quoted.startswith("[") and text in quoted and f"]{'=' * (level - 1)}]" not in text


def test_spec_sizes_and_definitions_agree():
    for settings in (SERVING.quick, SERVING.full, {**SERVING.quick, **SERVING.warmup}):
        assert settings["rate"] > 0 and settings["concurrency"] == sorted(settings["concurrency"])
        assert settings["server_core"] != settings["generator_core"]
        # k6 refuses a scenario shorter than 1 s; wrk takes whole seconds
        assert min(settings["warmup_s"], settings["phase_s"], settings["saturation_s"], settings["sweep_s"]) >= 1
    headline = {k for k, m in SERVING.metrics.items() if m.headline}
    assert {"p50_ms", "p99_ms", "saturation_rps", "cold_start_seconds", "peak_memory_mb"} <= headline
    assert SERVING.metrics["max_rps"].better == "higher"


def test_every_registered_serving_adapter_takes_keyword_arguments_only():
    entries = registry.entries("serving")
    assert {e.name for e in entries} >= {"fastapi", "bentoml", "litserve", "mlserver", "mlflow-serve", "rayserve"}
    assert [e.name for e in entries if e.spec.baseline] == ["fastapi"]
    for entry in entries:
        module, _, cls = entry.spec.adapter.partition(":")
        path = entry.tool.folder / f"{module.rsplit('.', 1)[1]}.py"
        classes = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)}
        assert cls in classes, entry.spec.adapter
        for method in classes[cls].body:
            if isinstance(method, ast.FunctionDef) and not method.name.startswith("_"):
                assert not [a.arg for a in method.args.args[1:]], f"{entry.name}.{method.name}"


def _figure_data(p50, rps):
    curve = [data.SweepPoint(connections=c, rps=rps * (0.8 + c / 320), p50_ms=p50 * c, p90_ms=p50 * c * 2,
                             p99_ms=p50 * c * 3, errors=0, requests=100) for c in (1, 8, 32, 64)]
    phase = data.LoadPhase(offered_rps=40, achieved_rps=40.2, sent=160, errors=0, dropped=0, error_rate=0.0,
                           p50_ms=p50, p90_ms=p50 * 2, p99_ms=p50 * 3)
    return [data.Sweep(curve=curve, peak_memory_mb=200.0, max_rps_by_round=[rps]),
            data.OpenLoop(single=phase, batch=phase),
            data.Floor(single=data.FloorTimes(predict=3.0, handle=3.5), batch=data.FloorTimes(predict=3.2, handle=4.0)),
            data.Listening(sockets=["127.0.0.1:1234 (python)"])]


def _stage(ceiling_rps=5000.0):
    def metric(median, ratio=None):
        return {"median": median, "ratio": {"median": ratio} if ratio else None}

    def tool(baseline, p50, rps, ratio):
        return {"baseline": baseline, "status": "ok", "version": "1", "config": "cfg <&>", "env": {"size_mb": 300, "packages": 40},
                "adapter_lines": 60,
                "metrics": {"p50_ms": metric(p50, ratio), "p99_ms": metric(p50 * 3, ratio), "max_rps": metric(rps, ratio), "saturation_rps": metric(rps, ratio),
                            "cold_start_seconds": metric(2.0), "peak_memory_mb": metric(200.0),
                            "idle_memory_mb": metric(190.0)},
                "facts": {"service_lines": 40, "processes": 2},
                "figures": {d.KIND: d.dump() for d in _figure_data(p50, rps)}}

    stage = {"baseline": "fastapi", "tools": {"fastapi": tool(True, 4.0, 300.0, None), "fast<tool>": tool(False, 3.0, 4500.0, 0.75)}}
    ceiling = data.GeneratorCeiling(endpoint="raw ASGI", connections=64, wrk_rps=ceiling_rps, wrk_p50_ms=1.0,
                                    k6_rps=4000.0, k6_p50_ms=2.0, k6_errors=0)
    stage["tools"]["fastapi"]["figures"][ceiling.KIND] = ceiling.dump()
    return stage


def test_report_figures_are_well_formed_and_flag_the_generator_ceiling():
    figures = section.figures(_stage())
    assert [f.title for f in figures][0] == "Latency against throughput"
    for figure in figures:
        ET.fromstring(figure.svg)  # well formed, escaped
        assert "fastapi" in figure.text
    table = figures[1].text
    assert "near the generator ceiling" in table  # 4,500 req/s against a 5,000 req/s ceiling
    assert "(×0.750)" in table and "Generator ceiling" in table and "In-process floor" in table
    costs = figures[2].text
    assert "| 60 | 40 |" in costs  # adapter lines from the host's count, service lines from the fact


def test_report_figures_skip_a_stage_without_tools():
    assert section.figures({"tools": {}}) == []


def test_a_tool_without_figure_data_is_left_out_of_the_curves_but_kept_in_the_tables():
    stage = _stage()
    failed = stage["tools"]["fast<tool>"]
    failed.update(status="failed", reason="did not start", figures={}, facts={})
    figures = section.figures(stage)
    assert "fast<tool>" not in figures[0].text
    assert "fast<tool>" in figures[1].text and "failed: did not start" in figures[1].text


def test_every_figure_data_kind_is_the_stages_own_and_round_trips():
    kinds = [v for v in vars(data).values() if isinstance(v, type) and issubclass(v, FigureData) and v is not FigureData]
    assert len({k.KIND for k in kinds}) == len(kinds) == 7
    assert all(k.KIND.startswith("serving.") and k.VERSION == 1 for k in kinds)
    for item in _figure_data(3.0, 250.0):
        tool = {"figures": {item.KIND: json.loads(json.dumps(item.dump()))}}
        assert type(item).find(tool) == item


def _example_stage() -> dict:
    """The shipped example's serving part, brought to the typed channel by the stage's own hook
    when it is still a schema-1 file."""
    results = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    stage = results["stages"]["serving"]
    if results["schema"] == 1:
        upgrade = resolve(SERVING.upgrade_facts)
        for tool in stage["tools"].values():
            tool["facts"], tool["figures"] = upgrade(tool["facts"])
    return stage


def test_the_example_renders_through_the_typed_figure_data_without_dict_reprs():
    stage = _example_stage()
    for tool in stage["tools"].values():
        check_facts(tool["facts"])  # only scalars are left
        assert data.Sweep.find(tool) and data.OpenLoop.find(tool) and data.Floor.find(tool)
    figures = section.figures(stage)
    assert [f.title for f in figures] == ["Latency against throughput", "Each server beside the FastAPI baseline",
                                          "What each server costs to run and to write"]
    for figure in figures:
        ET.fromstring(figure.svg)
        for text in (figure.text, figure.svg):
            assert "{'" not in text and "': " not in text and "['" not in text
    assert "Generator ceiling" in figures[1].text and "In-process floor" in figures[1].text
    assert "beyond loopback" in figures[2].text  # Ray's internal servers listen on every interface


def test_upgrading_schema_1_facts_keeps_scalars_and_moves_structure():
    old = {"cores": "one core: nothing pinned", "workers": 1, "code_lines": {"adapter": 70, "service": 35},
           "stop": {"seconds": 0.2, "clean": True, "leftovers": [], "exit_code": -15},
           "listening": ["0.0.0.0:1 (python)"], "listening_beyond_loopback": ["0.0.0.0:1 (python)"],
           "sweep": {"curve": [{"connections": 1, "rps": 300, "p50_ms": 3.2, "p90_ms": 3.4, "p99_ms": 4.2,
                                "errors": 0, "requests": 610}], "peak_memory_mb": 191.1, "max_rps_by_round": [300]}}
    facts, figures = data.upgrade_facts(old)
    assert facts == {"cores": "one core: nothing pinned", "workers": 1, "service_lines": 35}
    assert set(figures) == {data.Stop.KIND, data.Listening.KIND, data.Sweep.KIND}
    assert data.Listening.find({"figures": figures}).beyond_loopback == ["0.0.0.0:1 (python)"]
    sweep = data.Sweep.find({"figures": figures})
    assert sweep.curve[0].rps == 300.0 and isinstance(sweep.curve[0].rps, float)
    assert old["code_lines"] == {"adapter": 70, "service": 35}  # the input is left alone


def test_the_smoke_call_prepares_and_builds_a_request_without_a_server(data_dir, tmp_path):
    entry = next(e for e in registry.entries("serving") if e.name == "fastapi")
    adapter = load_adapter(entry.spec.adapter, ServingAdapter, entry.spec.options)
    request = Request(trial_id="check", stage="serving", entry="fastapi", adapter=entry.spec.adapter, kind="check",
                      options=entry.spec.options, settings=SERVING.settings(quick=True), data_dir=str(data_dir),
                      scratch=str(tmp_path), result_path=str(tmp_path / "result.json"))
    line = check_call(adapter, request)
    assert "POST /predict" in line and "\n" not in line
    assert (tmp_path / "check-service" / "service.py").is_file()
    assert resolve(SERVING.smoke) is check_call


def test_the_stop_figure_data_is_what_the_smoke_job_reports():
    stop = data.Stop(seconds=0.2, clean=False, leftovers=["python(12)"], exit_code=None)
    assert dataclasses.asdict(stop) == {"seconds": 0.2, "clean": False, "leftovers": ["python(12)"], "exit_code": None}
