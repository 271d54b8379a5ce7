"""The decision report: results.json -> report.md and a self-contained report.html.

render_report(results, run_dir, decision=None) writes both files into the run folder and
returns their paths; with a decision (bakeoff.host.decide.Decision) they are a decision memo.
A results.json of an unknown schema raises ReportError with a one-line fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bakeoff.host.report.model import ReportError, ReportView, build_report
from bakeoff.host.report.render import render

__all__ = ["ReportError", "ReportView", "build_report", "render_report"]


def render_report(results: dict[str, Any], run_dir: Path, decision: Any = None) -> tuple[Path, Path]:
    """Write report.md and report.html for `results` into `run_dir`; return (md, html)."""
    run_dir = Path(run_dir)
    markdown, html = render(build_report(results, run_dir, decision))
    run_dir.mkdir(parents=True, exist_ok=True)
    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    _write(md_path, markdown)
    _write(html_path, html)
    return md_path, html_path


def _write(path: Path, text: str) -> None:
    # Readers (a browser on a live run, a CI job) never see half a report.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
