"""Lay the view model out as Markdown and HTML with jinja2.

HTML is autoescaped (tool output and evidence are untrusted text); only the chart, built as
well-formed SVG by charts.py, is marked safe. StrictUndefined turns a template typo into an
error instead of a silently empty cell.
"""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from bakeoff.host.report.model import ReportView


class TrustedSvg(str):
    """Markup that autoescape leaves alone (jinja2 honours __html__): charts.py output only."""

    def __html__(self) -> str:
        return str(self)


def inline_code(value: object) -> Markup:
    """Text whose `name` spans become <code>; escaped first, so nothing else turns into markup."""
    return Markup(re.sub(r"`([^`<>]+)`", r"<code>\1</code>", str(escape(value))))


def markdown_text(value: object) -> str:
    """Text that GitHub shows as written: `<x>` would otherwise vanish as an HTML tag."""
    return str(value).replace("<", "&lt;")


def markdown_cell(value: object) -> str:
    """One table cell: a single line, pipes escaped, no-break spaces kept."""
    return re.sub(r"[^\S\u00a0]+", " ", markdown_text(value)).strip().replace("|", "\\|")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bakeoff.host.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_text
    env.filters["md_cell"] = markdown_cell
    env.filters["svg"] = TrustedSvg  # built with ElementTree, so already escaped
    env.filters["code"] = inline_code
    return env


def render(view: ReportView) -> tuple[str, str]:
    env = environment()
    markdown = env.get_template("report.md.j2").render(report=view)
    html = env.get_template("report.html.j2").render(report=view)
    return markdown, html
