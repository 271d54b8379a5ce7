"""`bakeoff export`: a real run's tables come back from CSV with the figures results.json holds,
the LaTeX compiles with latexmk, and every chart is a standalone SVG that parses as XML."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "student-quick"
SVG = "{http://www.w3.org/2000/svg}svg"


def here(*args: str) -> subprocess.CompletedProcess:
    from typer.testing import CliRunner

    from bakeoff.host.cli import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """The worked example (three stages, with its decision) exported in every format."""
    base = tmp_path_factory.mktemp("export")
    run = base / "run"
    shutil.copytree(EXAMPLE, run, ignore=shutil.ignore_patterns("logs"))
    out = base / "out"
    done = here("export", str(run), "--format", "csv,latex,svg", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return run, out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_holds_every_stage_metric_as_results_json_has_it(exported):
    run, out = exported
    results = json.loads((run / "results.json").read_text())
    rows = {(r["stage"], r["tool"], r["metric"]): r for r in read_csv(out / "metrics.csv")}
    checked = 0
    for stage, data in results["stages"].items():
        for tool, row in data["tools"].items():
            for metric, entry in (row.get("metrics") or {}).items():
                if metric not in data["metrics"] or entry.get("median") is None:
                    continue
                got = rows[(stage, tool, metric)]
                assert float(got["median"]) == entry["median"]
                assert [float(got["ci95_low"]), float(got["ci95_high"])] == entry["ci95"]
                if entry.get("ratio"):
                    assert float(got["ratio_median"]) == entry["ratio"]["median"]
                checked += 1
    assert checked > 50 and {s for s, _, _ in rows} == set(results["stages"])

    probes = read_csv(out / "probes.csv")
    assert len(probes) == sum(len(d["tools"]) * len(d["probes"]) for d in results["stages"].values())
    aim = next(p for p in probes if (p["stage"], p["tool"], p["probe"]) == ("tracking", "aim", "model_registry"))
    assert aim["status"] == "unsupported" and aim["evidence"] == "Aim has no model registry"

    decision = json.loads((run / "decision.json").read_text())
    picked = {r["stage"]: r["recommended"] for r in read_csv(out / "decision.csv")}
    assert picked == {s: d["verdict"]["recommended"] or "" for s, d in decision["stages"].items()}
    assert {r["stage"] for r in read_csv(out / "ranking.csv")} == set(decision["stages"])


def test_latex_compiles_with_latexmk(exported, tmp_path):
    _, out = exported
    tables = sorted(p.name for p in out.glob("*.tex"))
    assert "bakeoff-tables.tex" in tables and "decision.tex" in tables
    assert {f"metrics-{s}.tex" for s in ("tracking", "serving", "monitoring")} <= set(tables)
    main = (out / "bakeoff-tables.tex").read_text()
    assert r"\usepackage{booktabs}" in main and r"\input{metrics-tracking}" in main
    assert r"\toprule" in (out / "metrics-tracking.tex").read_text()
    if shutil.which("latexmk") is None:
        pytest.skip("latexmk is not installed (./bootstrap installs it from system-packages.txt as root)")
    for path in out.glob("*.tex"):
        shutil.copy(path, tmp_path)
    done = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "bakeoff-tables.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    log = (tmp_path / "bakeoff-tables.log").read_text(errors="replace") if (tmp_path / "bakeoff-tables.log").exists() else ""
    assert done.returncode == 0, done.stdout[-3000:] + log[-3000:]
    assert (tmp_path / "bakeoff-tables.pdf").stat().st_size > 10_000
    assert "LaTeX Error" not in log and "Undefined control sequence" not in log


def test_every_chart_is_a_standalone_svg(exported):
    run, out = exported
    charts = sorted(out.glob("*.svg"))
    assert {f"ratios-{s}.svg" for s in ("tracking", "serving", "monitoring")} <= {p.name for p in charts}
    assert {f"scores-{s}.svg" for s in ("tracking", "serving", "monitoring")} <= {p.name for p in charts}
    for path in charts:
        root = ET.parse(path).getroot()
        assert root.tag == SVG, path
        assert len(list(root.iter())) > 5, path
    # the same drawing as the memo's: the report's own chart code, not a second one
    memo = (run / "report.html").read_text()
    ratio_chart = (out / "ratios-tracking.svg").read_text()
    assert 'class="ratio-chart"' in ratio_chart and 'class="ratio-chart"' in memo


def test_bad_formats_and_runs_are_one_line_and_exit_2(tmp_path):
    done = here("export", str(EXAMPLE), "--format", "csv,pdf", "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "unknown export format pdf" in done.stderr and "fix:" in done.stderr
    assert not (tmp_path / "x").exists()  # refused before anything was written
    done = subprocess.run([sys.executable, "-m", "bakeoff", "export", str(tmp_path / "missing"), "--out", str(tmp_path / "y")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "no results.json" in lines[0], done.stderr
