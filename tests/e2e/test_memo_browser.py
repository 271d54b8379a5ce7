"""The decision memo in a real browser: Debian's headless Chromium, driven by Playwright.

Renders the memo of a stored results fixture under the student profile, opens it from disk with
the network unused, and checks what a reader would: no console errors, every stage section and
chart present and drawn, a table of contents whose links land, no sideways scrolling of the page
at phone width (wide tables scroll inside their own boxes), and a PDF print. Screenshots are
saved in the test's tmp folder (the path is printed; run with -s to see it).
"""

import json
import shutil
from pathlib import Path

import pytest

from bakeoff.host.decide import decide, load_profile
from bakeoff.host.report import render_report

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "results_tracking_quick.json"
PROFILE = ROOT / "profiles" / "student.toml"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


def chromium() -> str:
    path = shutil.which("chromium") or (Path("/usr/bin/chromium").is_file() and "/usr/bin/chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed: run ./bootstrap (it installs the packages in "
                    "system-packages.txt), or `apt-get install chromium` as root")
    return str(path)


@pytest.fixture
def memo(tmp_path: Path) -> tuple[Path, dict]:
    results = json.loads(FIXTURE.read_text())
    decision = decide(results, load_profile(PROFILE))
    _, html = render_report(results, tmp_path / "run", decision)
    return html, results


@pytest.fixture
def page(tmp_path: Path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run ./bootstrap (installs bakeoff[test])")
    with sync_playwright() as driver:
        # An empty profile folder and no browser download: Playwright only drives Debian's build.
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = context.new_page()
            page.problems = []
            page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else page.problems.append(f"network: {r.url}"))
            yield page
        finally:
            context.close()


def test_the_memo_reads_well_in_chromium(memo, page, tmp_path):
    html, results = memo
    page.set_viewport_size(DESKTOP)
    page.goto(html.as_uri())
    page.wait_for_load_state("load")

    assert page.title().startswith("Decision memo")
    stages = results["stages"]
    assert page.locator("#summary .pick").count() == len(stages)
    for key, stage in stages.items():
        section = page.locator(f"section.stage#stage-{key}")
        assert section.count() == 1, key
        assert section.locator("h2").inner_text() == f"Stage: {stage['title']}"
        assert "Recommend" in section.locator(".verdict-box").inner_text() or "Tie" in section.locator(".verdict-box").inner_text()
        for chart in ("svg.score-chart", "svg.ratio-chart"):
            box = section.locator(chart).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 80, (key, chart)
        for part in ("table.scores", "table.metrics", "table.probes", "ul.limitations"):
            assert section.locator(part).count() == 1, (key, part)
        assert "bakeoff run --stage " + key in section.locator("pre").last.inner_text()

    targets = page.eval_on_selector_all("nav.toc a", "links => links.map(a => a.getAttribute('href').slice(1))")
    assert len(targets) == len(stages) + 5  # summary, stages, host, data, method, reproduce
    for target in targets:
        assert page.locator(f"[id='{target}']").count() == 1, target
    page.locator(f"nav.toc a[href='#stage-{next(iter(stages))}']").click()
    assert page.evaluate("window.scrollY") > 0

    desktop = tmp_path / "memo-desktop.png"
    page.screenshot(path=str(desktop), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto(html.as_uri())
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
    # Anything wider than the screen must sit in a box that scrolls on its own (tables, charts, code).
    wide = page.evaluate("""() => {
        const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
        return [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !scrolls(e))
            .map(e => e.tagName + ' ' + e.textContent.slice(0, 60)); }""")
    assert wide == [], f"outside a scrolling box, wider than the phone: {wide[:5]}"
    phone = tmp_path / "memo-phone.png"
    page.screenshot(path=str(phone))  # the first screen: title, contents and the start of the summary

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)  # the memo asks for A4 landscape
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    (tmp_path / "memo.pdf").write_bytes(pdf)

    assert page.problems == [], page.problems
    print(f"\nscreenshots: {desktop} {phone}; print: {tmp_path / 'memo.pdf'}")


def test_the_decision_fits_on_one_printed_page(page, tmp_path):
    """The decision itself (title, summary table with every stage's verdict, its strongest
    evidence and what would change it) prints on one A4 page; everything else is appendix.
    Checked on the shipped worked example, a real run of several stages."""
    example = ROOT / "examples" / "student-quick"
    results = json.loads((example / "results.json").read_text())
    decision = decide(results, load_profile(PROFILE))
    _, html = render_report(results, tmp_path / "example", decision)
    page.goto(html.as_uri())
    # Print the first page's content alone: what follows the summary starts a new page anyway.
    page.add_style_tag(content="main > *:not(#summary) { display: none !important; }")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages == 1, f"the decision takes {pages} printed pages"
