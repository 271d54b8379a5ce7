import copy
from html import unescape
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bakeoff.host.report import ReportError, render_report
from bakeoff.drawing import numbers as fmt
from bakeoff.drawing.charts import Bar, ChartGroup, svg_chart, text_chart
from bakeoff.host.report.stage import log_href

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_tracking.json"
NBSP = "\u00a0"


@pytest.fixture
def results() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def rendered(results, tmp_path) -> tuple[str, str]:
    md_path, html_path = render_report(results, tmp_path)
    assert (md_path, html_path) == (tmp_path / "report.md", tmp_path / "report.html")
    return md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")


def tracking(results: dict) -> dict:
    return results["stages"]["tracking"]


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_every_tool_and_probe_appears_in_both_formats(results, rendered):
    stage = tracking(results)
    for text in map(unescape, rendered):
        assert "20261127-120501-3f9c" in text and "27 Nov 2026" in text
        for key, tool in stage["tools"].items():
            assert f"`{key}`" in text or f"<code>{key}</code>" in text
            assert tool["title"] in text
        for key, label in stage["probes"].items():
            assert label in text and key in text  # the matrix row and its evidence notes


def test_failed_tool_shows_its_status_and_reason(results, rendered):
    reason = tracking(results)["tools"]["wandb-offline"]["reason"]
    md, html = rendered
    assert reason in md and reason in html
    assert "| **failed** (reason below) |" in md
    assert re.search(r"^- `wandb-offline` \*\*failed\*\*: worker exited", md, re.M)
    assert re.search(r'<td colspan="7" class="status-cell"><strong>failed</strong>', html)


def test_host_data_and_method_are_reported(rendered):
    for text in rendered:
        assert "AMD EPYC 7B13 (2 cores)" in text
        assert "327,346 of 336,776" in text and "9,430 excluded" in text and "Jan, Feb, Mar → Apr" in text
        assert "21.4%" in text and "0.710" in text
        assert "warm-up" in text and "interleaved" in text and "bootstrap" in text
        assert "no clear difference" in text and "10%" in text
        assert "bakeoff run --quick" in text


def test_each_stage_says_where_its_time_went(results, tmp_path):
    tracking(results)["time"] = {"wall_seconds": 334.0, "tools": {"mlflow-server": 95.0, "aim": 40.0, "jsonl": 3.0, "x": 1.0},
                                 "kinds": {"check": {"trials": 7, "seconds": 30.0, "side_by_side": True},
                                           "sweep": {"trials": 21, "seconds": 120.0, "side_by_side": False}}}
    md, html = (p.read_text(encoding="utf-8") for p in render_report(results, tmp_path))
    for text in (md, html):
        line = unescape(text).replace(NBSP, " ")
        assert "5 min 34 s from its first trial after the checks to its last" in line
        assert "check 30.0 s (7 trials, two at a time); sweep 2 min 0 s (21 trials, one at a time)" in line
        assert "mlflow-server 1 min 35 s, aim 40.0 s, jsonl 3.00 s" in line and "x 1.00 s" not in line


def test_figures_are_medians_with_intervals_and_ratios(rendered):
    for text in rendered:
        assert f"9.78{NBSP}s [9.58–9.84]" in text
        assert "×4.28 [4.13–4.39]" in text
        assert "×0.722 [0.703–0.757]" in text  # mlflow-server search: better
        assert "no baseline figure" in text  # batch logging: the baseline has no such API


def test_numbers_are_formatted_not_raw_floats(rendered):
    md, html = rendered
    tables = [
        section(md, "### Measurements", "### Probes"),
        section(html, '<table class="metrics">', "</figure>"),
    ]
    for text in tables:
        assert not re.search(r"\d\.\d{5,}", text), re.search(r".{30}\d\.\d{5,}.{10}", text)
        assert "7.276805" not in text  # a raw sample


def test_unstable_metric_is_marked(rendered):
    md, html = rendered
    aim_row = next(line for line in md.splitlines() if line.startswith("| **Aim**"))
    sweep_cell = aim_row.split(" |")[2]
    assert "⚠" in sweep_cell
    dvclive_row = next(line for line in md.splitlines() if line.startswith("| **DVCLive**"))
    assert "⚠" not in dvclive_row
    aim_html = section(html, 'href="#tool-tracking-aim"', "</tr>")
    assert aim_html.count('class="unstable"') == 2  # sweep time and single-log latency


def test_markdown_tables_have_even_rows(rendered):
    md, _ = rendered
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block.splitlines()}
        assert len(widths) == 1, block


def test_probe_evidence_is_in_tooltips_and_lists(rendered):
    md, html = rendered
    evidence = "Run.log_artifact raised: artifacts URI not set for repo; no file stored"
    assert f'title="{evidence}"' in html
    assert re.search(rf'<li id="ev-tracking-\d+" value="\d+">.*{re.escape(evidence)}', html)
    assert re.search(rf"^\d+\. `aim` · artifact_roundtrip: ✗ fail\. {re.escape(evidence)}$", md, re.M)
    assert "✗ fail [24]" in md and '<a href="#ev-tracking-24">[24]</a>' in html


def test_chart_is_well_formed_svg_with_the_baseline_line(rendered):
    _, html = rendered
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 1
    root = ET.fromstring(svgs[0])
    assert root.tag == "svg" and root.get("viewBox")
    texts = [t.text for t in root.iter("text")]
    assert "×1 = jsonl" in texts
    assert any(t and t.startswith("Sweep wall time (K runs)") for t in texts)
    assert any(t and "⚠" in t for t in texts)  # aim's unstable sweep time
    fills = {r.get("fill") for r in root.iter("rect")}
    assert {"#0072B2", "#D55E00"} <= fills  # Okabe–Ito blue and vermillion


def test_markdown_gets_a_text_chart(rendered):
    md, _ = rendered
    chart = section(md, "```text", "### Probes")
    assert "│" in chart and "█" in chart and "×1 = jsonl" in chart
    assert "failed: no measurement" in chart


def test_html_is_self_contained(rendered):
    _, html = rendered
    assert "<script" not in html and "<link" not in html and "@import" not in html
    for attr in re.findall(r"""\b(?:src|href|action|xlink:href)\s*=\s*["']?([^"'\s>]+)""", html):
        assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", attr, re.I), attr
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)


def test_html_escapes_untrusted_text(results, tmp_path):
    results = copy.deepcopy(results)
    tracking(results)["tools"]["wandb-offline"]["reason"] = "<script>alert(1)</script> | boom"
    md_path, html_path = render_report(results, tmp_path)
    html = html_path.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script>alert(1)&lt;/script> \\| boom" in md_path.read_text()


def test_logs_link_when_present_and_say_so_when_missing(results, tmp_path):
    log = tmp_path / "logs/tracking/aim/sweep-r1.log"
    log.parent.mkdir(parents=True)
    log.write_text("ok\n")
    md_path, html_path = render_report(results, tmp_path)
    md, html = md_path.read_text(), html_path.read_text()
    assert "[sweep-r1.log](logs/tracking/aim/sweep-r1.log)" in md
    assert '<a href="logs/tracking/aim/sweep-r1.log">sweep-r1.log</a>' in html
    assert "`logs/tracking/aim/sweep-r2.log` (not found)" in md
    assert "(not found)" in html


@pytest.mark.parametrize("path", ["/etc/passwd", "https://example.com/x.log", "../../x.log", "C:\\x.log", ""])
def test_log_links_never_leave_the_run_folder(path):
    assert log_href(path) is None


def test_unknown_schema_is_refused_with_a_fix(results, tmp_path):
    results["schema"] = 99
    with pytest.raises(ReportError, match="schema 99.*bakeoff run"):
        render_report(results, tmp_path)


def test_a_minimal_partial_run_still_renders(tmp_path):
    md_path, html_path = render_report({"schema": 1, "run_id": "r1", "stages": {}}, tmp_path)
    assert "run r1" in md_path.read_text() and "run r1" in html_path.read_text()


def test_the_minimal_design_shape_renders_its_metrics_and_probes(tmp_path):
    results = {"schema": 1, "run_id": "r2", "host": {"cpu": "x", "cores": 2, "python": "3.11.7"},
               "stages": {"tracking": {"baseline": "jsonl", "tools": {"mlflow": {
                   "version": "3.x", "status": "ok", "config": "tracking server on loopback",
                   "metrics": {"sweep_overhead": {"unit": "ratio", "median": 1.8, "ci95": [1.7, 1.9],
                                                  "n": 5, "samples": [], "better": "lower"}},
                   "probes": {"model_registry": {"status": "pass", "evidence": "v1 registered"}}}}}}}
    md_path, html_path = render_report(results, tmp_path)
    for text in (md_path.read_text(), html_path.read_text()):
        assert "sweep_overhead" in text and "model_registry" in text and "v1 registered" in text
        assert "×1.80 [1.70–1.90]" in text


def test_chart_of_only_failed_tools_is_still_valid_svg():
    bars = [Bar("a", None, None, None, "", "failed: no measurement", False)]
    groups = [ChartGroup("T <&> title", bars)]
    root = ET.fromstring(svg_chart(groups, baseline="base"))
    assert "T <&> title" in [t.text for t in root.iter("text")]
    assert "failed: no measurement" in text_chart(groups, baseline="base")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: fmt.estimate(4.1, [3.9, 4.4], "s"), f"4.10{NBSP}s [3.90–4.40]"),
        (lambda: fmt.ratio(1.8, [1.7, 1.9]), "×1.80 [1.70–1.90]"),
        (lambda: fmt.ratio(159.047, [144.1, 173.2]), "×159 [144–173]"),
        (lambda: fmt.ratio(1.0004, [0.9991, 1.0012]), "×1.000 [0.999–1.001]"),  # distinct stays distinct
        (lambda: fmt.estimate(0.0120, [0.0114, 0.0127], "s"), f"0.0120{NBSP}s [0.0114–0.0127]"),
        (lambda: fmt.estimate(0.5, [0.05, 2300.0], "ms"), f"0.500{NBSP}ms [0.050–2,300]"),
        (lambda: fmt.estimate(None, None, "s"), "—"),
        (lambda: fmt.number(327346), "327,346"),
        (lambda: fmt.number(0.1 + 0.2), "0.300"),
        (lambda: fmt.number(0.0), "0"),
        (lambda: fmt.number(1.2e-9), "1.20e-09"),
        (lambda: fmt.number(float("nan")), "—"),
        (lambda: fmt.percent(0.2137), "21.4%"),
        (lambda: fmt.percent(0.10), "10%"),
        (lambda: fmt.percent(1.9e-16), "0%"),
        (lambda: fmt.duration(212.4), f"3{NBSP}min{NBSP}32{NBSP}s"),
    ],
)
def test_number_formatting(call, expected):
    assert call() == expected


# The decision memo

QUICK = Path(__file__).parents[1] / "fixtures" / "results_tracking_quick.json"  # a real quick run
TEAM = {"profile": {"name": "Test team", "description": "A UI, no server to keep up, a real tool."},
        "constraints": {"ui": True, "no_server": True, "allow_no_tool": False},
        "weights": {"correctness": 3, "capabilities": 3, "speed": 2, "cold_start": 1, "resource": 1,
                    "simplicity": 1, "footprint": 0.5}}


def render_memo(results: dict, run_dir: Path, team: dict = TEAM) -> tuple[str, str]:
    from bakeoff.host.decide import decide
    from bakeoff.host.decide.profile import parse_profile

    md_path, html_path = render_report(results, run_dir, decide(results, parse_profile(team, "team.toml")))
    return md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")


@pytest.fixture
def memo(tmp_path) -> tuple[str, str]:
    return render_memo(json.loads(QUICK.read_text()), tmp_path)


def github_ids(markdown: str) -> set[str]:
    """The ids a Git host gives the headings (duplicates get -1, -2...)."""
    from bakeoff.host.report.stage import github_anchor

    seen: dict[str, int] = {}
    ids = set()
    for heading in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M):
        base = github_anchor(re.sub(r"[*`]", "", heading))
        count = seen.get(base, 0)
        ids.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return ids


def test_memo_opens_with_the_summary_and_a_table_of_contents(memo):
    md, html = memo
    assert md.startswith("# Decision memo: Test team, run 20261127-123148-d632")
    assert md.index("## Summary: the recommended stack") < md.index("## Stage: Experiment tracking") < md.index("## Host")
    assert "| [Experiment tracking](#stage-experiment-tracking) | **mlflow-local** MLflow (recommended) | aim |" in md
    for link in re.findall(r"\]\(#([^)]+)\)", md):
        assert link in github_ids(md), link
    for link in re.findall(r'href="#([^"]+)"', html):
        assert f'id="{link}"' in html, link
    assert '<nav class="toc"' in html and '<a href="#stage-tracking">Experiment tracking</a>' in html


def test_memo_states_verdict_evidence_sensitivity_and_exclusions(memo):
    md, html = memo
    for text in (md, unescape(html)):
        assert "Recommend MLflow (mlflow-local); runner-up Aim (aim)." in text
        # Correctness first: TensorBoard's float32 history keeps it out, said in the verdict itself.
        assert "Not recommended whatever its scores (correctness first): tensorboard (" in text
        assert "Capabilities: mlflow-local 5 of 5 probes pass vs aim 3 of 5 probes pass; only mlflow-local passes model_registry, autolog_sklearn" in text
        assert "Trade-off: Simplicity: aim 74 adapter lines vs mlflow-local 139 adapter lines" in text
        assert "stable for any speed weight from ×0.25 to ×4" in text
        assert "needs an always-on server" in text
        assert "bakeoff decide 20261127-123148-d632 --profile team.toml" in text
    assert "| 1 | `mlflow-local` |" in md and "| 2 | `aim` |" in md and "`tensorboard`: fails a core correctness check" in md
    assert "must have a UI: probe <code>local_ui</code> unsupported" in html


def test_memo_evidence_quotes_figures_shown_in_the_measurements(memo):
    md, _ = memo
    verdict = section(md, "### Verdict", "### Scores")
    measurements = section(md, "### Measurements", "### Probes")
    quoted = re.findall(r"×[\d.,]+ \[[\d.,]+–[\d.,]+\]", verdict)
    assert all(q in measurements for q in quoted)
    assert "5 of 5 probes pass" in verdict


def test_memo_has_a_score_chart_and_keeps_the_ratio_chart(memo):
    md, html = memo
    svgs = [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]
    assert [s.get("class") for s in svgs] == ["score-chart", "ratio-chart"]
    texts = [t.text for t in svgs[0].iter("text")]
    assert "Correctness ×3" in texts and any(t and t.startswith("2") for t in texts)
    assert any(t and t.startswith("excluded: ") for t in texts)
    assert re.search(r"```text\n +0 +1\n1 +mlflow-local +█+·*  1\.00 recommended", md)


def test_memo_per_stage_method_limitations_and_reproduce(memo):
    md, html = memo
    stage = section(md, "## Stage: Experiment tracking", "## Host")
    assert "### How it was measured" in stage and "### Limitations" in stage and "### Reproduce this stage" in stage
    assert "3 repeats per tool" in stage and "Noisy figures (CV above 10%): jsonl tracking_seconds" in stage
    assert "No baseline figure for batch_1000_ms" in stage
    assert "bakeoff run --stage tracking --quick --repeats 3 --profile team.toml" in stage
    assert '<ul class="limitations">' in html


def test_memo_calls_a_tie_and_ranks_neither(tmp_path):
    weights = {c: 0 for c in TEAM["weights"]} | {"capabilities": 1}  # both MLflow modes pass 8 of 8 probes
    md, html = render_memo(json.loads(QUICK.read_text()), tmp_path, {**TEAM, "constraints": {}, "weights": weights})
    for text in (md, unescape(html)):
        assert "Tie between mlflow-local and mlflow-server: their totals overlap within measurement noise." in text
        assert "They score the same on every weighted criterion." in text
    assert "| 1–2 | `mlflow-local` |" in md and "| 1–2 | `mlflow-server` |" in md
    assert "**mlflow-local = mlflow-server** (tie)" in md


def test_memo_escapes_untrusted_text_in_verdicts(results, tmp_path):
    results = copy.deepcopy(results)
    tracking(results)["tools"]["wandb-offline"]["reason"] = "<img src=x onerror=alert(1)> `x`"
    _, html = render_memo(results, tmp_path)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; <code>x</code>" in html


def test_memo_of_several_stages_has_a_card_a_contents_link_and_a_verdict_each(tmp_path):
    results = json.loads(QUICK.read_text())
    demo = copy.deepcopy(tracking(results))
    demo["title"] = "A second stage"
    results["stages"]["demo"] = demo  # no report/sections/demo.py: the generic memo only
    md, html = render_memo(results, tmp_path)
    assert html.count('<article class="pick') == 2 and md.count("| [") >= 2
    for anchor, title in (("stage-tracking", "Experiment tracking"), ("stage-demo", "A second stage")):
        assert f'<a href="#{anchor}">{title}</a>' in html and f'<section id="{anchor}" class="stage">' in html
    assert "[A second stage](#stage-a-second-stage)" in md and "## Stage: A second stage" in md
    assert md.count("### Verdict") == 2 and html.count('class="verdict-box') == 2
    stack = re.search(r"\*\*Recommended stack:\*\* Experiment tracking: mlflow-local · A second stage: (\S+)", md)
    assert stack and f"Recommended stack:</strong> Experiment tracking: mlflow-local · A second stage: {stack[1]}" in html


def test_memo_markdown_tables_have_even_rows(memo):
    md, _ = memo
    for block in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block.splitlines()}
        assert len(widths) == 1, block
