"""A rehearsal's recording page in a real browser (Debian's headless Chromium through Playwright),
opened from file:// with every request off the disk counted as a problem. The page comes from
a real `bakeoff rehearse tracking --steps 1-3` (the lineup, `bakeoff check jsonl`, `bakeoff
check dvclive`), in a temporary BAKEOFF_HOME that links the shared envs and data, as
tests/e2e/test_demo.py does. Checked as an instructor would use it: no console errors, one
chapter per step, a click on a chapter moves the player there, and text only step 2 printed,
typed into the search box, lands the player inside step 2 with step 2 marked as the match, and
"show the line" goes on to the moment that line was printed."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_memo_browser import page  # noqa: F401 (the fixture: Debian's Chromium, problems recorded)

ROOT = Path(__file__).resolve().parents[2]
SHARED_HOME = ROOT / ".bakeoff"
ONLY_IN_STEP_2 = "jsonl: ok"  # the baseline check's verdict line (`bakeoff check jsonl`)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def rehearsed(tmp_path) -> tuple[Path, list[list]]:
    home = tmp_path / "home"
    home.mkdir()
    for part in ("envs", "data"):
        (SHARED_HOME / part).mkdir(parents=True, exist_ok=True)  # a fresh clone has neither yet
        (home / part).symlink_to(SHARED_HOME / part)
    done = subprocess.run([sys.executable, "-m", "bakeoff", "rehearse", "tracking", "--steps", "1-3"],
                          capture_output=True, text=True, env={**os.environ, "BAKEOFF_HOME": str(home)}, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found = re.search(r"^recording \(chapters, search; opens offline in a browser\): (\S+)$", done.stdout, re.M)
    assert found, done.stdout[-2000:]
    html = Path(found.group(1))
    assert html == home / "rehearsals" / "tracking" / "rehearsal-steps-1-2-3.html" and html.is_file()
    lines = html.with_suffix(".cast").read_text(encoding="utf-8").splitlines()
    return html, [json.loads(line) for line in lines[1:]]


def current_time(page) -> float:
    return page.evaluate("window.rehearsal.player.getCurrentTime()")


def test_chapters_and_search_move_the_player(rehearsed, page, tmp_path):  # noqa: F811
    html, events = rehearsed
    markers = [event[0] for event in events if event[1] == "m"]
    assert len(markers) == 3
    step_text = ["", "", ""]
    for time, code, data in events:
        if code == "o":
            step_text[sum(1 for t in markers if t <= time) - 1] += data
    assert ONLY_IN_STEP_2 in step_text[1] and all(ONLY_IN_STEP_2 not in step_text[i] for i in (0, 2))

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(html.as_uri())
    page.wait_for_function("window.rehearsal && window.rehearsal.player.getDuration() > 0")
    assert page.locator(".ap-wrapper").count() == 1  # the player is drawn

    chapters = page.locator("#chapters li")
    assert chapters.count() == 3
    assert chapters.nth(2).inner_text().startswith("step 3: A real tool in its own locked env: dvclive")
    for index in (2, 0, 1):
        chapters.nth(index).locator("button").click()
        page.wait_for_function(f"Math.abs(window.rehearsal.player.getCurrentTime() - {markers[index]}) < 0.05")
        assert "current" in chapters.nth(index).get_attribute("class")

    chapters.nth(0).locator("button").click()
    page.wait_for_function(f"window.rehearsal.player.getCurrentTime() < {markers[1]}")
    page.locator("#search").press_sequentially(ONLY_IN_STEP_2, delay=20)
    page.wait_for_function("document.getElementById('search-status').textContent.includes('found in step 2:')")
    page.wait_for_function(f"window.rehearsal.player.getCurrentTime() >= {markers[1]}")
    assert markers[1] <= current_time(page) < markers[2]
    page.wait_for_function("document.querySelector('.ap-term').textContent.includes('step 2/6 The baseline')")
    assert ONLY_IN_STEP_2 in page.locator("#search-status").inner_text()
    classes = [chapters.nth(i).get_attribute("class") or "" for i in range(3)]
    assert "matched" in classes[1] and "current" in classes[1]
    assert all("matched" not in classes[i] for i in (0, 2))

    line_time = next(t for t, code, data in events if code == "o" and ONLY_IN_STEP_2 in data)
    page.locator("#to-line").click()  # from the step's start on to the line itself
    page.wait_for_function(f"Math.abs(window.rehearsal.player.getCurrentTime() - {line_time}) < 0.05")

    page.locator("#search").fill("no step printed this 1f0c")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('not in the recording')")

    shot = tmp_path / "recording.png"
    page.screenshot(path=str(shot), full_page=True)
    assert page.problems == [], page.problems
    print(f"\nscreenshot: {shot}")
